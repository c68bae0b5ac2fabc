-- Issue 10: contacts never hold a password, and API keys can be rotated.

-- A user who becomes a CONTACT loses its password in the same statement, whichever writer made
-- it one (the API's PUT, an SIS load, psql): its outstanding links go and its live sessions end,
-- as identity/credentials.ts: removePassword does. Sign-in refuses a CONTACT as well
-- (identity/login.ts, sign-in/sign-in.ts), so nothing hinges on this alone; but a credential
-- left behind would come back to life if the record became PUBLIC again, so it is removed.
CREATE FUNCTION contact_drops_credential() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE identity.credential SET algorithm = NULL, hash = NULL, legacy = false, must_change = false, failed_count = 0,
    locked_until = NULL, updated_at = now() WHERE user_id = NEW.id AND hash IS NOT NULL;
  DELETE FROM identity.token WHERE user_id = NEW.id AND used_at IS NULL;
  UPDATE identity.session SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL AND expires_at > now();
  RETURN NULL;
END $$;
CREATE TRIGGER app_user_contact_credential AFTER UPDATE OF record_type ON app_user
  FOR EACH ROW WHEN (OLD.record_type <> 'CONTACT' AND NEW.record_type = 'CONTACT')
  EXECUTE FUNCTION contact_drops_credential();

-- When a key's secret was last replaced (POST /api/v1/api-keys/{id}/rotate); last_used_at
-- starts again then, so it shows whether the client has switched to the new secret.
ALTER TABLE api_key ADD COLUMN rotated_at timestamptz;
