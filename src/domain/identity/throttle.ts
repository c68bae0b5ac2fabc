// Sign-in throttling: what bounds password guessing, and why no anonymous party can use it to keep
// an account's owner out. The threat model and the numbers: docs/sign-in-throttling.md.
//
// A SOURCE is where an attempt comes from: the client's address (IPv4, or an IPv6 /64) on the login
// pages; for op=auth, the end user's address when the calling key is trusted to name it
// (X-Carrel-Client-Address, `carrel apikey create --trust-client-address`), else the API key itself.
//
// Three limits, each checked before the argon2 verify; an attempt any of them refuses does the same
// work and gets the same answer as a wrong password, and is not counted as a guess:
//   - per (account, source), a streak ('pair:' counter): loginMaxFailures (Alma: 15) failures in a
//     row, each less than loginLockMinutes (30) after the last, then that source is refused for
//     loginLockMinutes. Before that, delays that grow: the first FREE_PAIR_FAILURES are free, then
//     1 s, 2 s, 4 s ... So no source gets more than loginMaxFailures guesses in any loginLockMinutes,
//     and a lock there stops only that source: the owner elsewhere is not affected.
//   - per account, a budget (a rate, never a lock: identity.credential.guess_debt_until): every
//     counted failure, from any source, adds one interval of loginLockMinutes to a debt that pays
//     itself off in real time. While the debt is more than ACCOUNT_BURST_FACTOR x loginMaxFailures
//     intervals ahead, sources the account is not familiar with are refused, which leaves an
//     attacker who rotates addresses one guess per loginLockMinutes after the burst. Familiar
//     sources (the owner's, below) are exempt, so the budget never stops the owner.
//   - per address across accounts ('addr:' counter): loginAddressMaxFailures (100) in
//     loginAddressWindowMinutes (15) refuse the address for the rest of the window (password
//     spraying), except for accounts familiar with it.
// A source is FAMILIAR to an account when the account signed in from it in the last
// KNOWN_ADDRESS_DAYS days (identity.known_address; an API key source is stored as 'key:<id>'), so
// a user who only ever signs in through an application's op=auth is familiar with that key, or
// with their own address when the key is trusted.
//
// The owner's ways in, whatever an attacker does: any familiar source (bounded only by its own
// streak, which an attacker can reach only from that same address); any unfamiliar source while
// the budget is not spent (one attacker source alone cannot spend it); and the e-mailed unlock link
// (links.ts, offered with every forgot-password mail, which names no account), which lifts the
// budget and every streak once and makes the address it is used from familiar. A new password lifts
// them too. What remains: an attacker on the owner's own address (a shared NAT), or through an
// untrusted key the owner uses, can hold that one source for loginLockMinutes at a time; the
// owner's other sources and the unlock link still work.
//
// Every failure makes one statement (recordLoginFailure) with the same shape whatever the reason,
// and the per-name counter ('name:', hashed, never enforced) is what an unknown user's failure
// writes, so timing does not tell which names exist. Concurrent attempts read the same state, so
// a burst of parallel requests can overshoot a limit once; the overshoot is then paid back: the
// debt grows by every counted failure, and a streak past loginMaxFailures is refused for that many
// more lock periods (up to a day).
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { InstitutionSettings } from '../../model/institution.js';

export const KNOWN_ADDRESS_DAYS = 30;
/** Known addresses are refreshed at most this often, so a busy account does not write at every login. */
export const KNOWN_ADDRESS_REFRESH_MS = 24 * 3600_000;
/** Failures in a streak before the delays begin. */
export const FREE_PAIR_FAILURES = 5;
/** The account's burst, in multiples of loginMaxFailures: two sources' worth, so one attacker alone cannot spend it. */
export const ACCOUNT_BURST_FACTOR = 2;
/** The longest a streak past its maximum is refused (the overshoot of concurrent attempts). */
export const MAX_PAIR_REFUSAL_SECONDS = 86_400;

/** The unit an address is counted in: itself for IPv4, its /64 for IPv6; null when unusable. */
export function addressBucket(address: string | null | undefined): string | null {
  if (!address) return null;
  let a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1]!;
  const kind = isIP(a);
  if (kind === 4) return a;
  if (kind !== 6) return null;
  const [head = '', tail = ''] = a.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = a.includes('::') ? (tail ? tail.split(':') : []) : [];
  const parts = a.includes('::') ? [...headParts, ...Array<string>(8 - headParts.length - tailParts.length).fill('0'), ...tailParts] : headParts;
  return `${parts.slice(0, 4).map((p) => p.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Where an attempt comes from: an address bucket (counted across accounts too) or an API key. */
export type Source = { kind: 'address'; bucket: string } | { kind: 'apiKey'; keyId: string };

/**
 * The source of an attempt. Login pages: the client's address. op=auth: the end user's address
 * when the key is trusted to name it and names a usable one, else the key.
 */
export function sourceOf(clientAddress: string | null | undefined, apiKey?: { id: string; trustsClientAddress: boolean }): Source | null {
  const bucket = addressBucket(clientAddress);
  if (apiKey && !apiKey.trustsClientAddress) return { kind: 'apiKey', keyId: apiKey.id };
  if (bucket) return { kind: 'address', bucket };
  return apiKey ? { kind: 'apiKey', keyId: apiKey.id } : null;
}

/** The source as stored: identity.known_address.address and the tail of its pair key. */
export const sourceName = (s: Source) => (s.kind === 'address' ? s.bucket : `key:${s.keyId}`);

export const addressKey = (bucket: string) => `addr:${bucket}`;
/**
 * Failures under the name a login asked for, known or not (hashed: a password typed into the name
 * field must not be stored). Every failure bumps it, so an unknown name costs what a known one does.
 */
export const nameKey = (institutionId: string, identifier: string) =>
  `name:${createHash('sha256').update(`${institutionId}\0${identifier.toLowerCase()}`).digest('base64url')}`;
export const pairKey = (userId: string, source: string) => `pair:${userId}:${source}`;
/** The same key around a user id the database supplies (the one-query login). */
export const pairKeyAround = (source: string) => ({ before: 'pair:', after: `:${source}` });

/** The limits an institution's settings give. */
export function throttleRule(s: Pick<InstitutionSettings, 'loginMaxFailures' | 'loginLockMinutes'>) {
  const max = Math.max(1, s.loginMaxFailures);
  const lockSeconds = Math.max(1, s.loginLockMinutes) * 60;
  return {
    pairMax: max,
    pairFree: Math.min(FREE_PAIR_FAILURES, max - 1),
    lockSeconds,
    accountBurst: ACCOUNT_BURST_FACTOR * max,
    accountIntervalSeconds: lockSeconds,
  };
}
export type ThrottleRule = ReturnType<typeof throttleRule>;

/** What the database said about an attempt's account and source (login-candidate query). */
export interface ThrottleState {
  /** The account's last success from this source, if any. */
  knownAt: Date | null;
  /** The pair streak's progressive delay or lock (null: no streak since the last lift). */
  pairRefuseUntil: Date | null;
  guessDebtUntil: Date | null;
  /** Failures from this address (all accounts) in the address window. */
  addressFailures: number;
}

export function isFamiliar(knownAt: Date | null, now: Date): boolean {
  return !!knownAt && knownAt.getTime() >= now.getTime() - KNOWN_ADDRESS_DAYS * 86_400_000;
}

/** How far (ms) the account's guess debt may run ahead of now before unfamiliar places are refused. */
export function debtAllowanceMs(rule: ThrottleRule): number {
  return (rule.accountBurst - 1) * rule.accountIntervalSeconds * 1000;
}

/** Whether an attempt may be verified at all; a refusal is answered and costed like a wrong password. */
export function admits(s: ThrottleState, rule: ThrottleRule, now: Date, addressMaxFailures: number): boolean {
  const t = now.getTime();
  if (s.pairRefuseUntil && s.pairRefuseUntil.getTime() > t) return false;
  if (isFamiliar(s.knownAt, now)) return true;
  if (s.addressFailures >= addressMaxFailures) return false;
  // GCRA: the debt may run at most burst-1 intervals ahead, so a burst of `accountBurst` passes.
  const ahead = s.guessDebtUntil ? s.guessDebtUntil.getTime() - t : 0;
  return ahead <= debtAllowanceMs(rule);
}
