// API keys: `carrel_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 of the secret is
// stored and compared in constant time. A key is high-entropy, so a fast hash is the right one.
//
// Revocation. A verified key is cached for cacheMs, so a busy client costs no query per request.
// A revocation drops the key from this server's cache at once, and NOTIFYs the other servers on the
// database in the revoking statement (carrel_api_key_revoked); each LISTENs and drops it too. If
// a server's listening connection was lost, it clears its whole cache when it is back, since it
// may have missed revocations. cacheMs stays the upper bound on any server whatever happens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/database.js';
import {
  API_KEY_REVOKED_CHANNEL,
  findApiKeyByPrefix,
  findApiKeyListing,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  revokeApiKeysByLabel,
  setApiKeyTrustsClientAddress,
  touchApiKey,
  type ApiKeyListing,
} from '../../db/queries/api-keys.js';
import { AppError } from '../../errors.js';
import type { Actor } from './actor.js';

const KEY_SHAPE = /^carrel_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface ApiKeyServiceOptions {
  /** How long a verified key is trusted without asking the database: the bound on a revocation's delay. */
  cacheMs?: number;
}

export function createApiKeyService(db: Db, { cacheMs = 5_000 }: ApiKeyServiceOptions = {}) {
  // Keyed by a hash of the whole key: the cache never holds a usable secret.
  const verified = new Map<string, { actor: Actor; keyId: string; until: number }>();
  const touched = new Map<string, number>();
  // Bumped by every invalidation: a lookup that started before one must not cache what it read.
  let generation = 0;
  const forget = (keyId: string | null) => {
    generation += 1;
    if (keyId === null) return verified.clear();
    for (const [k, v] of verified) if (v.keyId === keyId) verified.delete(k);
  };

  return {
    /**
     * trustClientAddress: op=auth with this key may name the end user's address, which then
     * throttles per end user instead of per key (identity/throttle.ts). Only for an application
     * that takes it from its own connection, never from what its clients send.
     */
    async create(
      institutionId: string,
      opts: { readOnly: boolean; label?: string | undefined; trustClientAddress?: boolean },
    ): Promise<{ id: string; key: string }> {
      const prefix = randomBytes(6).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const id = await insertApiKey(db, {
        institutionId,
        prefix,
        secretHash: sha256(secret),
        readOnly: opts.readOnly,
        label: opts.label ?? null,
        trustsClientAddress: opts.trustClientAddress === true,
      });
      return { id, key: `carrel_${prefix}_${secret}` };
    },

    /** The actor a key stands for, or undefined for any key that is not valid now. */
    async authenticate(key: string): Promise<Actor | undefined> {
      const cacheKey = sha256(key).toString('hex');
      const hit = verified.get(cacheKey);
      if (hit && hit.until > Date.now()) return hit.actor;
      const m = KEY_SHAPE.exec(key);
      if (!m) return undefined;
      const seen = generation;
      const row = await findApiKeyByPrefix(db, m[1]!);
      const given = sha256(m[2]!);
      // Compare even when no row was found, so timing does not tell which prefixes exist.
      const stored = row ? Buffer.from(row.secret_hash) : Buffer.alloc(32);
      const equal = timingSafeEqual(stored, given);
      if (!row || !equal || row.revoked_at) return undefined;
      const actor: Actor = {
        kind: 'apiKey',
        id: row.id,
        institutionId: row.institution_id,
        readOnly: row.read_only,
        label: row.label ?? `api key ${row.prefix}`,
        trustsClientAddress: row.trusts_client_address,
      };
      if (verified.size > 10_000) verified.clear();
      if (seen === generation) verified.set(cacheKey, { actor, keyId: row.id, until: Date.now() + cacheMs });
      // last_used_at is for humans deciding what to revoke: once a minute per key is plenty.
      if ((touched.get(row.id) ?? 0) < Date.now() - 60_000) {
        touched.set(row.id, Date.now());
        touchApiKey(db, row.id).catch(() => {});
      }
      return actor;
    },

    /** Starts listening for revocations made by other servers (and the CLI). */
    async listen(): Promise<void> {
      await db.listen(API_KEY_REVOKED_CHANNEL, (id) => forget(id || null), () => forget(null));
    },

    list: (institutionId: string): Promise<ApiKeyListing[]> => listApiKeys(db, institutionId),

    /** Revokes one of the institution's keys by prefix or id; false when it was revoked already. */
    async revoke(institutionId: string, prefixOrId: string): Promise<{ key: ApiKeyListing; revoked: boolean }> {
      const key = await findApiKeyListing(db, institutionId, prefixOrId);
      if (!key) throw new AppError('NOT_FOUND', { entity: 'API key', id: prefixOrId });
      const revoked = (await revokeApiKey(db, key.id)).length === 1;
      forget(key.id);
      return { key, revoked };
    },

    /** Marks one of the institution's keys trusted (or not) to name the end user's address. */
    async setTrustsClientAddress(institutionId: string, prefixOrId: string, trusts: boolean): Promise<ApiKeyListing> {
      const key = await findApiKeyListing(db, institutionId, prefixOrId);
      if (!key) throw new AppError('NOT_FOUND', { entity: 'API key', id: prefixOrId });
      await setApiKeyTrustsClientAddress(db, key.id, trusts);
      forget(key.id);
      return { ...key, trustsClientAddress: trusts };
    },

    async revokeLabelled(institutionId: string, label: string): Promise<number> {
      const ids = await revokeApiKeysByLabel(db, institutionId, label);
      for (const id of ids) forget(id);
      return ids.length;
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
