// API keys: `carrel_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 of the secret is
// stored and compared in constant time. A key is high-entropy, so a fast hash is the right one.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/database.js';
import { findApiKeyByPrefix, insertApiKey, revokeApiKey, revokeApiKeysByLabel, touchApiKey } from '../../db/queries/api-keys.js';
import type { Actor } from './actor.js';

const KEY_SHAPE = /^carrel_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface ApiKeyServiceOptions {
  /** How long a verified key is trusted without asking the database (also the revocation delay). */
  cacheMs?: number;
}

export function createApiKeyService(db: Db, { cacheMs = 10_000 }: ApiKeyServiceOptions = {}) {
  // Keyed by a hash of the whole key: the cache never holds a usable secret.
  const verified = new Map<string, { actor: Actor; until: number }>();
  const touched = new Map<string, number>();

  return {
    async create(institutionId: string, opts: { readOnly: boolean; label?: string | undefined }): Promise<{ id: string; key: string }> {
      const prefix = randomBytes(6).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const id = await insertApiKey(db, {
        institutionId,
        prefix,
        secretHash: sha256(secret),
        readOnly: opts.readOnly,
        label: opts.label ?? null,
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
      };
      if (verified.size > 10_000) verified.clear();
      verified.set(cacheKey, { actor, until: Date.now() + cacheMs });
      // last_used_at is for humans deciding what to revoke: once a minute per key is plenty.
      if ((touched.get(row.id) ?? 0) < Date.now() - 60_000) {
        touched.set(row.id, Date.now());
        touchApiKey(db, row.id).catch(() => {});
      }
      return actor;
    },

    async revoke(id: string): Promise<boolean> {
      verified.clear();
      return revokeApiKey(db, id);
    },

    async revokeLabelled(institutionId: string, label: string): Promise<number> {
      verified.clear();
      return revokeApiKeysByLabel(db, institutionId, label);
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
