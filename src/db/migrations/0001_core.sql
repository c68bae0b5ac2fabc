-- Carrel core: networks, institutions, code tables, users, identifiers, roles, audit, API keys.
-- Every tenant-owned row carries institution_id so a network can later be sharded by it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE network (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code text NOT NULL,
  name text NOT NULL,
  -- { "uniqueIdsAcrossNetwork": bool, "namedUserLicense": int }
  settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX network_code_key ON network (lower(code));

CREATE TABLE institution (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  network_id uuid REFERENCES network (id),
  code text NOT NULL,
  name text NOT NULL,
  is_network_zone boolean NOT NULL DEFAULT false,
  -- primaryIdentifierRegex, mandatoryIdentifier per record type, preferredIdentifier, ...
  settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX institution_code_key ON institution (lower(code));
CREATE UNIQUE INDEX institution_one_zone_per_network ON institution (network_id) WHERE is_network_zone;

-- Alma's code tables, one row per value. attributes carries table-specific facts:
-- UserGroups {managedBySis, recordTypes}, UserIdentifierTypes {recordTypes}.
CREATE TABLE code_table_value (
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  table_name text NOT NULL,
  code text NOT NULL,
  description text NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}',
  position int NOT NULL DEFAULT 0,
  enabled boolean NOT NULL DEFAULT true,
  PRIMARY KEY (institution_id, table_name, code)
);

-- The role catalogue is Alma's and global; whether a role counts against the named-user licence
-- follows Alma's rule (every staff role but Patron, Instructor, Trial Participant, Leganto, Rialto).
CREATE TABLE role_type (
  code text PRIMARY KEY,
  name text NOT NULL,
  named_user boolean NOT NULL
);
INSERT INTO role_type (code, name, named_user) VALUES
  ('0', 'Deposit Manager', true), ('1', 'Deposit Operator', true), ('2', 'Deposit Operator Extended', true),
  ('21', 'User Manager', true), ('26', 'General System Administrator', true),
  ('32', 'Circulation Desk Operator', true), ('37', 'Receiving Operator', true),
  ('48', 'Invoice Operator Extended', true), ('50', 'User Administrator', true),
  ('51', 'Requests Operator', true), ('52', 'Fulfillment Administrator', true),
  ('53', 'Repository Administrator', true), ('54', 'Purchasing Operator', true),
  ('56', 'Acquisitions Administrator', true), ('57', 'Letter Administrator', true),
  ('200', 'Patron', false), ('204', 'Cataloger', true), ('205', 'Catalog Administrator', true),
  ('208', 'CDI Inventory Operator', true), ('210', 'Physical Inventory Operator', true),
  ('214', 'Work Order Operator', true), ('215', 'Fulfillment Services Manager', true),
  ('221', 'Circulation Desk Manager', true), ('228', 'Collection Inventory Operator', true),
  ('229', 'Collection Inventory Operator Extended', true), ('239', 'Resource Sharing Partners Manager', true),
  ('244', 'Usage Data Operator', true), ('247', 'Purchase Request Manager', true),
  ('248', 'Purchase Request Operator Extended', true), ('300', 'Discovery Administrator', true),
  ('301', 'Known Issues Operator', true), ('428', 'Printout Queue Manager', true),
  ('2200', 'Analytics Administrator', true);

CREATE TABLE app_user (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id),
  primary_id text NOT NULL,
  record_type text NOT NULL CHECK (record_type IN ('PUBLIC', 'STAFF', 'CONTACT')),
  account_type text NOT NULL CHECK (account_type IN ('INTERNAL', 'EXTERNAL')),
  external_id text,
  status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
  status_date date,
  first_name text, middle_name text, last_name text,
  pref_first_name text, pref_middle_name text, pref_last_name text, pref_name_suffix text,
  user_title text, job_category text, job_description text, gender text, user_group text,
  campus_code text, web_site_url text, cataloger_level text, preferred_language text,
  birth_date date, expiry_date date, purge_date date,
  linking_id text, source_institution_code text, source_link_id text,
  is_researcher boolean NOT NULL DEFAULT false,
  -- Segments the user owns whole and always reads and replaces whole (Alma's swap-all),
  -- kept beside the row so the full user is one index probe. Shapes: src/domain/users/user.ts.
  contact_info jsonb NOT NULL DEFAULT '{"addresses":[],"emails":[],"phones":[]}',
  notes jsonb NOT NULL DEFAULT '[]',
  blocks jsonb NOT NULL DEFAULT '[]',
  statistics jsonb NOT NULL DEFAULT '[]',
  rs_libraries jsonb NOT NULL DEFAULT '[]',
  library_notices jsonb NOT NULL DEFAULT '[]',
  -- Protected fields staff edited by hand; SIS loads keep these until restored.
  manual_edits text[] NOT NULL DEFAULT '{}',
  email_search text GENERATED ALWAYS AS (lower(jsonb_path_query_array(contact_info, '$.emails[*].address')::text)) STORED,
  phone_search text GENERATED ALWAYS AS (jsonb_path_query_array(contact_info, '$.phones[*].number')::text) STORED,
  version int NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX app_user_primary_id_key ON app_user (institution_id, lower(primary_id));
CREATE INDEX app_user_primary_id_any ON app_user (lower(primary_id));
CREATE INDEX app_user_sort ON app_user (institution_id, lower(last_name), lower(first_name), lower(primary_id));
CREATE INDEX app_user_updated ON app_user (institution_id, updated_at);
CREATE INDEX app_user_last_name_trgm ON app_user USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX app_user_first_name_trgm ON app_user USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX app_user_primary_id_trgm ON app_user USING gin (lower(primary_id) gin_trgm_ops);
CREATE INDEX app_user_email_trgm ON app_user USING gin (email_search gin_trgm_ops);

-- Additional identifiers (the primary id lives on app_user). Values are case-insensitive and
-- unique per institution; network-wide uniqueness is checked under an advisory lock per value.
CREATE TABLE user_identifier (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  position int NOT NULL,
  id_type text NOT NULL,
  value text NOT NULL,
  note text,
  status text NOT NULL DEFAULT 'ACTIVE',
  segment_type text NOT NULL DEFAULT 'Internal' CHECK (segment_type IN ('Internal', 'External'))
);
CREATE UNIQUE INDEX user_identifier_value_key ON user_identifier (institution_id, lower(value));
CREATE INDEX user_identifier_value_any ON user_identifier (lower(value));
CREATE INDEX user_identifier_user ON user_identifier (user_id);
CREATE INDEX user_identifier_value_trgm ON user_identifier USING gin (lower(value) gin_trgm_ops);

CREATE TABLE user_role (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
  institution_id uuid NOT NULL REFERENCES institution (id),
  position int NOT NULL,
  role_type text NOT NULL REFERENCES role_type (code),
  scope text NOT NULL,
  status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE')),
  expiry_date date,
  parameters jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX user_role_user ON user_role (user_id);
CREATE INDEX user_role_institution ON user_role (institution_id, role_type) WHERE status = 'ACTIVE';

-- Append-only: who did what to which record, with before/after of the changed fields only.
CREATE TABLE audit_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  institution_id uuid REFERENCES institution (id),
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL,
  actor_id text,
  actor_label text,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id uuid,
  entity_label text,
  changes jsonb NOT NULL DEFAULT '{}',
  context jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_event_entity ON audit_event (entity_id, id);
CREATE INDEX audit_event_institution ON audit_event (institution_id, id);

-- API keys are shown once; only a SHA-256 of the secret part is kept.
CREATE TABLE api_key (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  prefix text NOT NULL UNIQUE,
  secret_hash bytea NOT NULL,
  read_only boolean NOT NULL DEFAULT false,
  label text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
