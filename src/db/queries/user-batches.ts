// The SQL that writes the user aggregate (app_user with its user_identifier and user_role rows),
// and bulk reads for SIS loads and exports: a fixed number of statements per batch whatever its
// size. New rows go by COPY (copy-text.ts); updates carry the batch as one JSON parameter. This
// is the only module that inserts or updates those tables (a write of one user is a batch of one,
// through domain/users/write-users.ts); the single-user reads are in users.ts, with the row mapping.
import { randomUUID } from 'node:crypto';
import { asJson, copyLine, type CopyValue } from '../copy-text.js';
import type { Queryable, Row } from '../database.js';
import { SCALAR_FIELDS, type ManualEditOrigin, type User, type UserRecordFields } from '../../model/user.js';
import { dropUserDocuments } from './user-documents.js';
import { rowToUser, SELECT_USER } from './users.js';

const SQL_TYPE = { text: 'text', code: 'text', date: 'date', boolean: 'boolean' } as const;
const SCALAR_DEFS = SCALAR_FIELDS.map((f) => `${f.column} ${SQL_TYPE[f.kind]}`).join(', ');
const JSONB_COLUMNS = new Set(['contact_info', 'notes', 'blocks', 'statistics', 'rs_libraries', 'library_notices', 'manual_edit_origins']);
/**
 * The jsonb segments arrive as text and are cast in the SELECT: json_to_recordset fills a jsonb
 * column of its own far more slowly (PostgreSQL 15: 500 audit rows of 1.7 kB took about 500 ms
 * that way, 30 ms as text then cast), which was most of a batch's database time. Each of these
 * values is an object or an array, never a JSON string (which as text would lose its quotes).
 */
const SEGMENT_DEFS = 'contact_info text, notes text, blocks text, statistics text, rs_libraries text, library_notices text, manual_edits text[], manual_edit_origins text';
const WRITE_COLUMNS = [...SCALAR_FIELDS.map((f) => f.column), 'contact_info', 'notes', 'blocks', 'statistics', 'rs_libraries', 'library_notices', 'manual_edits', 'manual_edit_origins'];
/** A written column's value from the recordset x. */
const fromX = (c: string) => (JSONB_COLUMNS.has(c) ? `x.${c}::jsonb` : `x.${c}`);

/**
 * user_search (migration 0006): the searched fields of the app_user row just written, each
 * column with the expression that makes it; the key columns are first.
 */
const SEARCH = [
  ['user_id', 'id'],
  ['institution_id', 'institution_id'],
  ['primary_id', 'lower(primary_id)'],
  ['first_name', 'lower(first_name)'],
  ['last_name', 'lower(last_name)'],
  ['email', 'email_search'],
] as const;
const SEARCH_COLUMNS = SEARCH.map(([c]) => c).join(', ');
const SEARCH_VALUES = SEARCH.map(([, v]) => v).join(', ');
const SEARCHED = SEARCH.slice(2).map(([c]) => c);
/** What the CTE of an update returns for them. */
const SEARCH_SOURCE = 'u.id, u.institution_id, u.primary_id, u.first_name, u.last_name, u.email_search';

export type BatchRecord = UserRecordFields & {
  manualEdits: string[];
  /** The origins of manualEdits; only those of fields in manualEdits are stored. */
  manualEditOrigins?: Record<string, ManualEditOrigin> | undefined;
  sisHash?: string | null;
};

/** The origins of the fields still marked: a restored or dropped mark takes its origin with it. */
function originsOf(manualEdits: string[], origins: Record<string, ManualEditOrigin> | undefined): Record<string, ManualEditOrigin> {
  const out: Record<string, ManualEditOrigin> = {};
  for (const f of manualEdits) if (origins?.[f]) out[f] = origins[f];
  return out;
}

function rowOf(u: BatchRecord): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const f of SCALAR_FIELDS) row[f.column] = u[f.key];
  row.contact_info = u.contactInfo;
  row.notes = u.notes;
  row.blocks = u.blocks;
  row.statistics = u.statistics;
  row.rs_libraries = u.rsLibraries;
  row.library_notices = u.libraryNotices;
  row.manual_edits = u.manualEdits;
  row.manual_edit_origins = originsOf(u.manualEdits, u.manualEditOrigins);
  row.sis_hash = u.sisHash ?? null;
  return row;
}

/**
 * The users these match keys name, with the key each was found by. matchBy is 'primary_id' or an
 * identifier type; keys are lower-cased. forUpdate locks the rows for the batch's transaction.
 */
export async function findUsersByMatchKeys(
  db: Queryable,
  institutionId: string,
  matchBy: string,
  keys: string[],
  forUpdate: boolean,
): Promise<Map<string, User>> {
  if (!keys.length) return new Map();
  const lock = forUpdate ? ' FOR UPDATE OF u' : '';
  const rows =
    matchBy === 'primary_id'
      ? await db.query(
          `${SELECT_USER} WHERE u.id IN (SELECT a.id FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
             (SELECT id FROM app_user WHERE institution_id = $1 AND lower(primary_id) = k.v LIMIT 1) a)${lock}`,
          [institutionId, keys],
        )
      : await db.query(
          `${SELECT_USER} WHERE u.id IN (SELECT i.user_id FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
             (SELECT user_id FROM user_identifier WHERE institution_id = $1 AND lower(value) = k.v AND id_type = $3 LIMIT 1) i)${lock}`,
          [institutionId, keys, matchBy],
        );
  const wanted = new Set(keys);
  const out = new Map<string, User>();
  for (const r of rows) {
    const user = rowToUser(r);
    if (matchBy === 'primary_id') out.set(user.primaryId.toLowerCase(), user);
    else for (const i of user.identifiers) if (i.idType === matchBy && wanted.has(i.value.toLowerCase())) out.set(i.value.toLowerCase(), user);
  }
  return out;
}

/** What a load needs to know of a matched user before (maybe) reading all of it. */
export interface MatchState {
  id: string;
  primaryId: string;
  version: number;
  accountType: 'INTERNAL' | 'EXTERNAL';
  externalId: string | null;
  sisHash: string | null;
  sisVersion: number | null;
}

/** The match states of the users these keys name, by key (one narrow index-only-ish query). */
export async function findMatchStates(db: Queryable, institutionId: string, matchBy: string, keys: string[]): Promise<Map<string, MatchState>> {
  if (!keys.length) return new Map();
  const cols = `u.id, u.primary_id AS "primaryId", u.version, u.account_type AS "accountType", u.external_id AS "externalId", u.sis_hash AS "sisHash",
    u.sis_version AS "sisVersion"`;
  // One unique-index probe per key (LATERAL ... LIMIT 1), whatever the table statistics say:
  // during and right after a bulk load they still describe a much smaller table, and a plan made
  // from them scans the whole table for every batch.
  const rows =
    matchBy === 'primary_id'
      ? await db.query<MatchState & { key: string } & Row>(
          `SELECT k.v AS key, ${cols} FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
             (SELECT * FROM app_user WHERE institution_id = $1 AND lower(primary_id) = k.v LIMIT 1) u`,
          [institutionId, keys],
        )
      : await db.query<MatchState & { key: string } & Row>(
          `SELECT k.v AS key, ${cols} FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
             (SELECT user_id FROM user_identifier WHERE institution_id = $1 AND lower(value) = k.v AND id_type = $3 LIMIT 1) i
           JOIN app_user u ON u.id = i.user_id`,
          [institutionId, keys, matchBy],
        );
  return new Map(rows.map((r) => [r.key, r]));
}

/** Locks these users (in id order, so two loads never deadlock) and returns their versions. */
export async function lockUserVersions(db: Queryable, ids: string[]): Promise<Map<string, number>> {
  if (!ids.length) return new Map();
  const rows = await db.query<{ id: string; version: number }>(
    'SELECT id, version FROM app_user WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.version]));
}

/** After a load found a user unchanged the slow way: remember it, so the next load finds it fast. */
export async function markSisState(db: Queryable, marks: { id: string; version: number; sisHash: string }[]): Promise<void> {
  if (!marks.length) return;
  await db.query(
    `UPDATE app_user u SET sis_hash = x.sis_hash, sis_version = x.version
     FROM json_to_recordset($1::json) AS x(id uuid, version int, sis_hash text)
     WHERE u.id = x.id AND u.version = x.version`,
    [JSON.stringify(marks.map((m) => ({ id: m.id, version: m.version, sis_hash: m.sisHash })))],
  );
}

/** Lower-cased primary ids and identifier values starting with any of these prefixes. */
export async function findIdsWithPrefixes(db: Queryable, institutionIds: string[], prefixes: string[]): Promise<Set<string>> {
  if (!prefixes.length) return new Set();
  const patterns = prefixes.map((p) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const rows = await db.query<{ v: string }>(
    `SELECT lower(primary_id) AS v FROM app_user WHERE institution_id = ANY($1::uuid[]) AND lower(primary_id) LIKE ANY($2::text[])
     UNION SELECT lower(value) FROM user_identifier WHERE institution_id = ANY($1::uuid[]) AND lower(value) LIKE ANY($2::text[])`,
    [institutionIds, patterns],
  );
  return new Set(rows.map((r) => r.v));
}

/** app_user's columns a COPY of new users fills, in copyLineOf's order. */
const COPY_COLUMNS = ['id', 'institution_id', ...WRITE_COLUMNS, 'sis_hash', 'sis_version'];

/** A new user's app_user row in COPY text; jsonb segments as JSON, manual_edits as text[]. */
function copyLineOf(id: string, institutionId: string, u: BatchRecord): string {
  const row = rowOf(u);
  return copyLine([
    id,
    institutionId,
    ...WRITE_COLUMNS.map((c) => (JSONB_COLUMNS.has(c) ? asJson(row[c]) : (row[c] as CopyValue))),
    row.sis_hash as string | null,
    row.sis_hash ? 1 : null,
  ]);
}

/**
 * Inserts the users with their identifiers and roles; returns the new ids by lower-cased primary
 * id. The rows go by COPY (copy-text.ts), so the ids are made here; each user's row of
 * user_search (the brief search's narrow copy, migration 0006) is made from the row stored.
 */
export async function insertUsers(db: Queryable, institutionId: string, users: BatchRecord[]): Promise<Map<string, string>> {
  if (!users.length) return new Map();
  const ids = users.map(() => randomUUID());
  await db.copyFrom(`COPY app_user (${COPY_COLUMNS.join(', ')}) FROM STDIN`, users.map((u, k) => copyLineOf(ids[k]!, institutionId, u)).join(''));
  await db.query(`INSERT INTO user_search (${SEARCH_COLUMNS}) SELECT ${SEARCH_VALUES} FROM app_user WHERE id = ANY($1::uuid[])`, [ids]);
  const children = users.map((u, k) => ({ userId: ids[k]!, user: u }));
  await insertIdentifiers(db, institutionId, children);
  await insertRoles(db, institutionId, children);
  return new Map(users.map((u, k) => [u.primaryId.toLowerCase(), ids[k]!]));
}

async function insertIdentifiers(db: Queryable, institutionId: string, users: { userId: string; user: UserRecordFields }[]): Promise<void> {
  const lines = users.flatMap(({ userId, user }) =>
    user.identifiers.map((i, position) => copyLine([userId, institutionId, position, i.idType, i.value, i.note, i.status, i.segmentType])),
  );
  if (!lines.length) return;
  await db.copyFrom('COPY user_identifier (user_id, institution_id, position, id_type, value, note, status, segment_type) FROM STDIN', lines.join(''));
}

async function insertRoles(db: Queryable, institutionId: string, users: { userId: string; user: UserRecordFields }[]): Promise<void> {
  const lines = users.flatMap(({ userId, user }) =>
    user.roles.map((r, position) => copyLine([userId, institutionId, position, r.roleType, r.scope, r.status, r.expiryDate, asJson(r.parameters)])),
  );
  if (!lines.length) return;
  await db.copyFrom('COPY user_role (user_id, institution_id, position, role_type, scope, status, expiry_date, parameters) FROM STDIN', lines.join(''));
}

export interface BatchUpdate {
  id: string;
  version: number;
  record: BatchRecord;
  /** Rewrite the user's identifier rows (only when they changed). */
  identifiersChanged: boolean;
  /** Rewrite the user's role rows (only when they changed). */
  rolesChanged: boolean;
}

/**
 * Replaces the users' records where the version is still the one read, as a new version of each;
 * returns the ids it updated. Callers read the rows FOR UPDATE, so a miss means a bug, not a race.
 */
export async function updateUsers(db: Queryable, institutionId: string, updates: BatchUpdate[]): Promise<Set<string>> {
  if (!updates.length) return new Set();
  // user_search is rewritten only where a searched field changed (most SIS updates touch none).
  const rows = await db.query<{ id: string }>(
    `WITH updated AS (
       UPDATE app_user u SET ${WRITE_COLUMNS.map((c) => `${c} = ${fromX(c)}`).join(', ')}, version = u.version + 1, updated_at = now(),
         sis_hash = x.sis_hash, sis_version = CASE WHEN x.sis_hash IS NULL THEN NULL ELSE u.version + 1 END
       FROM json_to_recordset($1::json) AS x(id uuid, version int, ${SCALAR_DEFS}, ${SEGMENT_DEFS}, sis_hash text)
       WHERE u.id = x.id AND u.version = x.version
       RETURNING ${SEARCH_SOURCE}),
     searched AS (
       INSERT INTO user_search AS s (${SEARCH_COLUMNS}) SELECT ${SEARCH_VALUES} FROM updated
       ON CONFLICT (user_id) DO UPDATE SET ${SEARCHED.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
       WHERE (${SEARCHED.map((c) => `s.${c}`).join(', ')}) IS DISTINCT FROM (${SEARCHED.map((c) => `EXCLUDED.${c}`).join(', ')}))
     SELECT id FROM updated`,
    [JSON.stringify(updates.map((u) => ({ id: u.id, version: u.version, ...rowOf(u.record) })))],
  );
  const done = new Set(rows.map((r) => r.id));
  // After the UPDATE, which holds the rows: a reader storing a document waits for this
  // transaction and then finds the version moved (user-documents.ts: storeUserDocument).
  await dropUserDocuments(db, [...done]);
  const children = (changed: (u: BatchUpdate) => boolean) =>
    updates.filter((u) => done.has(u.id) && changed(u)).map((u) => ({ userId: u.id, user: u.record }));
  const identifiers = children((u) => u.identifiersChanged);
  if (identifiers.length) {
    await db.query('DELETE FROM user_identifier WHERE user_id = ANY($1::uuid[])', [identifiers.map((u) => u.userId)]);
    await insertIdentifiers(db, institutionId, identifiers);
  }
  const roles = children((u) => u.rolesChanged);
  if (roles.length) {
    await db.query('DELETE FROM user_role WHERE user_id = ANY($1::uuid[])', [roles.map((u) => u.userId)]);
    await insertRoles(db, institutionId, roles);
  }
  return done;
}

/** Deletes the users; their identifiers, roles, credentials and documents go with them (ON DELETE CASCADE). */
export async function deleteUsers(db: Queryable, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await db.query('DELETE FROM app_user WHERE id = ANY($1::uuid[])', [ids]);
}

/**
 * The account-type toggle (identity module): only these two fields change, as a new version. Not
 * through domain/users/write-users.ts: the identity module audits it as its own event
 * (user.account_type, with what happened to the password), not as a user.update.
 */
export async function updateAccountType(
  db: Queryable,
  id: string,
  accountType: 'INTERNAL' | 'EXTERNAL',
  externalId: string | null,
): Promise<void> {
  await db.query(
    'UPDATE app_user SET account_type = $2, external_id = $3, version = version + 1, updated_at = now() WHERE id = $1',
    [id, accountType, externalId],
  );
  await dropUserDocuments(db, [id]);
}

/**
 * Protected fields staff edited by hand (restoring one hands it back to SIS loads), as a new
 * version; audited by manual-edits.ts as user.restore_sis_fields (the record itself is unchanged).
 */
export async function updateManualEdits(
  db: Queryable,
  id: string,
  manualEdits: string[],
  origins: Record<string, ManualEditOrigin> | undefined,
): Promise<void> {
  await db.query(
    'UPDATE app_user SET manual_edits = $2, manual_edit_origins = $3::jsonb, version = version + 1, updated_at = now() WHERE id = $1',
    [id, manualEdits, JSON.stringify(originsOf(manualEdits, origins))],
  );
  await dropUserDocuments(db, [id]);
}

/**
 * Active users of an SIS profile whose match key is not among the keys a job recorded: the ones a
 * full file no longer names. Keyset-paged by id.
 */
export async function findProfileUsersNotSeen(
  db: Queryable,
  q: { institutionId: string; profileCode: string; matchBy: string; jobId: string; afterId: string | null; limit: number },
): Promise<User[]> {
  const seen =
    q.matchBy === 'primary_id'
      ? 'EXISTS (SELECT 1 FROM job_seen_key s WHERE s.job_id = $3 AND s.match_key = lower(u.primary_id))'
      : `EXISTS (SELECT 1 FROM user_identifier i JOIN job_seen_key s ON s.job_id = $3 AND s.match_key = lower(i.value)
           WHERE i.user_id = u.id AND i.id_type = $6)`;
  const rows = await db.query(
    `${SELECT_USER} WHERE u.institution_id = $1 AND lower(u.external_id) = lower($2) AND u.account_type = 'EXTERNAL'
       AND u.status = 'ACTIVE' AND NOT ${seen} AND ($4::uuid IS NULL OR u.id > $4::uuid)
     ORDER BY u.id LIMIT $5`,
    [q.institutionId, q.profileCode, q.jobId, q.afterId, q.limit, ...(q.matchBy === 'primary_id' ? [] : [q.matchBy])],
  );
  return rows.map(rowToUser);
}

export interface ExportFilter {
  institutionId: string;
  /** Users changed on or after this date (YYYY-MM-DD). */
  since?: string | undefined;
  /** external_id: the users of this SIS profile. */
  profileCode?: string | undefined;
  userGroup?: string | undefined;
}

/** One page of full users for an export, in id order after `afterId`. */
export async function findUsersForExport(db: Queryable, f: ExportFilter, afterId: string | null, limit: number): Promise<User[]> {
  const rows = await db.query(
    `${SELECT_USER} WHERE u.institution_id = $1 AND ($2::uuid IS NULL OR u.id > $2::uuid)
       AND ($3::date IS NULL OR u.updated_at >= $3::date)
       AND ($4::text IS NULL OR lower(u.external_id) = lower($4))
       AND ($5::text IS NULL OR lower(u.user_group) = lower($5))
     ORDER BY u.id LIMIT $6`,
    [f.institutionId, afterId, f.since ?? null, f.profileCode ?? null, f.userGroup ?? null, limit],
  );
  return rows.map(rowToUser);
}

export async function countUsersForExport(db: Queryable, f: ExportFilter): Promise<number> {
  const r = await db.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM app_user u WHERE u.institution_id = $1
       AND ($2::date IS NULL OR u.updated_at >= $2::date)
       AND ($3::text IS NULL OR lower(u.external_id) = lower($3))
       AND ($4::text IS NULL OR lower(u.user_group) = lower($4))`,
    [f.institutionId, f.since ?? null, f.profileCode ?? null, f.userGroup ?? null],
  );
  return r.n;
}
