// Password login: any of the user's identifiers plus the password (Alma's Identity Service rule).
// Used by op=auth and by the login pages. Every failure looks the same to the caller, with the
// same work done (one argon2 verify), whether the user is unknown, has no password, is throttled,
// or typed the wrong password. Throttling, and why no anonymous party can lock the owner out:
// throttle.ts.
import type { Db } from '../../db/database.js';
import { recordCredentialSuccess, replaceHash } from '../../db/queries/identity-credentials.js';
import { countFailures, findLoginState, type LoginCandidate } from '../../db/queries/identity-login.js';
import { findUserById } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { SessionUser } from '../../model/user.js';
import { acceptablePassword, type Credentials } from './credentials.js';
import { auditIdentity } from './identity-audit.js';
import { parseHash } from './legacy-hashes.js';
import { mayHavePassword } from './links.js';
import type { Attempt, LoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './password-hasher.js';
import { normalizePassword, passwordPolicyViolation, policyDescription } from './password-policy.js';
import { addressBucket, addressKey, nameKey, pairKey, sourceName, sourceOf, type Source } from './throttle.js';

export type LoginResult =
  | { outcome: 'ok'; user: SessionUser }
  /** The password was right, and the user must choose a new one before doing anything else. */
  | { outcome: 'must_change'; user: SessionUser }
  /** Never says why. */
  | { outcome: 'failed' };

export type CheckOutcome = 'ok' | 'must_change' | 'failed';

export interface LoginDeps {
  db: Db;
  hasher: PasswordHasher;
  clock: () => Date;
  credentials: Credentials;
  /** The limits around every password check (login-throttle.ts), shared with the LDAP method. */
  throttle: LoginThrottle;
  addressWindowMinutes: number;
}

const FAILED: LoginResult = { outcome: 'failed' };

export function createLogin({ db, hasher, clock, credentials, throttle, addressWindowMinutes }: LoginDeps) {
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

  async function recordSuccess(at: Attempt, password: string, legacy: boolean, needsRehash: boolean) {
    const { found, source, now } = at;
    const userId = found!.user!.id;
    const { state } = found!;
    const cred = state.credential!;
    // Most logins change nothing here: skip the round trip unless a stale last-login time needs writing.
    const stale = !cred.lastLoginAt || cred.lastLoginAt.getTime() < now.getTime() - 3_600_000;
    if (stale) await recordCredentialSuccess(db, userId, now);
    await throttle.familiar(userId, source, state.knownAt, now);
    await throttle.succeeded(at);
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
  async function attempt(at: Attempt, raw: unknown): Promise<CheckOutcome> {
    const password = normalizePassword(raw);
    const { found } = at;
    const user = found?.user;
    let candidate: { hash: string; legacy: boolean } | undefined;
    if (found && user && password !== undefined && user.status === 'ACTIVE') {
      const { state } = found;
      const cred = state.credential;
      // A CONTACT never signs in (as in Alma), nor an EXTERNAL user without the fallback, whatever
      // credential it may still have: the same failure, with the same work, as a wrong password.
      if (mayHavePassword(user, state) && cred?.hash && throttle.admitted(at)) candidate = { hash: cred.hash, legacy: cred.legacy };
    }
    if (!candidate || password === undefined) {
      await hasher.verifyDummy(password ?? 'x');
      await throttle.failed(at, false);
      return 'failed';
    }
    const { ok, needsRehash } = await verifyStored(candidate, password, raw as string);
    if (!ok) {
      await throttle.failed(at, true);
      return 'failed';
    }
    return (await recordSuccess(at, password, candidate.legacy, needsRehash)) ? 'must_change' : 'ok';
  }

  /** The login of whoever `identifier` names in the institution; the user's id on success. */
  async function byIdentifier(institutionId: string, identifier: unknown, password: unknown, source: Source | null) {
    const at = await throttle.find(institutionId, typeof identifier === 'string' ? identifier : '', source, clock());
    return { outcome: await attempt(at, password), user: at.found?.user };
  }

  return {
    /** Any identifier of the user in this institution, and the password; clientAddress is the browser's. */
    async verifyLogin(institutionId: string, identifier: string, password: unknown, clientAddress: string | null): Promise<LoginResult> {
      const { outcome, user } = await byIdentifier(institutionId, identifier, password, sourceOf(clientAddress));
      if (outcome === 'failed' || !user) return FAILED;
      return { outcome, user };
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
        if (state) found = { user, state, addressFailures, nameDebtUntil: null };
      }
      const outcome = user ? await attempt({ found, name: nameKey(user.institutionId, user.id), source, now }, current) : 'failed';
      if (!user || outcome === 'failed') throw new AppError('AUTHENTICATION_FAILED');
      await db.transaction(async (tx) => {
        const fresh = (await findUserById(tx, user.id, true))!;
        const settings = (await findLoginState(tx, fresh.id, fresh.institutionId, null, null))!.settings;
        const password = await acceptablePassword(next, fresh, settings);
        if (password === normalizePassword(current)) {
          throw new AppError('PASSWORD_POLICY', { reason: 'It must differ from your current password.', policy: policyDescription(settings) });
        }
        await credentials.storePassword(tx, fresh, password, { forceChange: false, keepSessionId: opts.keepSessionId }, settings);
        await auditIdentity(tx, { kind: 'self' }, 'credential.password_changed', fresh);
      });
    },
  };
}

export type Login = ReturnType<typeof createLogin>;
