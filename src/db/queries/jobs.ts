// SQL for the job queue, whatever the kind of job: job (enqueue, claims, leases, progress,
// requeue, finish, cancel) and its report rows (job_error). Claims use FOR UPDATE SKIP LOCKED,
// so any number of workers share the queue; a lease (locked_until) that runs out hands the job to
// the next worker. What a kind tracks of its own (an SIS load's batch ranges, match ids, dry-run
// diffs) is in that kind's own query module.
import type { Queryable, Row } from '../database.js';
import type { Job, JobCounters, JobRecordError, JobStatus } from '../../model/job.js';

export const jobFromRow = (r: Row): Job => ({
  id: r.id as string,
  institutionId: r.institution_id as string,
  kind: r.kind as string,
  status: r.status as JobStatus,
  payload: (r.payload as Record<string, unknown>) ?? {},
  dryRun: r.dry_run as boolean,
  total: (r.total as number | null) ?? null,
  counters: (r.counters as JobCounters | null) ?? {},
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
  /** Every counter the kind declares, at zero. */
  counters?: JobCounters;
  createdBy: string;
  /** Insert it already claimed by this worker (the CLI runs its own job at once). */
  claimedBy?: { workerId: string; leaseSeconds: number };
}

export async function insertJob(db: Queryable, j: NewJob): Promise<Job> {
  const claimed = j.claimedBy;
  return jobFromRow(
    await db.one(
      `INSERT INTO job (institution_id, kind, payload, dry_run, created_by, status, locked_by, locked_until, heartbeat_at,
         attempts, started_at, counters)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE now() + make_interval(secs => $8) END,
         CASE WHEN $7::text IS NULL THEN NULL ELSE now() END, CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END,
         CASE WHEN $7::text IS NULL THEN NULL ELSE now() END, $9)
       RETURNING *`,
      [j.institutionId, j.kind, JSON.stringify(j.payload), j.dryRun, j.createdBy, claimed ? 'running' : 'queued',
        claimed?.workerId ?? null, claimed?.leaseSeconds ?? 0, JSON.stringify(j.counters ?? {})],
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
  return r && jobFromRow(r);
}

/** Claims one job: queued, or running under a lease that ran out (or whose holder is known dead). */
export async function claimJob(db: Queryable, id: string, workerId: string, leaseSeconds: number, holderDead: boolean): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET ${CLAIM_SET}
     WHERE id = $3 AND (status = 'queued' OR (status = 'running' AND (locked_until < now() OR $4)))
     RETURNING *`,
    [workerId, leaseSeconds, id, holderDead],
  );
  return r && jobFromRow(r);
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

/** Sets the job's progress (counters as given, the checkpoint, the total once known) and extends the lease. */
export async function saveJobProgress(
  tx: Queryable,
  id: string,
  p: { counters: JobCounters; checkpoint: Record<string, unknown>; total?: number | null; leaseSeconds: number },
): Promise<void> {
  await tx.query(
    `UPDATE job SET counters = $2, checkpoint = $3, total = COALESCE($4, total),
       locked_until = now() + make_interval(secs => $5), heartbeat_at = now()
     WHERE id = $1`,
    [id, JSON.stringify(p.counters), JSON.stringify(p.checkpoint), p.total ?? null, p.leaseSeconds],
  );
}

/**
 * Adds to the job's counters, in the transaction of the work they count, and extends the lease.
 * False when the job is no longer this worker's (the caller rolls back). Concurrent transactions
 * of one job queue here only for this statement; the sum is taken on the locked row.
 */
export async function addJobCounters(tx: Queryable, id: string, workerId: string, delta: JobCounters, leaseSeconds: number): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE job SET counters = job_counters_add(counters, $3::jsonb),
       locked_until = now() + make_interval(secs => $4), heartbeat_at = now()
     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING id`,
    [id, workerId, JSON.stringify(delta), leaseSeconds],
  );
  return rows.length === 1;
}

/**
 * A handler's progress outside a transaction of its own: the counters given replace theirs (the
 * others stay), the checkpoint and total when given; the lease is extended. The job as it now is,
 * or undefined when it is no longer this worker's.
 */
export async function reportJobProgress(
  db: Queryable,
  id: string,
  workerId: string,
  p: { counters?: JobCounters; checkpoint?: Record<string, unknown>; total?: number | null },
  leaseSeconds: number,
): Promise<Job | undefined> {
  const r = await db.maybeOne(
    `UPDATE job SET counters = counters || $3::jsonb, checkpoint = COALESCE($4::jsonb, checkpoint), total = COALESCE($5, total),
       locked_until = now() + make_interval(secs => $6), heartbeat_at = now()
     WHERE id = $1 AND locked_by = $2 AND status = 'running' RETURNING *`,
    [id, workerId, JSON.stringify(p.counters ?? {}), p.checkpoint === undefined ? null : JSON.stringify(p.checkpoint), p.total ?? null, leaseSeconds],
  );
  return r && jobFromRow(r);
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
  return r && jobFromRow(r);
}

export async function findJob(db: Queryable, id: string): Promise<Job | undefined> {
  const r = await db.maybeOne('SELECT * FROM job WHERE id = $1', [id]);
  return r && jobFromRow(r);
}

/** The institution's jobs of these kinds, newest first. */
export async function listJobs(
  db: Queryable,
  institutionId: string,
  f: { status?: string | undefined; kinds: readonly string[]; limit: number; payload?: Record<string, string> | undefined },
): Promise<Job[]> {
  // payload: the jobs whose payload holds these values (an SIS profile's loads: its profileId).
  const rows = await db.query(
    `SELECT * FROM job WHERE institution_id = $1 AND ($2::text IS NULL OR status = $2) AND kind = ANY($3::text[])
       AND ($5::jsonb IS NULL OR payload @> $5::jsonb)
     ORDER BY created_at DESC, id LIMIT $4`,
    [institutionId, f.status ?? null, [...f.kinds], f.limit, f.payload ? JSON.stringify(f.payload) : null],
  );
  return rows.map(jobFromRow);
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
