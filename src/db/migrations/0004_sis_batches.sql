-- SIS loads commit batches side by side (two at once on PostgreSQL), so a load's progress is a set
-- of committed record ranges, not a high-water mark: one row per batch, written in the batch's
-- own transaction; a resumed load skips exactly these records.
CREATE TABLE job_batch (
  job_id uuid NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  first_record int NOT NULL,
  last_record int NOT NULL,
  PRIMARY KEY (job_id, first_record)
);

-- job_seen_key is now written while the file is read (pass one), before any batch, and every run
-- of a load rebuilds it from the file before using it: losing it with a database crash loses
-- nothing, so it needs no WAL.
ALTER TABLE job_seen_key SET UNLOGGED;
