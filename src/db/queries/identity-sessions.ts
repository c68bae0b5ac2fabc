// SQL for identity.session. The cookie value is never stored: rows are found by its SHA-256.
import type { Queryable, Row } from '../database.js';

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
