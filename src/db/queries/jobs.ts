// SQL for the job queue: job, and the job's report rows (job_error, job_change) and match-id
// bookkeeping (job_seen_key). Claims use FOR UPDATE SKIP LOCKED, so any number of workers share
// the queue; a lease (locked_until) that runs out hands the job to the next worker.
import type { Queryable, Row } from '../database.js';
import type { Job, JobCounters, JobRecordChange, JobRecordError, JobStatus } from '../../domain/jobs/job.js';

const toJob = (r: Row): Job => ({
  id: r.id as string,
  institutionId: r.institution_id as string,
  kind: r.kind as string,
  status: r.status as JobStatus,
  payload: (r.payload as Record<string, unknown>) ?? {},
  dryRun: r.dry_run as boolean,
  total: (r.total as number | null) ?? null,
  counters: {
    read: r.records_read as number,
    created: r.created as number,
    updated: r.updated as number,
    unchanged: r.unchanged as number,
    skipped: r.skipped as number,
    failed: r.failed as number,
  },
  checkpoint: (r.checkpoint as Record<string, unknown>) ?? {},
  result: (r.result as Record<string, unknown> | null) ?? null,
  error: (r.error as string | null) ?? null,
  attempts: r.attempts as number,
  maxAttempts: r.max_attempts as number,
  cancelRequested: r.cancel_requested as boolean,
  lockedBy: (r.locked_by as string | null) ?? null,
  lockedUntil: (r.locked_until as Date | null) ?? null,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as Date,
  startedAt: (r.started_at as Date | null) ?? null,
  finishedAt: (r.finished_at as Date | null) ?? null,
});

export interface NewJob {
  institutionId: string;
  kind: string;
  payload: Record<string, unknown>;
  dryRun: boolean;
  createdBy: string;
  /** Insert it already claimed by this worker (the CLI runs its own job at once). */
  claimedBy?: { workerId: string; leaseSeconds: number };
}

export async function insertJob(db: Queryable, j: NewJob): Promise<Job> {
  const claimed = j.claimedBy;
  return toJob(
    await db.one(
      `INSERT INTO job (institution_id, kind, payload, dry_run, created_by, status, locked_by, locked_until, heartbeat_at,
         attempts, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE now() + make_interval(secs => $8) END,
         CASE WHEN $7::text IS NULL THEN NULL ELSE now() END, CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END,
         CASE WHEN $7::text IS NULL THEN NULL ELSE now() END)
       RETURNING *`,
      [j.institutionId, j.kind, JSON.stringify(j.payload), j.dryRun, j.createdBy, claimed ? 'running' : 'queued',
        claimed?.workerId ?? null, claimed?.leaseSeconds ?? 0],
    ),
  );
}

const CLAIM_SET = `status = 'running', locked_by = $1, locked_until = now() + make_interval(secs => $2), heartbeat_at = now(),
  attempts = attempts + 1, started_at = COALESCE(started_at, now())`;

/** The oldest job of these kinds that is queued, or running under a lease that ran out. */
export async function claimNextJob(db: Queryable, workerId: string, leaseSeconds: number, kinds: string[]): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET ${CLAIM_SET}
     WHERE id = (SELECT id FROM job
       WHERE kind = ANY($3::text[]) AND status IN ('queued', 'running') AND run_after <= now()
         AND (status = 'queued' OR locked_until < now())
       ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [workerId, leaseSeconds, kinds],
  );
  return r && toJob(r);
}

/** Claims one job: queued, or running under a lease that ran out (or whose holder is known dead). */
export async function claimJob(db: Queryable, id: string, workerId: string, leaseSeconds: number, holderDead: boolean): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET ${CLAIM_SET}
     WHERE id = $3 AND (status = 'queued' OR (status = 'running' AND (locked_until < now() OR $4)))
     RETURNING *`,
    [workerId, leaseSeconds, id, holderDead],
  );
  return r && toJob(r);
}

/** Extends the lease; undefined when the job is no longer this worker's (or no longer running). */
export async function extendLease(db: Queryable, id: string, workerId: string, leaseSeconds: number): Promise<{ cancelRequested: boolean } | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET locked_until = now() + make_interval(secs => $3), heartbeat_at = now()
     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING cancel_requested`,
    [id, workerId, leaseSeconds],
  );
  return r && { cancelRequested: r.cancel_requested as boolean };
}

/** Locks the job row for a batch transaction; undefined when this worker lost it. */
export async function lockOwnJob(tx: Queryable, id: string, workerId: string): Promise<{ cancelRequested: boolean } | undefined> {
  const r = await tx.maybeOne(`SELECT cancel_requested FROM job WHERE id = $1 AND locked_by = $2 AND status = 'running' FOR UPDATE`, [id, workerId]);
  return r && { cancelRequested: r.cancel_requested as boolean };
}

export async function saveJobProgress(
  tx: Queryable,
  id: string,
  p: { counters: JobCounters; checkpoint: Record<string, unknown>; total?: number | null; leaseSeconds: number },
): Promise<void> {
  const c = p.counters;
  await tx.query(
    `UPDATE job SET records_read = $2, created = $3, updated = $4, unchanged = $5, skipped = $6, failed = $7,
       checkpoint = $8, total = COALESCE($9, total), locked_until = now() + make_interval(secs => $10), heartbeat_at = now()
     WHERE id = $1`,
    [id, c.read, c.created, c.updated, c.unchanged, c.skipped, c.failed, JSON.stringify(p.checkpoint), p.total ?? null, p.leaseSeconds],
  );
}

/**
 * Adds committed records to the job, in the batch's transaction: the counters grow by `delta`
 * and the record ranges are recorded. False when the job is no longer this worker's (the caller
 * rolls back). Concurrent batches of one job queue here only for this last statement.
 */
export async function addBatchProgress(
  tx: Queryable,
  id: string,
  workerId: string,
  delta: JobCounters,
  ranges: { first: number; last: number }[],
  leaseSeconds: number,
): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE job SET records_read = records_read + $3, created = created + $4, updated = updated + $5,
       unchanged = unchanged + $6, skipped = skipped + $7, failed = failed + $8,
       locked_until = now() + make_interval(secs => $9), heartbeat_at = now()
     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING id`,
    [id, workerId, delta.read, delta.created, delta.updated, delta.unchanged, delta.skipped, delta.failed, leaseSeconds],
  );
  if (rows.length !== 1) return false;
  await tx.query(
    'INSERT INTO job_batch (job_id, first_record, last_record) SELECT $1, f, l FROM unnest($2::int[], $3::int[]) AS x(f, l)',
    [id, ranges.map((r) => r.first), ranges.map((r) => r.last)],
  );
  return true;
}

/** The record ranges a job's batches committed, in record order. */
export async function listBatchRanges(db: Queryable, id: string): Promise<{ first: number; last: number }[]> {
  const rows = await db.query<{ first_record: number; last_record: number }>(
    'SELECT first_record, last_record FROM job_batch WHERE job_id = $1 ORDER BY first_record',
    [id],
  );
  return rows.map((r) => ({ first: r.first_record, last: r.last_record }));
}

/** Whether the job is still this worker's, and whether someone asked to cancel it (no lock taken). */
export async function checkOwnJob(db: Queryable, id: string, workerId: string): Promise<{ cancelRequested: boolean } | undefined> {
  const r = await db.maybeOne(`SELECT cancel_requested FROM job WHERE id = $1 AND locked_by = $2 AND status = 'running'`, [id, workerId]);
  return r && { cancelRequested: r.cancel_requested as boolean };
}

export async function finishJob(
  db: Queryable,
  id: string,
  workerId: string,
  status: 'succeeded' | 'failed' | 'cancelled',
  result: Record<string, unknown> | null,
  error: string | null,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE job SET status = $3, result = $4, error = $5, finished_at = now(), locked_by = NULL, locked_until = NULL
     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING id`,
    [id, workerId, status, result === null ? null : JSON.stringify(result), error],
  );
  return rows.length === 1;
}

/** A worker shutting down hands its job back at once (not counted as an attempt). */
export async function releaseJob(db: Queryable, id: string, workerId: string): Promise<void> {
  await db.query(
    `UPDATE job SET status = 'queued', locked_by = NULL, locked_until = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
    [id, workerId],
  );
}

/**
 * A job whose attempt lost the database goes back to the queue, to be claimed again after
 * `delaySeconds` (the attempt stays counted); it resumes from its committed batches.
 */
export async function requeueJob(db: Queryable, id: string, workerId: string, delaySeconds: number, error: string): Promise<void> {
  await db.query(
    `UPDATE job SET status = 'queued', locked_by = NULL, locked_until = NULL, error = $4,
       run_after = now() + make_interval(secs => $3)
     WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
    [id, workerId, delaySeconds, error],
  );
}

/** A queued job is cancelled at once; a running one stops at its next batch. */
export async function requestJobCancel(db: Queryable, id: string): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET cancel_requested = true,
       status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
       finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING *`,
    [id],
  );
  return r && toJob(r);
}

export async function findJob(db: Queryable, id: string): Promise<Job | undefined> {
  const r = await db.maybeOne('SELECT * FROM job WHERE id = $1', [id]);
  return r && toJob(r);
}

export async function listJobs(
  db: Queryable,
  institutionId: string,
  f: { status?: string | undefined; kind?: string | undefined; limit: number },
): Promise<Job[]> {
  const rows = await db.query(
    `SELECT * FROM job WHERE institution_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)
     ORDER BY created_at DESC, id LIMIT $4`,
    [institutionId, f.status ?? null, f.kind ?? null, f.limit],
  );
  return rows.map(toJob);
}

/** The unfinished job loading this very file for this profile (a rerun after a crash resumes it). */
export async function findUnfinishedLoad(db: Queryable, profileId: string, sha256: string, dryRun: boolean): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `SELECT * FROM job WHERE kind = 'sis.load' AND status IN ('queued', 'running') AND dry_run = $3
       AND payload->>'profileId' = $1 AND payload->>'sha256' = $2
     ORDER BY created_at LIMIT 1`,
    [profileId, sha256, dryRun],
  );
  return r && toJob(r);
}

export async function insertJobErrors(tx: Queryable, jobId: string, errors: JobRecordError[]): Promise<void> {
  if (!errors.length) return;
  await tx.query(
    `INSERT INTO job_error (job_id, record_number, line, outcome, identifier, reason)
     SELECT $1, x.n, x.line, x.outcome, x.identifier, x.reason
     FROM json_to_recordset($2::json) AS x(n int, line int, outcome text, identifier text, reason text)
     ON CONFLICT (job_id, record_number) DO NOTHING`,
    [jobId, JSON.stringify(errors.map((e) => ({ n: e.recordNumber, line: e.line, outcome: e.outcome, identifier: e.identifier, reason: e.reason })))],
  );
}

export async function listJobErrors(db: Queryable, jobId: string, afterRecord: number, limit: number): Promise<JobRecordError[]> {
  const rows = await db.query(
    `SELECT record_number, line, outcome, identifier, reason FROM job_error
     WHERE job_id = $1 AND record_number > $2 ORDER BY record_number LIMIT $3`,
    [jobId, afterRecord, limit],
  );
  return rows.map((r) => ({
    recordNumber: r.record_number as number,
    line: (r.line as number | null) ?? null,
    outcome: r.outcome as JobRecordError['outcome'],
    identifier: (r.identifier as string | null) ?? null,
    reason: r.reason as string,
  }));
}

export async function insertJobChanges(tx: Queryable, jobId: string, changes: JobRecordChange[]): Promise<void> {
  if (!changes.length) return;
  await tx.query(
    `INSERT INTO job_change (job_id, record_number, action, identifier, changes)
     SELECT $1, x.n, x.action, x.identifier, x.changes
     FROM json_to_recordset($2::json) AS x(n int, action text, identifier text, changes jsonb)
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
  const fresh = await db.query<{ match_key: string }>(
    `INSERT INTO job_seen_key (job_id, match_key, record_number)
     SELECT $1, k, n FROM unnest($2::text[], $3::int[]) AS x(k, n)
     ON CONFLICT (job_id, match_key) DO NOTHING RETURNING match_key`,
    [jobId, keys.map((k) => k.key), keys.map((k) => k.n)],
  );
  if (fresh.length === keys.length) return new Map();
  const inserted = new Set(fresh.map((r) => r.match_key));
  const rows = await db.query<{ match_key: string; record_number: number }>(
    'SELECT match_key, record_number FROM job_seen_key WHERE job_id = $1 AND match_key = ANY($2::text[])',
    [jobId, keys.filter((k) => !inserted.has(k.key)).map((k) => k.key)],
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

/** Bookkeeping a finished job no longer needs: its match ids, and its input file after `inputDays`. */
export async function deleteFinishedJobLeftovers(db: Queryable, inputDays: number): Promise<void> {
  await db.query(
    `DELETE FROM job_seen_key s USING job j WHERE s.job_id = j.id AND j.status IN ('succeeded', 'failed', 'cancelled')`,
  );
  await db.query(`DELETE FROM job_batch b USING job j WHERE b.job_id = j.id AND j.status IN ('succeeded', 'failed', 'cancelled')`);
  await db.query(
    `DELETE FROM job_file f USING job j WHERE f.job_id = j.id AND f.role = 'input'
       AND j.status IN ('succeeded', 'failed', 'cancelled') AND j.finished_at < now() - make_interval(days => $1)`,
    [inputDays],
  );
}
