// The throttle around a password check, wherever the password is checked: the local form and
// op=auth (login.ts, an argon2 verify) and a directory (the LDAP method, a bind). The rules and
// the numbers are throttle.ts's; this is where they meet the database: one read before the check
// (find), the decision (admitted), and what a failure or a success writes. A password checked
// elsewhere goes through exactly these steps, so LDAP binds count towards the same streaks and
// budget as local passwords.
import type { Db } from '../../db/database.js';
import {
  clearCounter,
  findLoginCandidate,
  pruneLoginRecords,
  recordLoginFailure,
  rememberAddress,
  type LoginCandidate,
} from '../../db/queries/identity-login.js';
import { DEFAULT_INSTITUTION_SETTINGS } from '../../model/institution.js';
import {
  addressKey,
  admits,
  KNOWN_ADDRESS_DAYS,
  KNOWN_ADDRESS_REFRESH_MS,
  MAX_PAIR_REFUSAL_SECONDS,
  nameKey,
  pairKey,
  pairKeyAround,
  sourceName,
  throttleRule,
  type Source,
} from './throttle.js';

/**
 * One attempt under a name from a source, as read before the check. `found` is what the database
 * said (the user the name matches, if any); `name` is the hashed name key, which stands for the
 * account when no user has that name.
 */
export interface Attempt {
  found: LoginCandidate | undefined;
  name: string;
  source: Source | null;
  now: Date;
}

export interface LoginThrottleDeps {
  db: Db;
  addressMaxFailures: number;
  addressWindowMinutes: number;
}

export function createLoginThrottle({ db, addressMaxFailures, addressWindowMinutes }: LoginThrottleDeps) {
  let lastPrune = 0;

  /** The one read: the user any of whose identifiers is `identifier`, with every counter that concerns the attempt. */
  async function find(institutionId: string, identifier: string, source: Source | null, now: Date): Promise<Attempt> {
    const id = identifier.trim();
    const name = nameKey(institutionId, id);
    const query = source
      ? {
          name: sourceName(source),
          pairKey: pairKeyAround(sourceName(source)),
          addressKey: source.kind === 'address' ? addressKey(source.bucket) : null,
          since: new Date(now.getTime() - addressWindowMinutes * 60_000),
        }
      : null;
    const found = id && id.length <= 255 ? await findLoginCandidate(db, institutionId, id, name, query) : undefined;
    return { found, name, source, now };
  }

  /**
   * Whether the password may be checked at all. The account is the user when there is one (its
   * familiar sources, its credential's budget), else the name (never familiar, its own budget).
   */
  function admitted({ found, source, now }: Attempt): boolean {
    if (!found) return true;
    const { state, user } = found;
    const throttle = {
      knownAt: source && user ? state.knownAt : null,
      pairRefuseUntil: state.pairRefuseUntil,
      guessDebtUntil: user ? (state.credential?.guessDebtUntil ?? null) : found.nameDebtUntil,
      addressFailures: found.addressFailures,
    };
    return admits(throttle, throttleRule(state.settings), now, addressMaxFailures);
  }

  /**
   * One statement whatever the failure (see recordLoginFailure): an unknown user, a user without
   * a password, a refused attempt and a wrong password make the same round trip and the same kind
   * of write. Only a password that was checked and wrong (`guessed`) is charged: to the user's
   * budget and streak, or, when no user has the name (a directory account Carrel does not know by
   * it), to the name's.
   */
  async function failed({ found, name, source, now }: Attempt, guessed: boolean): Promise<void> {
    const rule = throttleRule(found?.state.settings ?? DEFAULT_INSTITUTION_SETTINGS);
    const user = found?.user;
    const account = user ? { userId: user.id, intervalSeconds: rule.accountIntervalSeconds } : { nameKey: name, intervalSeconds: rule.accountIntervalSeconds };
    await recordLoginFailure(db, {
      now,
      account: guessed ? account : null,
      name: { key: name, windowSeconds: rule.lockSeconds },
      address: source?.kind === 'address' ? { key: addressKey(source.bucket), windowSeconds: addressWindowMinutes * 60 } : null,
      // Not a guess (unknown user, refused attempt): a decoy streak under the name, so that every
      // failure from a source writes the same rows as a counted one.
      pair: source
        ? {
            key: guessed ? pairKey(user?.id ?? name, sourceName(source)) : `${name}:${sourceName(source)}`,
            max: rule.pairMax,
            free: rule.pairFree,
            lockSeconds: rule.lockSeconds,
            maxRefusalSeconds: MAX_PAIR_REFUSAL_SECONDS,
            resetAt: (guessed && user && found?.state.credential?.throttleResetAt) || null,
          }
        : null,
    });
    if (now.getTime() - lastPrune > 600_000) {
      lastPrune = now.getTime();
      await pruneLoginRecords(db, new Date(now.getTime() - 86_400_000), new Date(now.getTime() - KNOWN_ADDRESS_DAYS * 86_400_000));
    }
  }

  /** The password was right: the streak from this source ends. */
  async function succeeded({ found, name, source }: Attempt): Promise<void> {
    if (source && found && found.state.pairFailures > 0) await clearCounter(db, pairKey(found.user?.id ?? name, sourceName(source)));
  }

  /**
   * The user signed in from this source: it becomes familiar (the account's budget no longer
   * refuses it). `knownAt` is when it last was, if the attempt read it (a write at most daily).
   */
  async function familiar(userId: string, source: Source | null, knownAt: Date | null, now: Date): Promise<void> {
    if (!source) return;
    if (!knownAt || knownAt.getTime() < now.getTime() - KNOWN_ADDRESS_REFRESH_MS) await rememberAddress(db, userId, sourceName(source), now);
  }

  return { find, admitted, failed, succeeded, familiar };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
