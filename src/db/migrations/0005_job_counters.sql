-- The job queue serves any kind of job: a job's counters are the names its kind declares, kept
-- in one JSON object instead of one column per SIS load counter. Existing jobs keep theirs.
ALTER TABLE job ADD COLUMN counters jsonb NOT NULL DEFAULT '{}';
UPDATE job SET counters = jsonb_build_object(
  'read', records_read, 'created', created, 'updated', updated,
  'unchanged', unchanged, 'skipped', skipped, 'failed', failed);
ALTER TABLE job DROP COLUMN records_read, DROP COLUMN created, DROP COLUMN updated,
  DROP COLUMN unchanged, DROP COLUMN skipped, DROP COLUMN failed;

-- Counters grow in the transaction of the work they count (two SIS batches of one job commit side
-- by side): the sum is taken on the row as locked, key by key, a missing key counting as 0.
CREATE FUNCTION job_counters_add(a jsonb, b jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(jsonb_object_agg(k, COALESCE((a ->> k)::bigint, 0) + COALESCE((b ->> k)::bigint, 0)), '{}'::jsonb)
  FROM jsonb_object_keys(a || b) AS k
$$;
