// Login throttling and lockout, and the trade-off they make.
//
// Three counters:
//   - per account (identity.credential.failed_count): Alma's rule, loginMaxFailures (15) failures
//     lock the account for loginLockMinutes (30). Failures during a lock do not extend it.
//   - per client address (login_counter 'addr:'): loginAddressMaxFailures (100) failures within
//     loginAddressWindowMinutes (15) from one address, across all accounts, refuse that address
//     for the rest of the window. IPv6 addresses count per /64, since one host holds a whole /64.
//   - per account and address (login_counter 'pair:').
// And one that is counted, never enforced: per name asked for (login_counter 'name:', hashed),
// bumped by every failure in the same statement as the others, so that an unknown user's failure
// writes what a wrong password's does and answers no faster (see recordLoginFailure).
//
// The trade-off. A per-account lock lets anyone who knows a user name lock its owner out with 15
// wrong guesses, again every 30 minutes: a cheap denial of service against, say, the back-up admin
// during an SSO outage. So a lock does not apply to an address the account logged in from
// successfully in the last KNOWN_ADDRESS_DAYS days: from there a correct password is still
// accepted, as long as that (account, address) pair has itself failed fewer than loginMaxFailures
// times in the lock window. An attacker elsewhere still meets the lock; an attacker on the user's
// own address (a shared campus NAT) gets no more guesses than the lock allows anyone, because the
// pair counter caps them. The same exemption applies to the per-address limit, so a busy NAT that
// trips it does not lock out its known users. What it costs: a password stolen together with a
// foothold on the owner's usual network is not slowed down by someone else's lockout.
//
// op=auth has no end-user address (the caller is an application holding an API key, such as a
// discovery layer, whose own address every user shares): it runs with the per-account lock only,
// and the calling application throttles its own clients.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

export const KNOWN_ADDRESS_DAYS = 30;
/** Known addresses are refreshed at most this often, so a busy account does not write at every login. */
export const KNOWN_ADDRESS_REFRESH_MS = 24 * 3600_000;

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

export const addressKey = (bucket: string) => `addr:${bucket}`;
/**
 * Failures under the name a login asked for, known or not (hashed: a password typed into the name
 * field must not be stored). Every failure bumps it, so an unknown name costs what a known one does.
 */
export const nameKey = (institutionId: string, identifier: string) =>
  `name:${createHash('sha256').update(`${institutionId}\0${identifier.toLowerCase()}`).digest('base64url')}`;
export const pairKey = (userId: string, bucket: string) => `pair:${userId}:${bucket}`;
/** The same key around a user id the database supplies (the one-query login). */
export const pairKeyAround = (bucket: string) => ({ before: 'pair:', after: `:${bucket}` });

export function isLocked(lockedUntil: Date | null | undefined, now: Date): boolean {
  return !!lockedUntil && lockedUntil.getTime() > now.getTime();
}

/** Whether a login from this address may be tried even while the account or address is blocked. */
export function knownAddressAdmits(
  s: { knownAt: Date | null; pairFailures: number; pairWindowStart: Date | null },
  now: Date,
  maxFailures: number,
  lockMinutes: number,
): boolean {
  if (!s.knownAt || s.knownAt.getTime() < now.getTime() - KNOWN_ADDRESS_DAYS * 86_400_000) return false;
  const pairWindowOpen = s.pairWindowStart && s.pairWindowStart.getTime() > now.getTime() - lockMinutes * 60_000;
  return !pairWindowOpen || s.pairFailures < maxFailures;
}
