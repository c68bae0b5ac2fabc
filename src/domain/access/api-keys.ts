// API keys: `carrel_<prefix>_<secret>`. The prefix finds the row; only a SHA-256 of the secret is
// stored and compared in constant time. A key is high-entropy, so a fast hash is the right one.
//
// Managing keys (list, create, label, rotate, revoke: /api/v1/api-keys and `carrel apikey`) is
// config:manage of the key's institution, and audited (api_key.*); a key of another institution
// is not found. Rotation gives a live key a new prefix and secret in one statement that NOTIFYs
// like a revocation, so the old secret stops at once everywhere; the new one is shown once.
//
// Last used. authenticate() writes last_used_at at most once a minute per key per server (a map
// of key id to the last write, the write not awaited), and a key verified within cacheMs is not
// looked up at all: op=auth at thousands a second costs one UPDATE a minute per key, not one per
// request. The column is for a person deciding what to revoke; a minute's precision is plenty.
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
  rotateApiKey,
  setApiKeyLabel,
  setApiKeyTrustsClientAddress,
  touchApiKey,
  type ApiKeyListing,
} from '../../db/queries/api-keys.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { AppError } from '../../errors.js';
import { shownText, unsafeTextReason } from '../../model/safe-text.js';
import { auditActor } from '../audit/audit.js';
import { authorize, type Actor } from './actor.js';

const KEY_SHAPE = /^carrel_([a-f0-9]{12})_([A-Za-z0-9_-]{43})$/;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** A new key's two parts: the prefix finds the row, only the secret's hash is kept. */
function newSecret(): { prefix: string; secret: string } {
  return { prefix: randomBytes(6).toString('hex'), secret: randomBytes(32).toString('base64url') };
}

/** What a key is for, in a person's words: up to 200 characters of plain text, or none. */
function labelOf(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const bad = (reason: string) => new AppError('INVALID_VALUE', { field: 'label', value: shownText(String(raw)), reason });
  if (typeof raw !== 'string') throw bad('a string');
  const label = raw.trim();
  if (label.length > 200) throw bad('at most 200 characters');
  const unsafe = unsafeTextReason(label);
  if (unsafe) throw bad(unsafe);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(label)) throw bad('control characters are not allowed');
  return label || null;
}

export interface NewApiKey {
  readOnly?: boolean;
  label?: string | null;
  trustClientAddress?: boolean;
}

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
    // A rotated key's new secret records its first use at once.
    touched.delete(keyId);
    for (const [k, v] of verified) if (v.keyId === keyId) verified.delete(k);
  };

  /** One of the institution's keys for one who may manage them; another institution's is not found. */
  async function keyFor(actor: Actor, institutionId: string, ref: string): Promise<ApiKeyListing> {
    authorize(actor, 'config:manage', institutionId);
    const key = await findApiKeyListing(db, institutionId, ref);
    if (!key) throw new AppError('NOT_FOUND', { entity: 'API key', id: shownText(ref) });
    return key;
  }

  async function audit(actor: Actor, institutionId: string, action: string, key: Pick<ApiKeyListing, 'id' | 'prefix' | 'label'>, changes: Record<string, { before: unknown; after: unknown }>) {
    await insertAuditEvent(db, {
      institutionId,
      ...auditActor(actor),
      action,
      entityType: 'api_key',
      entityId: key.id,
      entityLabel: key.label ?? key.prefix,
      changes,
    });
  }

  // Named, so its methods may call one another whoever holds them (no `this`).
  const service = {
    /**
     * trustClientAddress: op=auth with this key may name the end user's address, which then
     * throttles per end user instead of per key (identity/throttle.ts). Only for an application
     * that takes it from its own connection, never from what its clients send.
     */
    async create(
      institutionId: string,
      opts: { readOnly: boolean; label?: string | undefined; trustClientAddress?: boolean },
    ): Promise<{ id: string; key: string }> {
      const { prefix, secret } = newSecret();
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

    /** The institution's keys (never a secret or its hash), for one who may manage them. */
    async listFor(actor: Actor, institutionId: string): Promise<ApiKeyListing[]> {
      authorize(actor, 'config:manage', institutionId);
      return listApiKeys(db, institutionId);
    },

    /** A new key; the answer holds the key, which is shown this once and never again. */
    async createFor(actor: Actor, institutionId: string, input: NewApiKey): Promise<{ key: string; listing: ApiKeyListing }> {
      authorize(actor, 'config:manage', institutionId);
      const label = labelOf(input.label);
      const opts = { readOnly: input.readOnly === true, label, trustClientAddress: input.trustClientAddress === true };
      const created = await service.create(institutionId, { ...opts, label: label ?? undefined });
      const listing = (await findApiKeyListing(db, institutionId, created.id))!;
      await audit(actor, institutionId, 'api_key.create', listing, {
        label: { before: null, after: label },
        readOnly: { before: null, after: opts.readOnly },
        trustsClientAddress: { before: null, after: opts.trustClientAddress },
      });
      return { key: created.key, listing };
    },

    async labelFor(actor: Actor, institutionId: string, ref: string, rawLabel: unknown): Promise<ApiKeyListing> {
      const key = await keyFor(actor, institutionId, ref);
      const label = labelOf(rawLabel);
      if (label !== key.label) {
        await setApiKeyLabel(db, key.id, label);
        forget(key.id);
        await audit(actor, institutionId, 'api_key.label', { ...key, label: label ?? key.label }, { label: { before: key.label, after: label } });
      }
      return { ...key, label };
    },

    /** A new secret (and prefix) for a live key; the old one stops at once on every server. */
    async rotateFor(actor: Actor, institutionId: string, ref: string): Promise<{ key: string; listing: ApiKeyListing }> {
      const key = await keyFor(actor, institutionId, ref);
      if (key.revokedAt) throw new AppError('API_KEY_REVOKED', { id: key.id });
      const { prefix, secret } = newSecret();
      if (!(await rotateApiKey(db, key.id, prefix, sha256(secret)))) throw new AppError('API_KEY_REVOKED', { id: key.id });
      forget(key.id);
      const listing = (await findApiKeyListing(db, institutionId, key.id))!;
      await audit(actor, institutionId, 'api_key.rotate', listing, { prefix: { before: key.prefix, after: prefix } });
      return { key: `carrel_${prefix}_${secret}`, listing };
    },

    /** Revokes; revoking a revoked key again changes nothing and is not audited again. */
    async revokeFor(actor: Actor, institutionId: string, ref: string): Promise<{ key: ApiKeyListing; revoked: boolean }> {
      const key = await keyFor(actor, institutionId, ref);
      const revoked = (await revokeApiKey(db, key.id)).length === 1;
      forget(key.id);
      if (revoked) await audit(actor, institutionId, 'api_key.revoke', key, { revoked: { before: false, after: true } });
      return { key, revoked };
    },

    async revokeLabelled(institutionId: string, label: string): Promise<number> {
      const ids = await revokeApiKeysByLabel(db, institutionId, label);
      for (const id of ids) forget(id);
      return ids.length;
    },
  };
  return service;
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;
