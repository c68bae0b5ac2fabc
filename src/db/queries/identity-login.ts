// SQL for the login path: identity.login_counter (fixed-window failure counters),
// identity.known_address, and the one read a login needs.
import type { Queryable, Row } from '../database.js';
import { institutionSettings, type InstitutionSettings } from '../../model/institution.js';
import type { CredentialRow } from './identity-credentials.js';
import { ANY_IDENTIFIER_TARGET } from './users.js';

export interface LoginState {
  settings: InstitutionSettings;
  credential: (Pick<CredentialRow, 'algorithm' | 'hash' | 'mustChange' | 'legacy' | 'failedCount' | 'lockedUntil'> & { lastLoginAt: Date | null }) | undefined;
  /** Last success of this account from this address, if any. */
  knownAt: Date | null;
  /** Failures of this account from this address in the pair counter's current window. */
  pairFailures: number;
  pairWindowStart: Date | null;
}

export interface LoginCandidate {
  /** The user the identifier names, if any: just what deciding a login needs. */
  user: { id: string; status: string; accountType: string } | undefined;
  state: LoginState;
  /** Failures from this address (all accounts) in the address window. */
  addressFailures: number;
}

const STATE_COLUMNS = `i.settings, c.user_id IS NOT NULL AS has_credential, c.algorithm, c.hash, c.must_change, c.legacy,
  c.failed_count, c.locked_until, c.last_login_at`;

function toState(r: Row): LoginState {
  return {
    settings: institutionSettings(r.settings),
    credential: r.has_credential
      ? {
          algorithm: r.algorithm as string | null,
          hash: r.hash as string | null,
          mustChange: r.must_change as boolean,
          legacy: r.legacy as boolean,
          failedCount: r.failed_count as number,
          lockedUntil: r.locked_until as Date | null,
          lastLoginAt: r.last_login_at as Date | null,
        }
      : undefined,
    knownAt: (r.known_at as Date | null) ?? null,
    pairFailures: (r.pair_failures as number | null) ?? 0,
    pairWindowStart: (r.pair_window_start as Date | null) ?? null,
  };
}

/**
 * Everything a login by identifier needs, in one round trip: the user any of whose identifiers
 * matches (the same lookup as findUserByIdentifier), its credential, the institution's settings
 * and, with a client address, the address and (account, address) counters. A login is an argon2
 * verify plus as little else as possible. Keys: `addressKey` whole; the pair key is
 * `pairKey.before` + user id + `pairKey.after`.
 */
export async function findLoginCandidate(
  db: Queryable,
  institutionId: string,
  identifier: string,
  address: { bucket: string; addressKey: string; pairKey: { before: string; after: string }; since: Date } | null,
): Promise<LoginCandidate | undefined> {
  const from = `FROM institution i
    LEFT JOIN app_user u ON u.id = (${ANY_IDENTIFIER_TARGET} LIMIT 1)
    LEFT JOIN identity.credential c ON c.user_id = u.id`;
  const user = 'u.id AS user_id, u.status, u.account_type';
  // Without an address (op=auth) the address tables are not asked at all.
  const r = address
    ? await db.maybeOne(
        `SELECT ${user}, ${STATE_COLUMNS}, k.last_success_at AS known_at, lc.failures AS pair_failures,
           lc.window_start AS pair_window_start,
           (SELECT a.failures FROM identity.login_counter a WHERE a.key = $4 AND a.window_start > $6) AS address_failures
         ${from}
         LEFT JOIN identity.known_address k ON k.user_id = u.id AND k.address = $3
         LEFT JOIN identity.login_counter lc ON lc.key = $5 || u.id::text || $7
         WHERE i.id = $1`,
        [institutionId, identifier, address.bucket, address.addressKey, address.pairKey.before, address.since, address.pairKey.after],
        { name: 'identity-login-candidate-address' },
      )
    : await db.maybeOne(`SELECT ${user}, ${STATE_COLUMNS} ${from} WHERE i.id = $1`, [institutionId, identifier], {
        name: 'identity-login-candidate',
      });
  if (!r) return undefined;
  return {
    user: r.user_id ? { id: r.user_id as string, status: r.status as string, accountType: r.account_type as string } : undefined,
    state: toState(r),
    addressFailures: (r.address_failures as number | null) ?? 0,
  };
}

/** The same facts for a known user (a change of password by the signed-in user). */
export async function findLoginState(
  db: Queryable,
  userId: string,
  institutionId: string,
  address: string | null,
  pairKey: string | null,
): Promise<LoginState | undefined> {
  const r = address
    ? await db.maybeOne(
        `SELECT ${STATE_COLUMNS}, k.last_success_at AS known_at, lc.failures AS pair_failures, lc.window_start AS pair_window_start
         FROM institution i
         LEFT JOIN identity.credential c ON c.user_id = $1
         LEFT JOIN identity.known_address k ON k.user_id = $1 AND k.address = $3
         LEFT JOIN identity.login_counter lc ON lc.key = $4
         WHERE i.id = $2`,
        [userId, institutionId, address, pairKey],
      )
    : await db.maybeOne(`SELECT ${STATE_COLUMNS} FROM institution i LEFT JOIN identity.credential c ON c.user_id = $1 WHERE i.id = $2`, [
        userId,
        institutionId,
      ]);
  return r && toState(r);
}

/** Failures counted under `key` since `since` (0 when the window has passed). */
export async function countFailures(db: Queryable, key: string, since: Date): Promise<number> {
  const r = await db.maybeOne<{ failures: number } & Row>(
    'SELECT failures FROM identity.login_counter WHERE key = $1 AND window_start > $2',
    [key, since],
    { name: 'identity-count-failures' },
  );
  return r?.failures ?? 0;
}

/** The counter rule, as SQL over three parameters: one more under key, a window older than secs starts over. */
const bumpSql = (key: string, now: string, secs: string) => `INSERT INTO identity.login_counter AS lc (key, window_start, failures)
  SELECT ${key}::text, ${now}::timestamptz, 1 WHERE ${key}::text IS NOT NULL
  ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN lc.window_start <= ${now}::timestamptz - make_interval(secs => ${secs}::float8) THEN 1 ELSE lc.failures + 1 END,
    window_start = CASE WHEN lc.window_start <= ${now}::timestamptz - make_interval(secs => ${secs}::float8) THEN ${now}::timestamptz
      ELSE lc.window_start END
  RETURNING failures`;

/** One more under `key`; a window older than windowSeconds starts over. Returns the new count. */
export async function bumpCounter(db: Queryable, key: string, now: Date, windowSeconds: number): Promise<number> {
  return (await db.one<{ failures: number }>(bumpSql('$1', '$2', '$3'), [key, now, windowSeconds])).failures;
}

/**
 * Everything one failed login writes, in one statement and so one round trip and one commit: the
 * account's failure (the lock, when this is the max-th, is written before anyone is answered), and
 * the counters. The same statement runs for every failure, with nulls for what does not apply, so
 * an unknown user costs what a wrong password costs (a timing difference would tell which user
 * names exist): the name counter, bumped for every failure, is the write an unknown user makes.
 * The account's `max`-th failure locks it for lockSeconds and starts the count again; failures
 * while locked do not count, so an attacker cannot extend a lock by hammering it.
 */
export async function recordLoginFailure(
  db: Queryable,
  f: {
    now: Date;
    /** The account's credential to count against (null: unknown user, no password, not allowed). */
    credential: { userId: string; max: number; lockSeconds: number } | null;
    name: { key: string; windowSeconds: number };
    address: { key: string; windowSeconds: number } | null;
    pair: { key: string; windowSeconds: number } | null;
  },
): Promise<void> {
  await db.query(
    `WITH credential AS (
       UPDATE identity.credential SET
         failed_count = CASE WHEN failed_count + 1 >= $3 THEN 0 ELSE failed_count + 1 END,
         locked_until = CASE WHEN failed_count + 1 >= $3 THEN $1::timestamptz + make_interval(secs => $4::float8) ELSE NULL END,
         last_failed_at = $1
       WHERE user_id = $2::uuid AND (locked_until IS NULL OR locked_until <= $1)
       RETURNING 1),
     name AS (${bumpSql('$5', '$1', '$6')}),
     address AS (${bumpSql('$7', '$1', '$8')}),
     pair AS (${bumpSql('$9', '$1', '$10')})
     SELECT 1 AS done`,
    [
      f.now,
      f.credential?.userId ?? null,
      f.credential?.max ?? 0,
      f.credential?.lockSeconds ?? 0,
      f.name.key,
      f.name.windowSeconds,
      f.address?.key ?? null,
      f.address?.windowSeconds ?? 0,
      f.pair?.key ?? null,
      f.pair?.windowSeconds ?? 0,
    ],
    { name: 'identity-login-failure' },
  );
}

export async function clearCounter(db: Queryable, key: string): Promise<void> {
  await db.query('DELETE FROM identity.login_counter WHERE key = $1', [key]);
}

export async function rememberAddress(db: Queryable, userId: string, address: string, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO identity.known_address (user_id, address, last_success_at) VALUES ($1, $2, $3)
     ON CONFLICT (user_id, address) DO UPDATE SET last_success_at = EXCLUDED.last_success_at`,
    [userId, address, now],
  );
}

/** Housekeeping: counters whose window ended long ago, addresses not seen for long. */
export async function pruneLoginRecords(db: Queryable, countersBefore: Date, addressesBefore: Date): Promise<void> {
  await db.query('DELETE FROM identity.login_counter WHERE window_start < $1', [countersBefore]);
  await db.query('DELETE FROM identity.known_address WHERE last_success_at < $1', [addressesBefore]);
}
