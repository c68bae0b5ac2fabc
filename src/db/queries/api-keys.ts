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
  trusts_client_address: boolean;
}

export async function insertApiKey(
  db: Queryable,
  k: { institutionId: string; prefix: string; secretHash: Buffer; readOnly: boolean; label: string | null; trustsClientAddress: boolean },
): Promise<string> {
  const row = await db.one<{ id: string }>(
    `INSERT INTO api_key (institution_id, prefix, secret_hash, read_only, label, trusts_client_address) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [k.institutionId, k.prefix, k.secretHash, k.readOnly, k.label, k.trustsClientAddress],
  );
  return row.id;
}

export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<ApiKeyRow | undefined> {
  return db.maybeOne<ApiKeyRow & Record<string, unknown>>(
    'SELECT id, institution_id, prefix, secret_hash, read_only, label, revoked_at, trusts_client_address FROM api_key WHERE prefix = $1',
    [prefix],
  );
}

export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE api_key SET last_used_at = now() WHERE id = $1', [id]);
}

/** The channel every server LISTENs on; the payload is the revoked key's id. */
export const API_KEY_REVOKED_CHANNEL = 'carrel_api_key_revoked';

/**
 * Revokes, and tells every server in the same statement (so in the same transaction: the NOTIFY
 * is delivered only when the revocation is committed, and always then). Returns the ids revoked.
 */
async function revokeWhere(db: Queryable, where: string, params: unknown[]): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `WITH revoked AS (UPDATE api_key SET revoked_at = now() WHERE ${where} AND revoked_at IS NULL RETURNING id)
     SELECT id, pg_notify('${API_KEY_REVOKED_CHANNEL}', id::text) FROM revoked`,
    params,
  );
  return rows.map((r) => r.id);
}

export const revokeApiKey = (db: Queryable, id: string) => revokeWhere(db, 'id = $1', [id]);

/**
 * A new prefix and secret for a live key, keeping its id, label and access. The old secret stops
 * at once: the row no longer has its prefix, and the NOTIFY (as for a revocation) drops every
 * server's cached verification of it. last_used_at starts again. Returns whether a key changed.
 */
export async function rotateApiKey(db: Queryable, id: string, prefix: string, secretHash: Buffer): Promise<boolean> {
  const rows = await db.query(
    `WITH rotated AS (UPDATE api_key SET prefix = $2, secret_hash = $3, rotated_at = now(), last_used_at = NULL
       WHERE id = $1 AND revoked_at IS NULL RETURNING id)
     SELECT id, pg_notify('${API_KEY_REVOKED_CHANNEL}', id::text) FROM rotated`,
    [id, prefix, secretHash],
  );
  return rows.length === 1;
}

export async function setApiKeyLabel(db: Queryable, id: string, label: string | null): Promise<void> {
  await db.query('UPDATE api_key SET label = $2 WHERE id = $1', [id, label]);
}

export const revokeApiKeysByLabel = (db: Queryable, institutionId: string, label: string) =>
  revokeWhere(db, 'institution_id = $1 AND label = $2', [institutionId, label]);

export interface ApiKeyListing {
  id: string;
  prefix: string;
  label: string | null;
  readOnly: boolean;
  trustsClientAddress: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  rotatedAt: Date | null;
  revokedAt: Date | null;
}

const LISTING = `id, prefix, label, read_only AS "readOnly", trusts_client_address AS "trustsClientAddress", created_at AS "createdAt", last_used_at AS "lastUsedAt",
  rotated_at AS "rotatedAt", revoked_at AS "revokedAt"`;

/** An institution's keys, oldest first: never the secret's hash. */
export async function listApiKeys(db: Queryable, institutionId: string): Promise<ApiKeyListing[]> {
  return db.query<ApiKeyListing & Record<string, unknown>>(`SELECT ${LISTING} FROM api_key WHERE institution_id = $1 ORDER BY created_at, id`, [
    institutionId,
  ]);
}

/** One of an institution's keys by its prefix or its id. */
export async function findApiKeyListing(db: Queryable, institutionId: string, prefixOrId: string, forUpdate = false): Promise<ApiKeyListing | undefined> {
  return db.maybeOne<ApiKeyListing & Record<string, unknown>>(
    `SELECT ${LISTING} FROM api_key WHERE institution_id = $1 AND (prefix = $2 OR id::text = $2)${forUpdate ? ' FOR UPDATE' : ''}`,
    [institutionId, prefixOrId],
  );
}

/** Whether op=auth calls with this key may name the end user's address (throttle.ts). */
export async function setApiKeyTrustsClientAddress(db: Queryable, id: string, trusts: boolean): Promise<void> {
  await db.query('UPDATE api_key SET trusts_client_address = $2 WHERE id = $1', [id, trusts]);
}
