// SQL for what an SIS load tracks of its own beside the queue's job row: the record ranges its
// batches committed (job_batch), the match ids it has read (job_seen_key), a dry run's diffs
// (job_change), and finding a load by its file. Used only by the SIS load and its services.
import type { Queryable } from '../database.js';
import type { Job } from '../../model/job.js';
import type { JobRecordChange } from '../../model/sis-load.js';
import { jobFromRow } from './jobs.js';

/** The record ranges a batch (or settled batches) committed, in the batch's own transaction. */
export async function insertBatchRanges(tx: Queryable, jobId: string, ranges: { first: number; last: number }[]): Promise<void> {
  await tx.query(
    'INSERT INTO job_batch (job_id, first_record, last_record) SELECT $1, f, l FROM unnest($2::int[], $3::int[]) AS x(f, l)',
    [jobId, ranges.map((r) => r.first), ranges.map((r) => r.last)],
  );
}

/** The record ranges a job's batches committed, in record order. */
export async function listBatchRanges(db: Queryable, id: string): Promise<{ first: number; last: number }[]> {
  const rows = await db.query<{ first_record: number; last_record: number }>(
    'SELECT first_record, last_record FROM job_batch WHERE job_id = $1 ORDER BY first_record',
    [id],
  );
  return rows.map((r) => ({ first: r.first_record, last: r.last_record }));
}

/** The unfinished job loading this very file for this profile (a rerun after a crash resumes it). */
export async function findUnfinishedLoad(db: Queryable, profileId: string, sha256: string, dryRun: boolean): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `SELECT * FROM job WHERE kind = 'sis.load' AND status IN ('queued', 'running') AND dry_run = $3
       AND payload->>'profileId' = $1 AND payload->>'sha256' = $2
     ORDER BY created_at LIMIT 1`,
    [profileId, sha256, dryRun],
  );
  return r && jobFromRow(r);
}

/** The oldest queued or running load (dry run or not) of this profile: a profile is not deleted under it. */
export async function findUnfinishedLoadOfProfile(db: Queryable, profileId: string): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `SELECT * FROM job WHERE kind = 'sis.load' AND status IN ('queued', 'running') AND payload->>'profileId' = $1
     ORDER BY created_at LIMIT 1`,
    [profileId],
  );
  return r && jobFromRow(r);
}

export async function insertJobChanges(tx: Queryable, jobId: string, changes: JobRecordChange[]): Promise<void> {
  if (!changes.length) return;
  await tx.query(
    `INSERT INTO job_change (job_id, record_number, action, identifier, changes)
     SELECT $1, x.n, x.action, x.identifier, x.changes::jsonb
     FROM json_to_recordset($2::json) AS x(n int, action text, identifier text, changes text)
     ON CONFLICT (job_id, record_number) DO NOTHING`,
    [jobId, JSON.stringify(changes.map((c) => ({ n: c.recordNumber, action: c.action, identifier: c.identifier, changes: c.changes })))],
  );
}

export async function listJobChanges(db: Queryable, jobId: string, afterRecord: number, limit: number): Promise<JobRecordChange[]> {
  const rows = await db.query(
    `SELECT record_number, action, identifier, changes FROM job_change
     WHERE job_id = $1 AND record_number > $2 ORDER BY record_number LIMIT $3`,
    [jobId, afterRecord, limit],
  );
  return rows.map((r) => ({
    recordNumber: r.record_number as number,
    action: r.action as JobRecordChange['action'],
    identifier: (r.identifier as string | null) ?? null,
    changes: r.changes as JobRecordChange['changes'],
  }));
}

/**
 * Records match ids read by a load with the record that had them; answers, for each id already
 * recorded, the record that had it first (a rerun of the same file, after a crash, finds its own
 * earlier rows: the same record numbers). Keys must be distinct.
 */
export async function recordSeenKeys(db: Queryable, jobId: string, keys: { key: string; n: number }[]): Promise<Map<string, number>> {
  if (!keys.length) return new Map();
  // Only the keys already recorded come back (usually none), not the 500 just inserted.
  const taken = await db.query<{ match_key: string }>(
    `WITH k AS (SELECT * FROM unnest($2::text[], $3::int[]) AS x(k, n)),
     inserted AS (INSERT INTO job_seen_key (job_id, match_key, record_number) SELECT $1, k, n FROM k
       ON CONFLICT (job_id, match_key) DO NOTHING RETURNING match_key)
     SELECT k AS match_key FROM k WHERE k NOT IN (SELECT match_key FROM inserted)`,
    [jobId, keys.map((k) => k.key), keys.map((k) => k.n)],
  );
  if (!taken.length) return new Map();
  const rows = await db.query<{ match_key: string; record_number: number }>(
    'SELECT match_key, record_number FROM job_seen_key WHERE job_id = $1 AND match_key = ANY($2::text[])',
    [jobId, taken.map((r) => r.match_key)],
  );
  return new Map(rows.map((r) => [r.match_key, r.record_number]));
}

export async function deleteSeenKeys(db: Queryable, jobId: string): Promise<void> {
  await db.query('DELETE FROM job_seen_key WHERE job_id = $1', [jobId]);
}

/** Whether a job was created for this dropped file (a poller that died before enqueueing left none). */
export async function hasJobForDropFile(db: Queryable, path: string): Promise<boolean> {
  const r = await db.maybeOne(`SELECT 1 FROM job WHERE kind = 'sis.load' AND payload->>'dropFile' = $1 LIMIT 1`, [path]);
  return r !== undefined;
}

/** Bookkeeping a finished load no longer needs: its match ids and batch ranges. */
export async function deleteFinishedLoadProgress(db: Queryable): Promise<void> {
  await db.query(
    `DELETE FROM job_seen_key s USING job j WHERE s.job_id = j.id AND j.status IN ('succeeded', 'failed', 'cancelled')`,
  );
  await db.query(`DELETE FROM job_batch b USING job j WHERE b.job_id = j.id AND j.status IN ('succeeded', 'failed', 'cancelled')`);
}
