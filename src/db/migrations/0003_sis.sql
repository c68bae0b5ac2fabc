-- SIS integration: integration profiles, the database job queue, job reports, and the files a
-- job reads (uploads) or writes (exports). Workers on any number of machines share the queue
-- through FOR UPDATE SKIP LOCKED; everything a job needs to resume lives in these tables.

-- One profile loads one record type from one campus feed (Alma's "Users" integration profile).
CREATE TABLE integration_profile (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  code text NOT NULL,
  name text NOT NULL DEFAULT '',
  record_type text NOT NULL CHECK (record_type IN ('PUBLIC', 'STAFF', 'CONTACT')),
  -- 'primary_id' or a UserIdentifierTypes code of the institution.
  match_by text NOT NULL DEFAULT 'primary_id',
  mode text NOT NULL CHECK (mode IN ('import', 'synchronize')),
  format text NOT NULL CHECK (format IN ('alma_xml', 'csv', 'jsonl')),
  -- CSV only: {"Header in the file": "field path", ...}; see src/domain/sis/csv-mapping.ts.
  csv_mapping jsonb,
  drop_folder text,
  poll_seconds int NOT NULL DEFAULT 300 CHECK (poll_seconds >= 1),
  deactivate_missing boolean NOT NULL DEFAULT false,
  settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX integration_profile_code_key ON integration_profile (institution_id, lower(code));

-- The job queue. A worker claims a row (status running, locked_by, locked_until) and extends
-- locked_until while it works; a row whose lease ran out belongs to a dead worker and is claimed
-- again. checkpoint says what committed, so the next claim resumes there.
CREATE TABLE job (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  kind text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  payload jsonb NOT NULL DEFAULT '{}',
  dry_run boolean NOT NULL DEFAULT false,
  -- Progress counters, written with each batch's transaction.
  total int,
  records_read int NOT NULL DEFAULT 0,
  created int NOT NULL DEFAULT 0,
  updated int NOT NULL DEFAULT 0,
  unchanged int NOT NULL DEFAULT 0,
  skipped int NOT NULL DEFAULT 0,
  failed int NOT NULL DEFAULT 0,
  checkpoint jsonb NOT NULL DEFAULT '{}',
  result jsonb,
  error text,
  attempts int NOT NULL DEFAULT 0,
  max_attempts int NOT NULL DEFAULT 3,
  cancel_requested boolean NOT NULL DEFAULT false,
  locked_by text,
  locked_until timestamptz,
  heartbeat_at timestamptz,
  run_after timestamptz NOT NULL DEFAULT now(),
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX job_claimable ON job (run_after, created_at) WHERE status IN ('queued', 'running');
CREATE INDEX job_institution ON job (institution_id, created_at DESC);

-- One row per record a job could not apply (failed) or chose not to (skipped), for the report.
-- record_number 0 is the file itself.
CREATE TABLE job_error (
  job_id uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  record_number int NOT NULL,
  line int,
  outcome text NOT NULL DEFAULT 'failed' CHECK (outcome IN ('failed', 'skipped')),
  identifier text,
  reason text NOT NULL,
  PRIMARY KEY (job_id, record_number)
);

-- A dry run's field-level diff: what each record would create or change.
CREATE TABLE job_change (
  job_id uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  record_number int NOT NULL,
  action text NOT NULL,
  identifier text,
  changes jsonb NOT NULL,
  PRIMARY KEY (job_id, record_number)
);

-- The match ids a load has read so far (committed with each batch): a later record with the
-- same id is a duplicate in the file, and "deactivate missing" means "not in here".
CREATE TABLE job_seen_key (
  job_id uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  match_key text NOT NULL,
  record_number int NOT NULL,
  PRIMARY KEY (job_id, match_key)
);

-- Files in the database, in chunks of at most 1 MiB, so an upload or an export streams through
-- in constant memory and any worker on any machine can read it.
CREATE TABLE job_file (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  institution_id uuid NOT NULL REFERENCES institution (id) ON DELETE CASCADE,
  job_id uuid REFERENCES job (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('input', 'result')),
  name text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL DEFAULT 0,
  sha256 text,
  complete boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_file_job ON job_file (job_id, role);

CREATE TABLE job_file_chunk (
  file_id uuid NOT NULL REFERENCES job_file (id) ON DELETE CASCADE,
  seq int NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (file_id, seq)
);

-- What the last SIS load wrote: a hash of the file's record under the load's rules, and the
-- version that write produced. While both still hold (same record, nobody changed the user
-- since), the next load knows the user is unchanged without reading and merging it.
ALTER TABLE app_user ADD COLUMN sis_hash text, ADD COLUMN sis_version int;

-- Export filters and "deactivate missing" find a profile's users by external_id.
CREATE INDEX app_user_external_id ON app_user (institution_id, lower(external_id)) WHERE external_id IS NOT NULL;
