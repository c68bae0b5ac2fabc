// SQL for api_key.
import type { Queryable } from '../database.js';

export interface ApiKeyRow {
  id: string;
  institution_id: string;
  prefix: string;
  secret_hash: Buffer | Uint8Array;
  read_only: boolean;
  label: string | null;
  revoked_at: Date | null;
}

export async function insertApiKey(
  db: Queryable,
  k: { institutionId: string; prefix: string; secretHash: Buffer; readOnly: boolean; label: string | null },
): Promise<string> {
  const row = await db.one<{ id: string }>(
    `INSERT INTO api_key (institution_id, prefix, secret_hash, read_only, label) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [k.institutionId, k.prefix, k.secretHash, k.readOnly, k.label],
  );
  return row.id;
}

export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<ApiKeyRow | undefined> {
  return db.maybeOne<ApiKeyRow & Record<string, unknown>>(
    'SELECT id, institution_id, prefix, secret_hash, read_only, label, revoked_at FROM api_key WHERE prefix = $1',
    [prefix],
  );
}

export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE api_key SET last_used_at = now() WHERE id = $1', [id]);
}

export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  return (await db.query('UPDATE api_key SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id])).length === 1;
}

export async function revokeApiKeysByLabel(db: Queryable, institutionId: string, label: string): Promise<number> {
  return (
    await db.query('UPDATE api_key SET revoked_at = now() WHERE institution_id = $1 AND label = $2 AND revoked_at IS NULL RETURNING id', [
      institutionId,
      label,
    ])
  ).length;
}
