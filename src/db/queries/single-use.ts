// SQL for identity.single_use: a value (an assertion id, a ticket, a code) offered the first time.
import type { Queryable } from '../database.js';

/** True when this key was not seen (or its record has expired); records it until expiresAt. */
export async function claimSingleUse(db: Queryable, keyHash: Buffer, expiresAt: Date, now: Date): Promise<boolean> {
  // An expired record of the same key no longer counts: replace it in the same statement.
  const rows = await db.query(
    `INSERT INTO identity.single_use (key_hash, expires_at) VALUES ($1, $2)
     ON CONFLICT (key_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE identity.single_use.expires_at <= $3
     RETURNING 1 AS claimed`,
    [keyHash, expiresAt, now],
  );
  return rows.length === 1;
}

export async function pruneSingleUse(db: Queryable, now: Date): Promise<void> {
  await db.query('DELETE FROM identity.single_use WHERE expires_at <= $1', [now]);
}
