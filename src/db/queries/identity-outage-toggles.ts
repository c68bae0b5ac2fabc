// SQL for identity.outage_toggle (the users an outage job chose, and what became of each) and the
// job column of identity.account_toggle (which job a user is INTERNAL from). Migration 0009.
import type { Queryable, Row } from '../database.js';

export type OutageRowState = 'pending' | 'toggled' | 'failed' | 'skipped' | 'reverted' | 'left' | 'revert_failed';

export interface OutageRow {
  n: number;
  userId: string;
  state: OutageRowState;
  temporaryPassword: boolean;
}

export interface OutageSelection {
  recordType?: string | undefined;
  userGroup?: string | undefined;
  /** A role type the user holds, active. */
  role?: string | undefined;
}

/** The institution's ACTIVE EXTERNAL users a selection names, in primary-id order. */
export async function findOutageCandidates(db: Queryable, institutionId: string, s: OutageSelection): Promise<string[]> {
  const rows = await db.query<{ id: string } & Row>(
    `SELECT u.id FROM app_user u
     WHERE u.institution_id = $1 AND u.account_type = 'EXTERNAL' AND u.status = 'ACTIVE'
       AND ($2::text IS NULL OR u.record_type = $2) AND ($3::text IS NULL OR u.user_group = $3)
       AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role_type = $4 AND r.status = 'ACTIVE'))
     ORDER BY lower(u.primary_id), u.id`,
    [institutionId, s.recordType ?? null, s.userGroup ?? null, s.role ?? null],
  );
  return rows.map((r) => r.id);
}

/** The plan: one pending row per user, numbered from `first` in the order given. */
export async function insertOutageRows(tx: Queryable, jobId: string, institutionId: string, users: { n: number; userId: string }[]): Promise<void> {
  if (!users.length) return;
  await tx.query(
    `INSERT INTO identity.outage_toggle (job_id, n, user_id, institution_id)
     SELECT $1, x.n, x.user_id, $2 FROM json_to_recordset($3::json) AS x(n int, user_id uuid)`,
    [jobId, institutionId, JSON.stringify(users.map((u) => ({ n: u.n, user_id: u.userId })))],
  );
}

/** Rows of a job in one state, after row n, in order. */
export async function listOutageRows(db: Queryable, jobId: string, state: OutageRowState, afterN: number, limit: number): Promise<OutageRow[]> {
  return db.query<OutageRow & Row>(
    `SELECT n, user_id AS "userId", state, temporary_password AS "temporaryPassword" FROM identity.outage_toggle
     WHERE job_id = $1 AND state = $2 AND n > $3 ORDER BY n LIMIT $4`,
    [jobId, state, afterN, limit],
  );
}

export async function settleOutageRow(
  tx: Queryable,
  jobId: string,
  n: number,
  s: { state: OutageRowState; sealed?: Buffer | null; temporaryPassword?: boolean; now: Date },
): Promise<void> {
  await tx.query(
    `UPDATE identity.outage_toggle SET state = $3, updated_at = $4,
       temporary_password = COALESCE($5, temporary_password),
       sealed_password = CASE $3 WHEN 'toggled' THEN $6::bytea WHEN 'revert_failed' THEN sealed_password ELSE NULL END
     WHERE job_id = $1 AND n = $2`,
    [jobId, n, s.state, s.now, s.temporaryPassword ?? null, s.sealed ?? null],
  );
}

/** The sealed temporary passwords of a job with each user's primary id, locked until the caller commits. */
export async function lockSealedPasswords(tx: Queryable, jobId: string): Promise<{ n: number; primaryId: string; sealed: Buffer }[]> {
  return tx.query(
    `SELECT o.n, u.primary_id AS "primaryId", o.sealed_password AS sealed FROM identity.outage_toggle o
     JOIN app_user u ON u.id = o.user_id
     WHERE o.job_id = $1 AND o.sealed_password IS NOT NULL ORDER BY o.n FOR UPDATE OF o`,
    [jobId],
  ) as Promise<{ n: number; primaryId: string; sealed: Buffer }[]>;
}

export async function clearSealedPasswords(tx: Queryable, jobId: string): Promise<void> {
  await tx.query('UPDATE identity.outage_toggle SET sealed_password = NULL WHERE job_id = $1 AND sealed_password IS NOT NULL', [jobId]);
}

/** Ties the user's remembered external id to the job that toggled it (toggles by hand rewrite the row without one). */
export async function setAccountToggleJob(tx: Queryable, userId: string, jobId: string): Promise<void> {
  await tx.query('UPDATE identity.account_toggle SET job_id = $2 WHERE user_id = $1', [userId, jobId]);
}

/** The job the user is INTERNAL from: null when toggled by hand, undefined when nothing is remembered. */
export async function findAccountToggleJob(tx: Queryable, userId: string): Promise<string | null | undefined> {
  const r = await tx.maybeOne<{ job_id: string | null }>('SELECT job_id FROM identity.account_toggle WHERE user_id = $1', [userId]);
  return r === undefined ? undefined : r.job_id;
}
