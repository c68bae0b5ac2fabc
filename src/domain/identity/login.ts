// Password login: any of the user's identifiers plus the password (Alma's Identity Service rule).
// Used by op=auth and by the login pages. Every failure looks the same to the caller, with the
// same work done (one argon2 verify), whether the user is unknown, has no password, is throttled,
// or typed the wrong password. Throttling, and why no anonymous party can lock the owner out:
// throttle.ts.
import type { Db } from '../../db/database.js';
import { recordCredentialSuccess, replaceHash } from '../../db/queries/identity-credentials.js';
import {
  clearCounter,
  countFailures,
  findLoginCandidate,
  findLoginState,
  pruneLoginRecords,
  recordLoginFailure,
  rememberAddress,
  type LoginCandidate,
} from '../../db/queries/identity-login.js';
import { findUserById } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { DEFAULT_INSTITUTION_SETTINGS } from '../../model/institution.js';
import type { User } from '../../model/user.js';
import { acceptablePassword, type Credentials } from './credentials.js';
import { auditIdentity } from './identity-audit.js';
import { parseHash } from './legacy-hashes.js';
import type { PasswordHasher } from './password-hasher.js';
import { normalizePassword, passwordPolicyViolation } from './password-policy.js';
import {
  addressBucket,
  addressKey,
  admits,
  KNOWN_ADDRESS_DAYS,
  KNOWN_ADDRESS_REFRESH_MS,
  MAX_PAIR_REFUSAL_SECONDS,
  nameKey,
  pairKey,
  pairKeyAround,
  sourceName,
  sourceOf,
  throttleRule,
  type Source,
} from './throttle.js';

export type LoginResult =
  | { outcome: 'ok'; user: User }
  /** The password was right, and the user must choose a new one before doing anything else. */
  | { outcome: 'must_change'; user: User }
  /** Never says why. */
  | { outcome: 'failed' };

export type CheckOutcome = 'ok' | 'must_change' | 'failed';

export interface LoginDeps {
  db: Db;
  hasher: PasswordHasher;
  clock: () => Date;
  credentials: Credentials;
  addressMaxFailures: number;
  addressWindowMinutes: number;
}

const FAILED: LoginResult = { outcome: 'failed' };

export function createLogin({ db, hasher, clock, credentials, addressMaxFailures, addressWindowMinutes }: LoginDeps) {
  let lastPrune = 0;

  /** Verifies a stored hash: argon2id directly, legacy formats with a decoy argon2 verify beside. */
  async function verifyStored(cred: { hash: string; legacy: boolean }, password: string, raw: string) {
    if (!cred.legacy) return hasher.verify(cred.hash, password);
    let parsed;
    try {
      // Imported argon2 hashes verify on the hasher's threads too, below the event loop.
      parsed = parseHash(cred.hash, async (stored, pw) => (await hasher.verify(stored, pw)).ok);
    } catch {
      await hasher.verifyDummy(password);
      return { ok: false, needsRehash: false };
    }
    // A fast legacy hash (MD5-crypt, SSHA) must not answer faster than argon2 would.
    const [nfc] = await Promise.all([parsed.verify(password), hasher.verifyDummy(password)]);
    // The old system may have hashed what the keyboard sent, decomposed or not.
    const ok = nfc || (raw !== password && (await parsed.verify(raw)));
    return { ok, needsRehash: ok };
  }

  /**
   * One statement whatever the failure (see recordLoginFailure): an unknown user, a user without
   * a password, a refused attempt and a wrong password make the same round trip and the same kind
   * of write. Only a wrong password that was verified (`guessed`) is charged to the account.
   */
  async function recordFailure(found: LoginCandidate | undefined, name: string, source: Source | null, guessed: boolean, now: Date) {
    const rule = throttleRule(found?.state.settings ?? DEFAULT_INSTITUTION_SETTINGS);
    const user = guessed ? found?.user : undefined;
    await recordLoginFailure(db, {
      now,
      account: user ? { userId: user.id, intervalSeconds: rule.accountIntervalSeconds } : null,
      name: { key: name, windowSeconds: rule.lockSeconds },
      address: source?.kind === 'address' ? { key: addressKey(source.bucket), windowSeconds: addressWindowMinutes * 60 } : null,
      // Not a guess (unknown user, refused attempt): a decoy streak under the name, so that every
      // failure from a source writes the same rows as a counted one.
      pair: source
        ? {
            key: user ? pairKey(user.id, sourceName(source)) : `${name}:${sourceName(source)}`,
            max: rule.pairMax,
            free: rule.pairFree,
            lockSeconds: rule.lockSeconds,
            maxRefusalSeconds: MAX_PAIR_REFUSAL_SECONDS,
            resetAt: (user && found?.state.credential?.throttleResetAt) || null,
          }
        : null,
    });
    if (now.getTime() - lastPrune > 600_000) {
      lastPrune = now.getTime();
      await pruneLoginRecords(db, new Date(now.getTime() - 86_400_000), new Date(now.getTime() - KNOWN_ADDRESS_DAYS * 86_400_000));
    }
  }

  async function recordSuccess(found: LoginCandidate, source: Source | null, password: string, legacy: boolean, needsRehash: boolean, now: Date) {
    const userId = found.user!.id;
    const { state } = found;
    const cred = state.credential!;
    // Most logins change nothing here: skip the round trip unless a stale last-login time needs writing.
    const stale = !cred.lastLoginAt || cred.lastLoginAt.getTime() < now.getTime() - 3_600_000;
    if (stale) await recordCredentialSuccess(db, userId, now);
    if (source) {
      // The source becomes familiar: the account's budget no longer refuses it (throttle.ts).
      if (!state.knownAt || state.knownAt.getTime() < now.getTime() - KNOWN_ADDRESS_REFRESH_MS) await rememberAddress(db, userId, sourceName(source), now);
      if (state.pairFailures > 0) await clearCounter(db, pairKey(userId, sourceName(source)));
    }
    let mustChange = cred.mustChange;
    if (needsRehash) {
      // A legacy password that fails today's policy still lets its owner in, straight into a
      // forced change, instead of stranding them (Alma's 2019 migration dropped such passwords).
      const user = legacy ? await findUserById(db, userId) : undefined;
      const weak = !!user && (await passwordPolicyViolation(password, user, state.settings)) !== undefined;
      mustChange ||= weak;
      await replaceHash(db, userId, cred.hash!, { algorithm: 'argon2id', hash: await hasher.hash(password), mustChange: weak, now });
    }
    return mustChange;
  }

  /** One attempt against what the database said about it, with every check and counter. */
  async function attempt(found: LoginCandidate | undefined, name: string, raw: unknown, source: Source | null, now: Date): Promise<CheckOutcome> {
    const password = normalizePassword(raw);
    const user = found?.user;
    let candidate: { hash: string; legacy: boolean } | undefined;
    if (found && user && password !== undefined && user.status === 'ACTIVE') {
      const { state } = found;
      const cred = state.credential;
      const allowed = user.accountType === 'INTERNAL' || state.settings.externalPasswordFallback;
      if (allowed && cred?.hash) {
        const throttle = {
          knownAt: source ? state.knownAt : null,
          pairRefuseUntil: state.pairRefuseUntil,
          guessDebtUntil: cred.guessDebtUntil,
          addressFailures: found.addressFailures,
        };
        if (admits(throttle, throttleRule(state.settings), now, addressMaxFailures)) candidate = { hash: cred.hash, legacy: cred.legacy };
      }
    }
    if (!candidate || password === undefined) {
      await hasher.verifyDummy(password ?? 'x');
      await recordFailure(found, name, source, false, now);
      return 'failed';
    }
    const { ok, needsRehash } = await verifyStored(candidate, password, raw as string);
    if (!ok) {
      await recordFailure(found, name, source, true, now);
      return 'failed';
    }
    return (await recordSuccess(found!, source, password, candidate.legacy, needsRehash, now)) ? 'must_change' : 'ok';
  }

  /** The login of whoever `identifier` names in the institution; the user's id on success. */
  async function byIdentifier(institutionId: string, identifier: unknown, password: unknown, source: Source | null) {
    const now = clock();
    const id = typeof identifier === 'string' ? identifier.trim() : '';
    const query = source
      ? {
          name: sourceName(source),
          pairKey: pairKeyAround(sourceName(source)),
          addressKey: source.kind === 'address' ? addressKey(source.bucket) : null,
          since: new Date(now.getTime() - addressWindowMinutes * 60_000),
        }
      : null;
    const found = id && id.length <= 255 ? await findLoginCandidate(db, institutionId, id, query) : undefined;
    return { outcome: await attempt(found, nameKey(institutionId, id), password, source, now), userId: found?.user?.id };
  }

  return {
    /** Any identifier of the user in this institution, and the password; clientAddress is the browser's. */
    async verifyLogin(institutionId: string, identifier: string, password: unknown, clientAddress: string | null): Promise<LoginResult> {
      const { outcome, userId } = await byIdentifier(institutionId, identifier, password, sourceOf(clientAddress));
      if (outcome === 'failed') return FAILED;
      const user = await findUserById(db, userId!);
      return user ? { outcome, user } : FAILED;
    },

    /** The same check without loading the user record (op=auth), from a source throttle.ts: sourceOf gave. */
    async checkPassword(institutionId: string, identifier: string, password: unknown, source: Source | null): Promise<CheckOutcome> {
      return (await byIdentifier(institutionId, identifier, password, source)).outcome;
    },

    /**
     * The user's own change (the forced change after login, or a change they chose): the current
     * password must be right, counted like a login; the new one must pass the policy and differ.
     */
    async changePassword(
      userId: string,
      current: unknown,
      next: unknown,
      opts: { clientAddress?: string | null; keepSessionId?: string } = {},
    ): Promise<void> {
      const now = clock();
      const user = await findUserById(db, userId);
      const source = sourceOf(opts.clientAddress);
      const bucket = addressBucket(opts.clientAddress);
      let found: LoginCandidate | undefined;
      if (user) {
        const state = await findLoginState(db, user.id, user.institutionId, source && sourceName(source), source && pairKey(user.id, sourceName(source)));
        const since = new Date(now.getTime() - addressWindowMinutes * 60_000);
        const addressFailures = bucket ? await countFailures(db, addressKey(bucket), since) : 0;
        if (state) found = { user: { id: user.id, status: user.status, accountType: user.accountType }, state, addressFailures };
      }
      const outcome = user ? await attempt(found, nameKey(user.institutionId, user.id), current, source, now) : 'failed';
      if (!user || outcome === 'failed') throw new AppError('AUTHENTICATION_FAILED');
      await db.transaction(async (tx) => {
        const fresh = (await findUserById(tx, user.id, true))!;
        const settings = (await findLoginState(tx, fresh.id, fresh.institutionId, null, null))!.settings;
        const password = await acceptablePassword(next, fresh, settings);
        if (password === normalizePassword(current)) {
          throw new AppError('PASSWORD_POLICY', { reason: 'It must differ from your current password.' });
        }
        await credentials.storePassword(tx, fresh, password, { forceChange: false, keepSessionId: opts.keepSessionId }, settings);
        await auditIdentity(tx, { kind: 'self' }, 'credential.password_changed', fresh);
      });
    },
  };
}

export type Login = ReturnType<typeof createLogin>;
