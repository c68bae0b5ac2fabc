// SQL for identity.session. The cookie value is never stored: rows are found by its SHA-256.
import type { Queryable, Row } from '../database.js';
import { auditEventInsert, type AuditEventInput } from './audit-events.js';

export interface SessionRow {
  id: string;
  userId: string;
  institutionId: string;
  authMethod: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  userAgent: string | null;
  clientAddress: string | null;
}

const COLUMNS = `id, user_id AS "userId", institution_id AS "institutionId", auth_method AS "authMethod",
  created_at AS "createdAt", last_seen_at AS "lastSeenAt", expires_at AS "expiresAt", revoked_at AS "revokedAt",
  user_agent AS "userAgent", client_address AS "clientAddress"`;

export async function insertSession(
  db: Queryable,
  s: { idHash: Buffer; userId: string; institutionId: string; authMethod: string; now: Date; expiresAt: Date; userAgent: string | null; clientAddress: string | null },
): Promise<SessionRow> {
  return db.one<SessionRow & Row>(
    `INSERT INTO identity.session (id_hash, user_id, institution_id, auth_method, created_at, last_seen_at, expires_at, user_agent, client_address)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [s.idHash, s.userId, s.institutionId, s.authMethod, s.now, s.expiresAt, s.userAgent, s.clientAddress],
  );
}

/** What a sign-in needs to know before it begins a session, read in one round trip (findSignInState). */
export interface SignInState {
  concurrentSessions: 'allow' | 'warn' | 'refuse';
  /** The local password must be changed (identity.credential.must_change). */
  mustChange: boolean;
  breakGlass: boolean;
  /** The user's live sessions other than the browser's previous one. */
  others: number;
  /** The browser's previous session (live, whoever's it is), which the sign-in ends. */
  previous: { id: string; userId: string } | undefined;
}

/**
 * Before a sign-in begins a session: the account's session policy and flags (identity.credential;
 * defaults when the user has no row) and live sessions, and the browser's previous session by the
 * SHA-256 of its cookie (none asked for: null).
 */
export async function findSignInState(db: Queryable, userId: string, now: Date, previousHash: Buffer | null): Promise<SignInState> {
  const r = await db.one(
    `SELECT c.concurrent_sessions, c.must_change, c.break_glass, p.id AS previous_id, p.user_id AS previous_user_id,
       (SELECT count(*) FROM identity.session s WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
          AND s.id IS DISTINCT FROM p.id) AS others
     FROM (SELECT 1) AS one
     LEFT JOIN identity.credential c ON c.user_id = $1
     LEFT JOIN identity.session p ON p.id_hash = $3 AND p.revoked_at IS NULL AND p.expires_at > $2`,
    [userId, now, previousHash],
    { name: 'identity-sign-in-state' },
  );
  return {
    concurrentSessions: (r.concurrent_sessions as SignInState['concurrentSessions'] | null) ?? 'allow',
    mustChange: r.must_change === true,
    breakGlass: r.break_glass === true,
    others: Number(r.others),
    previous: r.previous_id ? { id: r.previous_id as string, userId: r.previous_user_id as string } : undefined,
  };
}

/**
 * A sign-in's writes in one statement, so one round trip and one commit: the browser's previous
 * session ends (revokeId), the new one (its id chosen by the caller, so the audit event can name
 * it) begins, and the sign-in's audit event is written. All or nothing.
 */
export async function beginSession(
  db: Queryable,
  s: { id: string; idHash: Buffer; userId: string; institutionId: string; authMethod: string; now: Date; expiresAt: Date; userAgent: string | null; clientAddress: string | null; revokeId: string | null },
  audit: AuditEventInput,
): Promise<SessionRow> {
  const event = auditEventInsert(audit, 11);
  return db.one<SessionRow & Row>(
    `WITH revoked AS (
       UPDATE identity.session SET revoked_at = $6 WHERE id = $10::uuid AND revoked_at IS NULL RETURNING 1),
     s AS (
       INSERT INTO identity.session (id, id_hash, user_id, institution_id, auth_method, created_at, last_seen_at, expires_at, user_agent, client_address)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING ${COLUMNS}),
     audit AS (${event.sql})
     SELECT * FROM s`,
    [s.id, s.idHash, s.userId, s.institutionId, s.authMethod, s.now, s.expiresAt, s.userAgent, s.clientAddress, s.revokeId, ...event.params],
  );
}

export async function findLiveSessionByHash(db: Queryable, idHash: Buffer, now: Date): Promise<SessionRow | undefined> {
  return db.maybeOne<SessionRow & Row>(
    `SELECT ${COLUMNS} FROM identity.session WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2`,
    [idHash, now],
  );
}

export async function listLiveSessions(db: Queryable, userId: string, now: Date): Promise<SessionRow[]> {
  return db.query<SessionRow & Row>(
    `SELECT ${COLUMNS} FROM identity.session WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
     ORDER BY last_seen_at DESC`,
    [userId, now],
  );
}

/** Revokes the user's live sessions: one (sessionId), or all but one (exceptId), or all. */
export async function revokeSessions(
  db: Queryable,
  userId: string,
  now: Date,
  opts: { sessionId?: string | undefined; exceptId?: string | undefined } = {},
): Promise<number> {
  const rows = await db.query(
    `UPDATE identity.session SET revoked_at = $2
     WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
       AND ($3::uuid IS NULL OR id = $3) AND ($4::uuid IS NULL OR id <> $4) RETURNING id`,
    [userId, now, opts.sessionId ?? null, opts.exceptId ?? null],
  );
  return rows.length;
}

/** Marks a session as used now (the idle timeout counts from here). */
export async function touchSession(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('UPDATE identity.session SET last_seen_at = $2 WHERE id = $1', [id, now]);
}
