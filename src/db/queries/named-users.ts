// SQL for named users (Alma's licence unit): active, unexpired users holding at least one active,
// unexpired role whose type is a named-user one (role_type.named_user). The count starts from
// the roles, not the users: user_role_institution (institution_id, role_type) WHERE status =
// 'ACTIVE' (migration 0001) serves institution_id = ANY(..) AND role_type = ANY(named codes), so
// the patron roles every user holds are never read; each named role's user is then one
// app_user_pkey probe (a nested loop). No index of its own (EXPLAIN ANALYZE on PostgreSQL 15,
// 300,000 users of which 6,000 staff: Bitmap Index Scan on user_role_institution, 6,000 entries,
// then Index Scan using app_user_pkey, 99 ms cold). The named codes are passed as a literal array,
// not a subquery on role_type: with a subquery PostgreSQL cannot tell the patron code from the
// staff ones, guessed half the roles, and hashed the whole of app_user (290 ms at 40,000 users).
// Also: the daily history (named_user_count) and the level last told (named_user_licence_state),
// migration 0015.
import type { Queryable, Row } from '../database.js';

// Every statement below binds $2 to today and $3 to the named role codes.
const NAMED_ROLE = `r.status = 'ACTIVE' AND r.role_type = ANY ($3::text[])
  AND (r.expiry_date IS NULL OR r.expiry_date >= $2::date)`;
const ACTIVE_USER = `u.status = 'ACTIVE' AND (u.expiry_date IS NULL OR u.expiry_date >= $2::date)`;

/** The role type codes that count against the licence (what every count below is given). */
export async function namedRoleTypes(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ code: string } & Row>('SELECT code FROM role_type WHERE named_user ORDER BY code');
  return rows.map((r) => r.code);
}

/** Named users per institution of these (one statement; institutions with none are left out). */
export async function countNamedUsers(db: Queryable, institutionIds: string[], today: string, named: string[]): Promise<Map<string, number>> {
  if (!institutionIds.length) return new Map();
  const rows = await db.query<{ institution_id: string; n: number } & Row>(
    `SELECT r.institution_id, count(DISTINCT r.user_id)::int AS n
     FROM user_role r JOIN app_user u ON u.id = r.user_id
     WHERE r.institution_id = ANY ($1::uuid[]) AND ${NAMED_ROLE} AND ${ACTIVE_USER}
     GROUP BY r.institution_id`,
    [institutionIds, today, named],
  );
  return new Map(rows.map((r) => [r.institution_id, Number(r.n)]));
}

/** One institution's named users per named role type (a user holding two is under each). */
export async function countNamedUsersByRole(db: Queryable, institutionId: string, today: string, named: string[]): Promise<{ roleType: string; count: number }[]> {
  const rows = await db.query<{ role_type: string; n: number } & Row>(
    `SELECT r.role_type, count(DISTINCT r.user_id)::int AS n
     FROM user_role r JOIN app_user u ON u.id = r.user_id
     WHERE r.institution_id = $1 AND ${NAMED_ROLE} AND ${ACTIVE_USER}
     GROUP BY r.role_type ORDER BY n DESC, r.role_type`,
    [institutionId, today, named],
  );
  return rows.map((r) => ({ roleType: r.role_type, count: Number(r.n) }));
}

export interface NamedUserRow {
  id: string;
  primaryId: string;
  firstName: string | null;
  lastName: string | null;
  recordType: string;
  /** The named role types the user holds (active, unexpired), each once. */
  roles: string[];
  /** The last sign-in (the sign-in audit, every method), if any. */
  lastSignIn: Date | null;
}

/**
 * A page of the institution's named users (optionally only holders of one role type), sorted by
 * name, with the total. The last sign-in is the newest 'sign_in' audit event of the user, read
 * backwards along audit_event_entity (entity_id, id) for the page's users only.
 */
export async function listNamedUsers(
  db: Queryable,
  institutionId: string,
  today: string,
  named: string[],
  opts: { role?: string | undefined; limit: number; offset: number },
): Promise<{ total: number; rows: NamedUserRow[] }> {
  const rows = await db.query(
    `WITH named AS MATERIALIZED (
       SELECT DISTINCT r.user_id FROM user_role r JOIN app_user u ON u.id = r.user_id
       WHERE r.institution_id = $1 AND ${NAMED_ROLE} AND ${ACTIVE_USER} AND ($4::text IS NULL OR r.role_type = $4)
     ), page AS (
       SELECT u.id, u.primary_id, u.first_name, u.last_name, u.record_type, count(*) OVER () AS total
       FROM named n JOIN app_user u ON u.id = n.user_id
       ORDER BY lower(u.last_name), lower(u.first_name), lower(u.primary_id)
       LIMIT $5 OFFSET $6
     )
     SELECT p.*,
       ARRAY(SELECT DISTINCT r.role_type FROM user_role r WHERE r.user_id = p.id AND ${NAMED_ROLE} ORDER BY 1) AS roles,
       (SELECT a.occurred_at FROM audit_event a WHERE a.entity_id = p.id AND a.action = 'sign_in' ORDER BY a.id DESC LIMIT 1) AS last_sign_in
     FROM page p
     ORDER BY lower(p.last_name), lower(p.first_name), lower(p.primary_id)`,
    [institutionId, today, named, opts.role ?? null, opts.limit, opts.offset],
  );
  // An offset past the end has no row to carry the total: ask for it alone.
  const total = rows.length ? Number(rows[0]!.total) : opts.offset > 0 ? await countHolders(db, institutionId, today, named, opts.role) : 0;
  return {
    total,
    rows: rows.map((r) => ({
      id: r.id as string,
      primaryId: r.primary_id as string,
      firstName: (r.first_name as string | null) ?? null,
      lastName: (r.last_name as string | null) ?? null,
      recordType: r.record_type as string,
      roles: r.roles as string[],
      lastSignIn: (r.last_sign_in as Date | null) ?? null,
    })),
  };
}

async function countHolders(db: Queryable, institutionId: string, today: string, named: string[], role: string | undefined): Promise<number> {
  const r = await db.one(
    `SELECT count(DISTINCT r.user_id)::int AS n FROM user_role r JOIN app_user u ON u.id = r.user_id
     WHERE r.institution_id = $1 AND ${NAMED_ROLE} AND ${ACTIVE_USER} AND ($4::text IS NULL OR r.role_type = $4)`,
    [institutionId, today, named, role ?? null],
  );
  return Number(r.n);
}

/** Serializes the writers that could add named users to a network (refuse mode), until commit. */
export async function lockNamedUserLicence(db: Queryable, networkId: string): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('named-users:' || $1, 0))`, [networkId]);
}

/**
 * Today's count of every institution (zero included) into the history, in one statement: a second
 * run of the same day replaces the day's numbers (idempotent per day). Returns the rows written.
 */
export async function upsertNamedUserCounts(
  db: Queryable,
  day: string,
  named: string[],
  now: Date,
): Promise<{ institutionId: string; networkId: string | null; count: number }[]> {
  const rows = await db.query(
    `INSERT INTO named_user_count (institution_id, network_id, day, count, taken_at)
     SELECT i.id, i.network_id, $2::date, coalesce(c.n, 0), $1
     FROM institution i LEFT JOIN (
       SELECT r.institution_id, count(DISTINCT r.user_id)::int AS n
       FROM user_role r JOIN app_user u ON u.id = r.user_id
       WHERE ${NAMED_ROLE} AND ${ACTIVE_USER}
       GROUP BY r.institution_id
     ) c ON c.institution_id = i.id
     ON CONFLICT (institution_id, day) DO UPDATE
       SET count = EXCLUDED.count, network_id = EXCLUDED.network_id, taken_at = EXCLUDED.taken_at
     RETURNING institution_id, network_id, count`,
    [now, day, named],
  );
  return rows.map((r) => ({ institutionId: r.institution_id as string, networkId: (r.network_id as string | null) ?? null, count: Number(r.count) }));
}

/** Whether the history has a row for this day (the daily snapshot's "already done"). */
export async function hasNamedUserCounts(db: Queryable, day: string): Promise<boolean> {
  return (await db.maybeOne('SELECT 1 FROM named_user_count WHERE day = $1::date LIMIT 1', [day])) !== undefined;
}

export interface HistoryRow {
  day: string;
  /** This institution's count that day (null: no row for it). */
  count: number | null;
  /** The sum over the network's institutions that day (null outside a network). */
  networkCount: number | null;
}

/** The last `days` days of history for an institution and its network, newest first. */
export async function namedUserHistory(db: Queryable, institutionId: string, networkId: string | null, since: string): Promise<HistoryRow[]> {
  const rows = await db.query(
    `SELECT to_char(h.day, 'YYYY-MM-DD') AS day,
       max(h.count) FILTER (WHERE h.institution_id = $1) AS count,
       CASE WHEN $2::uuid IS NULL THEN NULL ELSE sum(h.count) END AS network_count
     FROM named_user_count h
     WHERE h.day >= $3::date AND (h.institution_id = $1 OR ($2::uuid IS NOT NULL AND h.network_id = $2))
     GROUP BY h.day ORDER BY h.day DESC`,
    [institutionId, networkId, since],
  );
  return rows.map((r) => ({
    day: r.day as string,
    count: r.count === null ? null : Number(r.count),
    networkCount: r.network_count === null ? null : Number(r.network_count),
  }));
}

export type LicenceLevel = 'ok' | 'warning' | 'limit';

export async function findLicenceLevel(db: Queryable, networkId: string): Promise<LicenceLevel> {
  const r = await db.maybeOne('SELECT level FROM named_user_licence_state WHERE network_id = $1', [networkId]);
  return (r?.level as LicenceLevel | undefined) ?? 'ok';
}

/**
 * Moves the network's level from `from` to `to`; false when another writer moved it first (the
 * row lock makes the second of two racing writers see the first one's level, and do nothing).
 */
export async function moveLicenceLevel(db: Queryable, networkId: string, from: LicenceLevel, to: LicenceLevel, count: number, now: Date): Promise<boolean> {
  if (from === 'ok') {
    // No row yet means 'ok': the insert is the move; a concurrent insert makes this one a no-op.
    const inserted = await db.query(
      `INSERT INTO named_user_licence_state (network_id, level, count, changed_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (network_id) DO UPDATE SET level = EXCLUDED.level, count = EXCLUDED.count, changed_at = EXCLUDED.changed_at
         WHERE named_user_licence_state.level = 'ok'
       RETURNING 1`,
      [networkId, to, count, now],
    );
    return inserted.length === 1;
  }
  const moved = await db.query(
    'UPDATE named_user_licence_state SET level = $3, count = $4, changed_at = $5 WHERE network_id = $1 AND level = $2 RETURNING 1',
    [networkId, from, to, count, now],
  );
  return moved.length === 1;
}

/** The network zone of a network (where its mail is listed), if it has one. */
export async function findNetworkZoneId(db: Queryable, networkId: string): Promise<string | null> {
  const r = await db.maybeOne('SELECT id FROM institution WHERE network_id = $1 AND is_network_zone', [networkId]);
  return (r?.id as string | undefined) ?? null;
}
