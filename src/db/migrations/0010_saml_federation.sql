-- SAML federation aggregates (issue 9): a SAML login method may trust a whole federation's
-- metadata (InCommon, eduGAIN: thousands of IdPs). The worker fetches the aggregate, checks its
-- signature and validUntil, and keeps the IdPs here for the discovery page and the ACS.

-- One row per federation method: when its aggregate was fetched, until when it may be used, when
-- to look again (cacheDuration, never past validUntil), and the last failure.
CREATE TABLE saml_federation (
  method_id uuid PRIMARY KEY REFERENCES login_method (id) ON DELETE CASCADE,
  -- SHA-256 of the URL and signing certificate the rows came from: changed settings fetch afresh
  -- and the old rows are not trusted meanwhile.
  source_hash text NOT NULL,
  fetched_at timestamptz,
  valid_until timestamptz,
  next_refresh_at timestamptz NOT NULL,
  idp_count int NOT NULL DEFAULT 0,
  failures int NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX saml_federation_due ON saml_federation (next_refresh_at);

CREATE TABLE saml_federation_idp (
  method_id uuid NOT NULL REFERENCES saml_federation (method_id) ON DELETE CASCADE,
  entity_id text NOT NULL,
  display_name text NOT NULL,
  sso_url text NOT NULL,
  -- PEM certificates (all signing keys: two during a rollover) and shibmd:Scope values.
  certs jsonb NOT NULL,
  scopes jsonb NOT NULL,
  PRIMARY KEY (method_id, entity_id)
);
