// SQL for identity.token: one-time links, looked up by the SHA-256 of the token.
import type { Queryable, Row } from '../database.js';

/**
 * 'unlock' (migration 0007): lifts every sign-in block on the account, once (identity/throttle.ts).
 * 'social_invite' (migration 0011): Alma's invitation to bind a social account on first use.
 */
export type TokenKind = 'reset' | 'set_password' | 'email_login' | 'unlock' | 'social_invite';

export interface TokenRow {
  id: string;
  kind: TokenKind;
  userId: string;
  institutionId: string;
  expiresAt: Date;
}

export async function insertToken(
  db: Queryable,
  t: { tokenHash: Buffer; kind: TokenKind; userId: string; institutionId: string; expiresAt: Date; now: Date },
): Promise<string> {
  const r = await db.one<{ id: string }>(
    `INSERT INTO identity.token (token_hash, kind, user_id, institution_id, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [t.tokenHash, t.kind, t.userId, t.institutionId, t.expiresAt, t.now],
  );
  return r.id;
}

/** Unused tokens of the user (of one kind, or all) stop working: a newer link or a new password. */
export async function invalidateTokens(db: Queryable, userId: string, kind: TokenKind | null): Promise<number> {
  const rows = await db.query(
    'DELETE FROM identity.token WHERE user_id = $1 AND used_at IS NULL AND ($2::text IS NULL OR kind = $2) RETURNING id',
    [userId, kind],
  );
  return rows.length;
}

/** The unused, unexpired token with this hash, locked until the transaction ends. */
export async function findLiveToken(db: Queryable, tokenHash: Buffer, now: Date): Promise<TokenRow | undefined> {
  return db.maybeOne<TokenRow & Row>(
    `SELECT id, kind, user_id AS "userId", institution_id AS "institutionId", expires_at AS "expiresAt"
     FROM identity.token WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 FOR UPDATE`,
    [tokenHash, now],
  );
}

/** Single use: false when another request used it first. */
export async function markTokenUsed(db: Queryable, id: string, now: Date): Promise<boolean> {
  const rows = await db.query('UPDATE identity.token SET used_at = $2 WHERE id = $1 AND used_at IS NULL RETURNING id', [id, now]);
  return rows.length === 1;
}

/** The unused, unexpired token with this id, locked until the transaction ends (a link kept in a sign-in flow). */
export async function findLiveTokenById(db: Queryable, id: string, now: Date): Promise<TokenRow | undefined> {
  return db.maybeOne<TokenRow & Row>(
    `SELECT id, kind, user_id AS "userId", institution_id AS "institutionId", expires_at AS "expiresAt"
     FROM identity.token WHERE id = $1 AND used_at IS NULL AND expires_at > $2 FOR UPDATE`,
    [id, now],
  );
}
