-- SAML federation aggregates are stored in generations (issue 9): a refresh writes the new IdPs
-- beside the ones in use, in short statements, then switches saml_federation.generation in one
-- statement and drops the old rows. Before, the whole replacement was one transaction,
-- and on the embedded PGlite (one connection) it held every other query for as long as thousands
-- of IdPs took to store: /healthz answered 503 on a busy machine. Readers join on the generation.
ALTER TABLE saml_federation ADD COLUMN generation int NOT NULL DEFAULT 0;
ALTER TABLE saml_federation_idp ADD COLUMN generation int NOT NULL DEFAULT 0;
ALTER TABLE saml_federation_idp DROP CONSTRAINT saml_federation_idp_pkey;
ALTER TABLE saml_federation_idp ADD PRIMARY KEY (method_id, generation, entity_id);
