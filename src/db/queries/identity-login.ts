// SQL for the login path: identity.login_counter (fixed-window failure counters, and the
// (account, source) streaks), identity.known_address, the account's guess budget, and the one
// read a login needs. The rules: src/domain/identity/throttle.ts.
import type { Queryable, Row } from '../database.js';
import { institutionSettings, type InstitutionSettings } from '../../model/institution.js';
import type { CredentialRow } from './identity-credentials.js';
import { ANY_IDENTIFIER_TARGET } from './users.js';

export interface LoginState {
  settings: InstitutionSettings;
  credential:
    | (Pick<CredentialRow, 'algorithm' | 'hash' | 'mustChange' | 'legacy'> & {
        lastLoginAt: Date | null;
        guessDebtUntil: Date | null;
        /** Counters of this account older than this no longer count (an unlock, a new password). */
        throttleResetAt: Date | null;
      })
    | undefined;
  /** Last success of this account from this source, if any. */
  knownAt: Date | null;
  /** The (account, source) streak since the last lift: its length and its delay or lock. */
  pairFailures: number;
  pairRefuseUntil: Date | null;
}

export interface LoginCandidate {
  /**
   * The user the identifier names, if any: what deciding a login needs, and what a session begun
   * by it names (browser-sessions.ts: SessionUser), so a sign-in never reads the user twice.
   */
  user: { id: string; institutionId: string; primaryId: string; firstName: string | null; lastName: string | null; status: string; accountType: string; recordType: string } | undefined;
  state: LoginState;
  /** Failures from this address (all accounts) in the address window (0 for an API key source). */
  addressFailures: number;
  /**
   * No user by that name: the guess budget kept under the hashed name instead (a directory's
   * account Carrel does not know by the typed name, throttle.ts: nameDebtKey).
   */
  nameDebtUntil: Date | null;
}

/** What the login query needs to know about the source (throttle.ts: sourceName, pairKeyAround, addressKey). */
export interface SourceQuery {
  name: string;
  pairKey: { before: string; after: string };
  addressKey: string | null;
  since: Date;
}

/** The login_counter key of a name's guess budget: this before the name key (its refuse_until is the debt). */
export const NAME_DEBT_PREFIX = 'debt:';

const STATE_COLUMNS = `i.settings, c.user_id IS NOT NULL AS has_credential, c.algorithm, c.hash, c.must_change, c.legacy,
  c.last_login_at, c.guess_debt_until, c.throttle_reset_at`;
/** A pair streak counts only if it ran after the account's last lift. */
const PAIR_LIVE = `lc.window_start > coalesce(c.throttle_reset_at, '-infinity'::timestamptz)`;

function toState(r: Row): LoginState {
  return {
    settings: institutionSettings(r.settings),
    credential: r.has_credential
      ? {
          algorithm: r.algorithm as string | null,
          hash: r.hash as string | null,
          mustChange: r.must_change as boolean,
          legacy: r.legacy as boolean,
          lastLoginAt: r.last_login_at as Date | null,
          guessDebtUntil: r.guess_debt_until as Date | null,
          throttleResetAt: r.throttle_reset_at as Date | null,
        }
      : undefined,
    knownAt: (r.known_at as Date | null) ?? null,
    pairFailures: (r.pair_failures as number | null) ?? 0,
    pairRefuseUntil: (r.pair_refuse_until as Date | null) ?? null,
  };
}

/**
 * Everything a login by identifier needs, in one round trip: the user any of whose identifiers
 * matches (the same lookup as findUserByIdentifier), its credential with the guess budget, the
 * institution's settings and, with a source, whether the account knows it, the (account, source)
 * streak and the address counter. A login is an argon2 verify plus as little else as possible.
 * When no user has that identifier, the streak and the budget are the ones kept under the hashed
 * name (`nameKey`, throttle.ts): what a directory sign-in by a name Carrel does not know counts on.
 */
export async function findLoginCandidate(
  db: Queryable,
  institutionId: string,
  identifier: string,
  nameKey: string,
  source: SourceQuery | null,
): Promise<LoginCandidate | undefined> {
  const from = `FROM institution i
    LEFT JOIN app_user u ON u.id = (${ANY_IDENTIFIER_TARGET} LIMIT 1)
    LEFT JOIN identity.credential c ON c.user_id = u.id
    LEFT JOIN identity.login_counter nd ON u.id IS NULL AND nd.key = $3::text || $4::text`;
  const user = 'u.id AS user_id, u.primary_id, u.first_name, u.last_name, u.status, u.account_type, u.record_type, nd.refuse_until AS name_debt_until';
  const r = source
    ? await db.maybeOne(
        `SELECT ${user}, ${STATE_COLUMNS}, k.last_success_at AS known_at, lc.failures AS pair_failures,
           lc.refuse_until AS pair_refuse_until,
           (SELECT a.failures FROM identity.login_counter a WHERE a.key = $6 AND a.window_start > $8) AS address_failures
         ${from}
         LEFT JOIN identity.known_address k ON k.user_id = u.id AND k.address = $5
         LEFT JOIN identity.login_counter lc ON lc.key = $7 || coalesce(u.id::text, $4::text) || $9 AND ${PAIR_LIVE}
         WHERE i.id = $1`,
        [institutionId, identifier, NAME_DEBT_PREFIX, nameKey, source.name, source.addressKey, source.pairKey.before, source.since, source.pairKey.after],
        { name: 'identity-login-candidate-source' },
      )
    : await db.maybeOne(`SELECT ${user}, ${STATE_COLUMNS} ${from} WHERE i.id = $1`, [institutionId, identifier, NAME_DEBT_PREFIX, nameKey], {
        name: 'identity-login-candidate',
      });
  if (!r) return undefined;
  return {
    user: r.user_id
      ? {
          id: r.user_id as string,
          institutionId,
          primaryId: r.primary_id as string,
          firstName: r.first_name as string | null,
          lastName: r.last_name as string | null,
          status: r.status as string,
          accountType: r.account_type as string,
          recordType: r.record_type as string,
        }
      : undefined,
    state: toState(r),
    addressFailures: (r.address_failures as number | null) ?? 0,
    nameDebtUntil: (r.name_debt_until as Date | null) ?? null,
  };
}


/** The same facts for a known user (a change of password by the signed-in user). */
export async function findLoginState(
  db: Queryable,
  userId: string,
  institutionId: string,
  source: string | null,
  pairKey: string | null,
): Promise<LoginState | undefined> {
  const r = source
    ? await db.maybeOne(
        `SELECT ${STATE_COLUMNS}, k.last_success_at AS known_at, lc.failures AS pair_failures, lc.refuse_until AS pair_refuse_until
         FROM institution i
         LEFT JOIN identity.credential c ON c.user_id = $1
         LEFT JOIN identity.known_address k ON k.user_id = $1 AND k.address = $3
         LEFT JOIN identity.login_counter lc ON lc.key = $4 AND ${PAIR_LIVE}
         WHERE i.id = $2`,
        [userId, institutionId, source, pairKey],
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
 * Everything one failed login writes, in one statement and so one round trip and one commit. The
 * same statement runs for every failure, with nulls for what does not apply, so an unknown user
 * costs what a wrong password costs (a timing difference would tell which user names exist): the
 * name counter, bumped for every failure, is the write an unknown user makes. A failure that was
 * refused before any verify (throttle.ts: admits) passes no account and no pair: a refusal is not
 * a guess, and hammering a refused source does not extend its refusal.
 *   - account: the guess budget's debt moves one interval on (from now at the earliest), on the
 *     credential (made when the user has none yet: an account that signs in through a directory),
 *     or, for a name no user has, on the name's budget row (NAME_DEBT_PREFIX, debt in refuse_until);
 *   - pair: the (account, source) streak; one more failure, or a new streak when the last failure
 *     is a lock period old or older than the account's last lift; refused until now + the delay
 *     its length gives (throttle.ts), the lock period at the maximum, more past it.
 */
export async function recordLoginFailure(
  db: Queryable,
  f: {
    now: Date;
    /** The account's credential to charge (null: unknown user, no password, not allowed, refused). */
    account: { userId: string; intervalSeconds: number } | { nameKey: string; intervalSeconds: number } | null;
    name: { key: string; windowSeconds: number };
    address: { key: string; windowSeconds: number } | null;
    pair: { key: string; max: number; free: number; lockSeconds: number; maxRefusalSeconds: number; resetAt: Date | null } | null;
  },
): Promise<void> {
  const streak = `CASE WHEN lc.window_start <= $1::timestamptz - make_interval(secs => $9::float8)
      OR lc.window_start <= coalesce($12::timestamptz, '-infinity'::timestamptz) THEN 1 ELSE lc.failures + 1 END`;
  const delay = (n: string) => `make_interval(secs => CASE
      WHEN ${n} >= $10::int THEN least($9::float8 * (${n} - $10::int + 1), $13::float8)
      WHEN ${n} > $11::int THEN least(power(2, ${n} - $11::int - 1), $9::float8)
      ELSE 0 END)`;
  await db.query(
    `WITH account AS (
       INSERT INTO identity.credential AS c (user_id, institution_id, guess_debt_until, last_failed_at)
       SELECT u.id, u.institution_id, $1::timestamptz + make_interval(secs => $3::float8), $1 FROM app_user u WHERE u.id = $2::uuid
       ON CONFLICT (user_id) DO UPDATE SET
         guess_debt_until = greatest(coalesce(c.guess_debt_until, $1::timestamptz), $1::timestamptz) + make_interval(secs => $3::float8),
         last_failed_at = $1
       RETURNING 1),
     name_debt AS (
       INSERT INTO identity.login_counter AS lc (key, window_start, failures, refuse_until)
       SELECT $14::text, $1::timestamptz, 1, $1::timestamptz + make_interval(secs => $3::float8) WHERE $14::text IS NOT NULL
       ON CONFLICT (key) DO UPDATE SET
         window_start = $1::timestamptz,
         failures = lc.failures + 1,
         refuse_until = greatest(coalesce(lc.refuse_until, $1::timestamptz), $1::timestamptz) + make_interval(secs => $3::float8)
       RETURNING 1),
     name AS (${bumpSql('$4', '$1', '$5')}),
     address AS (${bumpSql('$6', '$1', '$7')}),
     pair AS (
       INSERT INTO identity.login_counter AS lc (key, window_start, failures, refuse_until)
       SELECT $8::text, $1::timestamptz, 1, $1::timestamptz + ${delay('1')} WHERE $8::text IS NOT NULL
       ON CONFLICT (key) DO UPDATE SET
         failures = ${streak},
         window_start = $1::timestamptz,
         refuse_until = $1::timestamptz + ${delay(`(${streak})`)}
       RETURNING failures)
     SELECT 1 AS done`,
    [
      f.now,
      f.account && 'userId' in f.account ? f.account.userId : null,
      f.account?.intervalSeconds ?? 0,
      f.name.key,
      f.name.windowSeconds,
      f.address?.key ?? null,
      f.address?.windowSeconds ?? 0,
      f.pair?.key ?? null,
      f.pair?.lockSeconds ?? 0,
      f.pair?.max ?? 0,
      f.pair?.free ?? 0,
      f.pair?.resetAt ?? null,
      f.pair?.maxRefusalSeconds ?? 0,
      f.account && 'nameKey' in f.account ? NAME_DEBT_PREFIX + f.account.nameKey : null,
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

/** Housekeeping: counters whose window (and refusal) ended long ago, addresses not seen for long. */
export async function pruneLoginRecords(db: Queryable, countersBefore: Date, addressesBefore: Date): Promise<void> {
  await db.query('DELETE FROM identity.login_counter WHERE window_start < $1 AND (refuse_until IS NULL OR refuse_until < $1)', [countersBefore]);
  await db.query('DELETE FROM identity.known_address WHERE last_success_at < $1', [addressesBefore]);
}

/**
 * The (account, source) streaks of a user that reached the maximum and still refuse now: the
 * places the account is locked out from (throttle.ts). Streaks before the last lift do not count.
 */
export async function countLockedSources(db: Queryable, userId: string, max: number, now: Date, resetAt: Date | null): Promise<number> {
  const r = await db.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM identity.login_counter
     WHERE key LIKE 'pair:' || $1::text || ':%' AND failures >= $2 AND refuse_until > $3
       AND window_start > coalesce($4::timestamptz, '-infinity'::timestamptz)`,
    [userId, max, now, resetAt],
  );
  return r.n;
}
