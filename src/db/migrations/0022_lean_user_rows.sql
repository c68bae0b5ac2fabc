-- What each new user cost PostgreSQL and nothing read (issue 8: a first SIS load of 100,000 users).
--
-- Identifier and role rows are keyed by their user and position, the order every read asks for,
-- not by a uuid no query names: one index instead of two, and no uuid drawn per row. Their
-- institution is their user's (app_user's foreign key checks it), so their own foreign key to
-- institution checked the same again for every row; the institution_id they carry is the user's,
-- written with it by the one write path (db/queries/user-batches.ts), and keeps the unique index on
-- (institution_id, lower(value)).
--
-- Every lookup by a lower-cased primary id or identifier value names its institution or
-- institutions (the unique indexes on (institution_id, lower(...)) answer it); the indexes on the
-- value alone answered none, and each insert kept them.
ALTER TABLE user_identifier DROP CONSTRAINT user_identifier_institution_id_fkey;
ALTER TABLE user_identifier DROP CONSTRAINT user_identifier_pkey;
ALTER TABLE user_identifier DROP COLUMN id;
DROP INDEX user_identifier_user;
ALTER TABLE user_identifier ADD PRIMARY KEY (user_id, position);
DROP INDEX user_identifier_value_any;

ALTER TABLE user_role DROP CONSTRAINT user_role_institution_id_fkey;
ALTER TABLE user_role DROP CONSTRAINT user_role_pkey;
ALTER TABLE user_role DROP COLUMN id;
DROP INDEX user_role_user;
ALTER TABLE user_role ADD PRIMARY KEY (user_id, position);

DROP INDEX app_user_primary_id_any;
