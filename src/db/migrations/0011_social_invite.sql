-- Alma's invitation to social login (POST /users?social_authentication=true): a one-time link,
-- kind 'social_invite', that binds the patron's Google, Facebook or X account on first use.
-- The kind CHECK is re-created whole with every kind so far ('unlock' came with 0007); any
-- earlier CHECK on kind is dropped by what it says, whatever name it was given.
DO $$
DECLARE c record;
BEGIN
  FOR c IN
    SELECT conname FROM pg_constraint
    WHERE conrelid = 'identity.token'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%kind%'
  LOOP
    EXECUTE format('ALTER TABLE identity.token DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;

ALTER TABLE identity.token ADD CONSTRAINT token_kind_check
  CHECK (kind IN ('reset', 'set_password', 'email_login', 'unlock', 'social_invite'));
