// SQL for identity.credential: one row per user with (or once with) a local password. Every time
// comparison takes `now` from the caller, so the identity module's clock is the only clock.
import type { Queryable, Row } from '../database.js';

export interface CredentialRow {
  userId: string;
  institutionId: string;
  algorithm: string | null;
  hash: string | null;
  mustChange: boolean;
  legacy: boolean;
  failedCount: number;
  lockedUntil: Date | null;
  concurrentSessions: 'allow' | 'warn' | 'refuse';
}

const COLUMNS = `user_id AS "userId", institution_id AS "institutionId", algorithm, hash, must_change AS "mustChange",
  legacy, failed_count AS "failedCount", locked_until AS "lockedUntil", concurrent_sessions AS "concurrentSessions"`;

export async function findCredential(db: Queryable, userId: string, forUpdate = false): Promise<CredentialRow | undefined> {
  return db.maybeOne<CredentialRow & Row>(
    `SELECT ${COLUMNS} FROM identity.credential WHERE user_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [userId],
  );
}

/** A new password (or imported hash): lifts every sign-in block (see throttle.ts), since the old secret is gone. */
export async function upsertPassword(
  db: Queryable,
  c: { userId: string; institutionId: string; algorithm: string; hash: string; legacy: boolean; mustChange: boolean; now: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO identity.credential (user_id, institution_id, algorithm, hash, legacy, must_change, password_changed_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)
     ON CONFLICT (user_id) DO UPDATE SET algorithm = EXCLUDED.algorithm, hash = EXCLUDED.hash, legacy = EXCLUDED.legacy,
       must_change = EXCLUDED.must_change, failed_count = 0, locked_until = NULL, guess_debt_until = NULL, throttle_reset_at = $7,
       password_changed_at = $7, updated_at = $7`,
    [c.userId, c.institutionId, c.algorithm, c.hash, c.legacy, c.mustChange, c.now],
  );
}

/** Re-hash after a login, unless the password changed meanwhile (a concurrent reset wins). */
export async function replaceHash(
  db: Queryable,
  userId: string,
  previous: string,
  next: { algorithm: string; hash: string; mustChange: boolean; now: Date },
): Promise<void> {
  await db.query(
    `UPDATE identity.credential SET algorithm = $3, hash = $4, legacy = false, must_change = must_change OR $5, updated_at = $6
     WHERE user_id = $1 AND hash = $2`,
    [userId, previous, next.algorithm, next.hash, next.mustChange, next.now],
  );
}

/** False when the user has no password to force a change of. */
export async function setMustChange(db: Queryable, userId: string, mustChange: boolean, now: Date): Promise<boolean> {
  const rows = await db.query(
    'UPDATE identity.credential SET must_change = $2, updated_at = $3 WHERE user_id = $1 AND hash IS NOT NULL RETURNING user_id',
    [userId, mustChange, now],
  );
  return rows.length === 1;
}

/** Removes the password but keeps the row's per-user settings. */
export async function clearPassword(db: Queryable, userId: string, now: Date): Promise<boolean> {
  const rows = await db.query(
    `UPDATE identity.credential SET algorithm = NULL, hash = NULL, legacy = false, must_change = false, failed_count = 0,
       locked_until = NULL, updated_at = $2 WHERE user_id = $1 AND hash IS NOT NULL RETURNING user_id`,
    [userId, now],
  );
  return rows.length === 1;
}

/**
 * The last login time (an hour's precision is enough). failed_count and locked_until are the lock
 * of before migration 0007, cleared here and no longer read: the guess budget (throttle.ts) is
 * not reset by a success, or each of the owner's logins would hand an attacker a fresh burst.
 */
export async function recordCredentialSuccess(db: Queryable, userId: string, now: Date): Promise<void> {
  await db.query(
    `UPDATE identity.credential SET failed_count = 0, locked_until = NULL, last_login_at = $2
     WHERE user_id = $1
       AND (failed_count <> 0 OR locked_until IS NOT NULL OR last_login_at IS NULL OR last_login_at < $2::timestamptz - interval '1 hour')`,
    [userId, now],
  );
}

/** Lifts every sign-in block on the account (an unlock link): the guess budget and all its pair streaks. */
export async function liftThrottle(db: Queryable, userId: string, now: Date): Promise<void> {
  await db.query(
    'UPDATE identity.credential SET guess_debt_until = NULL, throttle_reset_at = $2, failed_count = 0, locked_until = NULL WHERE user_id = $1',
    [userId, now],
  );
}

export interface UserWithoutPassword {
  id: string;
  primaryId: string;
  firstName: string | null;
  lastName: string | null;
  recordType: string;
  status: string;
  email: string | null;
}

/** Alma's "User Type = Internal, IdP Service in use = No": INTERNAL users no password lets in. */
export async function listInternalUsersWithoutPassword(
  db: Queryable,
  institutionId: string,
  opts: { limit: number; offset: number; userIds?: string[] },
): Promise<{ total: number; rows: UserWithoutPassword[] }> {
  const where = `u.institution_id = $1 AND u.account_type = 'INTERNAL' AND u.record_type <> 'CONTACT'
    AND NOT EXISTS (SELECT 1 FROM identity.credential c WHERE c.user_id = u.id AND c.hash IS NOT NULL)
    AND ($2::uuid[] IS NULL OR u.id = ANY($2::uuid[]))`;
  const params = [institutionId, opts.userIds ?? null];
  const [count, rows] = await Promise.all([
    db.one<{ n: number }>(`SELECT count(*)::int AS n FROM app_user u WHERE ${where}`, params),
    db.query<UserWithoutPassword & Row>(
      `SELECT u.id, u.primary_id AS "primaryId", u.first_name AS "firstName", u.last_name AS "lastName",
         u.record_type AS "recordType", u.status,
         (SELECT e->>'address' FROM jsonb_array_elements(u.contact_info->'emails') e
           ORDER BY (e->>'preferred')::boolean DESC NULLS LAST LIMIT 1) AS email
       FROM app_user u WHERE ${where}
       ORDER BY lower(u.last_name), lower(u.first_name), lower(u.primary_id), u.id
       LIMIT ${Number(opts.limit)} OFFSET ${Number(opts.offset)}`,
      params,
    ),
  ]);
  return { total: count.n, rows };
}

/** The shared-account setting; a user without a password still gets a row to hold it. */
export async function setConcurrentSessions(
  db: Queryable,
  userId: string,
  institutionId: string,
  policy: CredentialRow['concurrentSessions'],
  now: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO identity.credential (user_id, institution_id, concurrent_sessions, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id) DO UPDATE SET concurrent_sessions = EXCLUDED.concurrent_sessions, updated_at = EXCLUDED.updated_at`,
    [userId, institutionId, policy, now],
  );
}

/** Does anyone in the institution hold a local password (the login page then offers its form)? */
export async function institutionHasPasswords(db: Queryable, institutionId: string): Promise<boolean> {
  const r = await db.maybeOne('SELECT 1 AS yes FROM identity.credential WHERE institution_id = $1 AND hash IS NOT NULL LIMIT 1', [institutionId]);
  return r !== undefined;
}

/** Break-glass accounts: their every sign-in is announced (domain/identity/break-glass.ts). */
export async function isBreakGlass(db: Queryable, userId: string): Promise<boolean> {
  const r = await db.maybeOne<{ break_glass: boolean }>('SELECT break_glass FROM identity.credential WHERE user_id = $1', [userId]);
  return r?.break_glass === true;
}

/** Marks or unmarks; a user without a password still gets a row to hold the mark. The previous value. */
export async function setBreakGlass(db: Queryable, userId: string, institutionId: string, on: boolean, now: Date): Promise<boolean> {
  const before = await isBreakGlass(db, userId);
  await db.query(
    `INSERT INTO identity.credential (user_id, institution_id, break_glass, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id) DO UPDATE SET break_glass = EXCLUDED.break_glass, updated_at = EXCLUDED.updated_at`,
    [userId, institutionId, on, now],
  );
  return before;
}

export interface SignInStatusRow {
  hasPassword: boolean;
  mustChange: boolean;
  /** An imported hash not yet re-hashed to argon2id (legacy-hashes.ts). */
  legacy: boolean;
  passwordChangedAt: Date | null;
  lastLoginAt: Date | null;
  guessDebtUntil: Date | null;
  throttleResetAt: Date | null;
  breakGlass: boolean;
}

/** What the staff console shows of a credential: facts about it, never the hash or its algorithm. */
export async function findSignInStatus(db: Queryable, userId: string): Promise<SignInStatusRow | undefined> {
  return db.maybeOne<SignInStatusRow & Row>(
    `SELECT hash IS NOT NULL AS "hasPassword", must_change AS "mustChange", legacy, password_changed_at AS "passwordChangedAt",
       last_login_at AS "lastLoginAt", guess_debt_until AS "guessDebtUntil", throttle_reset_at AS "throttleResetAt", break_glass AS "breakGlass"
     FROM identity.credential WHERE user_id = $1`,
    [userId],
  );
}

export interface BreakGlassAccountRow {
  id: string;
  primaryId: string;
  firstName: string | null;
  lastName: string | null;
  status: string;
  accountType: string;
  recordType: string;
  /** A password is stored; whether it lets the user in is the login's rule (domain). */
  hasPassword: boolean;
  /** The newest 'sign_in' audit event of the user (any method), if any. */
  lastSignIn: Date | null;
}

/**
 * The institution's break-glass accounts, by name. A handful by nature (the back-up admins), so
 * no paging; the last sign-in is read backwards along audit_event_entity (entity_id, id) per row.
 */
export async function listBreakGlassAccounts(db: Queryable, institutionId: string): Promise<BreakGlassAccountRow[]> {
  return db.query<BreakGlassAccountRow & Row>(
    `SELECT u.id, u.primary_id AS "primaryId", u.first_name AS "firstName", u.last_name AS "lastName", u.status,
       u.account_type AS "accountType", u.record_type AS "recordType", c.hash IS NOT NULL AS "hasPassword",
       (SELECT a.occurred_at FROM audit_event a WHERE a.entity_id = u.id AND a.action = 'sign_in' ORDER BY a.id DESC LIMIT 1) AS "lastSignIn"
     FROM identity.credential c JOIN app_user u ON u.id = c.user_id AND u.institution_id = c.institution_id
     WHERE c.institution_id = $1 AND c.break_glass
     ORDER BY lower(u.last_name), lower(u.first_name), lower(u.primary_id), u.id`,
    [institutionId],
  );
}
