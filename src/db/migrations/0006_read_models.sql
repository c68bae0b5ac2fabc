-- The read model of GET /almaws/v1/users/{id}: each user's Alma JSON and XML, stored ready-made
-- the first time someone reads the user, so the hot read is one indexed select of a text.
-- Writers never render: the one write path (src/db/queries/user-batches.ts) deletes a user's
-- document in the transaction that gives the user a new version (a deleted user's goes with it,
-- ON DELETE CASCADE), and the next read renders and stores it again
-- (src/domain/users/user-documents.ts, SQL in src/db/queries/user-documents.ts).
--
-- A document also shows what is not the user's: code-table descriptions, role-type names, the
-- institution's name and code. A change to those moves the institution's document generation
-- (the triggers below, so that no writer, console or psql, can forget it) instead of deleting a
-- million rows: a document of an older generation is not served; the next read renders it
-- again and writes it back.
ALTER TABLE institution ADD COLUMN document_generation bigint NOT NULL DEFAULT 0;

CREATE TABLE user_document (
  user_id uuid PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL,
  -- The user's version the document shows (its ETag).
  version int NOT NULL,
  document_generation bigint NOT NULL,
  -- The links in the document start with it (src/public-url.ts); another base renders again.
  base_url text NOT NULL,
  json text NOT NULL,
  xml text NOT NULL
);

CREATE FUNCTION code_values_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE institution SET document_generation = document_generation + 1
  WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.institution_id ELSE NEW.institution_id END;
  IF TG_OP = 'UPDATE' AND OLD.institution_id <> NEW.institution_id THEN
    UPDATE institution SET document_generation = document_generation + 1 WHERE id = OLD.institution_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER code_table_value_documents AFTER INSERT OR UPDATE OR DELETE ON code_table_value
  FOR EACH ROW EXECUTE FUNCTION code_values_changed();

CREATE FUNCTION role_types_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE institution SET document_generation = document_generation + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER role_type_documents AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_type
  FOR EACH STATEMENT EXECUTE FUNCTION role_types_changed();

CREATE FUNCTION institution_renamed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.document_generation := OLD.document_generation + 1;
  RETURN NEW;
END $$;
CREATE TRIGGER institution_documents BEFORE UPDATE OF name, code ON institution
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.code IS DISTINCT FROM NEW.code)
  EXECUTE FUNCTION institution_renamed();

-- The brief search's own narrow copy of the fields it matches and sorts by, lower-cased, one row
-- per user (about 100 bytes, against about 500 for app_user's row with its segments): counting
-- the 25,000 users whose last name contains "smi" among a million visits a row of each, and
-- here those rows sit on a fifth of the pages. Written by the one write path with the user
-- (src/db/queries/user-batches.ts: insertUsers, updateUsers; deleted with it by ON DELETE
-- CASCADE); read by src/db/queries/users.ts: searchUsers. The trigram indexes that served these
-- fields move here from app_user.
CREATE TABLE user_search (
  user_id uuid PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL,
  primary_id text NOT NULL,
  first_name text,
  last_name text,
  -- app_user.email_search: the e-mail addresses, lower-cased.
  email text
);
INSERT INTO user_search (user_id, institution_id, primary_id, first_name, last_name, email)
  SELECT id, institution_id, lower(primary_id), lower(first_name), lower(last_name), email_search FROM app_user;
CREATE INDEX user_search_last_name_trgm ON user_search USING gin (last_name gin_trgm_ops);
CREATE INDEX user_search_first_name_trgm ON user_search USING gin (first_name gin_trgm_ops);
CREATE INDEX user_search_primary_id_trgm ON user_search USING gin (primary_id gin_trgm_ops);
CREATE INDEX user_search_email_trgm ON user_search USING gin (email gin_trgm_ops);
DROP INDEX app_user_last_name_trgm, app_user_first_name_trgm, app_user_primary_id_trgm, app_user_email_trgm;
