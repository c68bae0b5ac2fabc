// SQL that reads the user aggregate (app_user with its user_identifier and user_role rows), one
// user or a search at a time. Writes are set-based, in user-batches.ts, for one user as for many.
import type { Queryable, Row } from '../database.js';
import { FILTER_FIELDS, type BriefSearch, type FilterField, type SearchField } from '../../model/brief-search.js';
import { SCALAR_FIELDS, type BriefUser, type User } from '../../model/user.js';

const SCALAR_COLUMNS = SCALAR_FIELDS.map((f) => `u.${f.column}`).join(', ');

/** The full user with its identifiers and roles; callers add WHERE on `u` (batch queries too). */
export const SELECT_USER = `
  SELECT u.id, u.institution_id, ${SCALAR_COLUMNS},
    u.contact_info, u.notes, u.blocks, u.statistics, u.rs_libraries, u.library_notices,
    u.manual_edits, u.manual_edit_origins, u.version, u.created_at, u.updated_at,
    COALESCE((SELECT json_agg(json_build_object('idType', i.id_type, 'value', i.value, 'note', i.note,
        'status', i.status, 'segmentType', i.segment_type) ORDER BY i.position)
      FROM user_identifier i WHERE i.user_id = u.id), '[]') AS identifiers,
    COALESCE((SELECT json_agg(json_build_object('roleType', r.role_type, 'scope', r.scope, 'status', r.status,
        'expiryDate', r.expiry_date, 'parameters', r.parameters) ORDER BY r.position)
      FROM user_role r WHERE r.user_id = u.id), '[]') AS roles
  FROM app_user u`;

export function rowToUser(row: Row): User {
  const user: Record<string, unknown> = {
    id: row.id,
    institutionId: row.institution_id,
    contactInfo: row.contact_info,
    notes: row.notes,
    blocks: row.blocks,
    statistics: row.statistics,
    rsLibraries: row.rs_libraries,
    libraryNotices: row.library_notices,
    identifiers: row.identifiers,
    roles: row.roles,
    manualEdits: row.manual_edits,
    manualEditOrigins: row.manual_edit_origins ?? {},
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  for (const f of SCALAR_FIELDS) user[f.key] = row[f.column] ?? (f.kind === 'boolean' ? false : null);
  return user as unknown as User;
}

export async function findUserById(db: Queryable, id: string, forUpdate = false): Promise<User | undefined> {
  const row = await db.maybeOne(`${SELECT_USER} WHERE u.id = $1${forUpdate ? ' FOR UPDATE OF u' : ''}`, [id]);
  return row && rowToUser(row);
}

/**
 * The id of the user whose primary id or any identifier is $2 in institution $1: one indexed probe
 * per table. Shared with the login query (identity-login.ts) and the stored documents
 * (user-documents.ts) so "any identifier" means one thing. Identifiers are asked first: a barcode
 * scanned at the desk is the commonest lookup, and under LIMIT 1 a hit there spares the second
 * probe (a value is one user's primary id or identifier, never both: one namespace).
 */
export const ANY_IDENTIFIER_TARGET = `SELECT user_id FROM user_identifier WHERE institution_id = $1 AND lower(value) = lower($2)
      UNION ALL SELECT id FROM app_user WHERE institution_id = $1 AND lower(primary_id) = lower($2)`;

/**
 * The user whose primary id or any identifier is `value` (case-insensitive), in one statement.
 * idType narrows it: 'primary_id', an identifier type code, or 'linking_id'.
 */
export async function findUserByIdentifier(
  db: Queryable,
  institutionId: string,
  value: string,
  idType?: string,
): Promise<User | undefined> {
  // One statement per lookup kind, each prepared once per connection: this is the hottest query
  // of the API (a barcode scanned at the desk, a script's GET) and costs more to plan than to run.
  const params: unknown[] = [institutionId, value];
  let kind: string;
  let target: string;
  if (!idType) {
    kind = 'any';
    target = ANY_IDENTIFIER_TARGET;
  } else if (idType === 'primary_id') {
    kind = idType;
    target = 'SELECT id FROM app_user WHERE institution_id = $1 AND lower(primary_id) = lower($2)';
  } else if (idType === 'linking_id') {
    kind = idType;
    target = 'SELECT id FROM app_user WHERE institution_id = $1 AND linking_id = $2';
  } else {
    kind = 'typed';
    target = `SELECT user_id FROM user_identifier WHERE institution_id = $1 AND lower(value) = lower($2) AND id_type = $3`;
    params.push(idType);
  }
  const row = await db.maybeOne(`${SELECT_USER} WHERE u.id = (${target} LIMIT 1)`, params, { name: `user-by-identifier-${kind}` });
  return row && rowToUser(row);
}

/**
 * Who holds these values (lower-cased), as a primary id or an identifier, in these institutions:
 * one unique-index probe per value, table and institution (LATERAL ... LIMIT 1, whatever the
 * table statistics say: during and right after a bulk load they describe a much smaller table).
 * Callers hold lockIdentifierValues first, so the answer stays true until commit.
 */
export async function findValueHolders(db: Queryable, institutionIds: string[], values: string[]): Promise<{ userId: string; value: string }[]> {
  if (!values.length) return [];
  return db.query<{ userId: string; value: string } & Row>(
    `SELECT a.id AS "userId", k.v AS value FROM unnest($1::text[]) AS k(v), unnest($2::uuid[]) AS inst(id) CROSS JOIN LATERAL
       (SELECT id FROM app_user WHERE institution_id = inst.id AND lower(primary_id) = k.v LIMIT 1) a
     UNION ALL
     SELECT i.user_id, k.v FROM unnest($1::text[]) AS k(v), unnest($2::uuid[]) AS inst(id) CROSS JOIN LATERAL
       (SELECT user_id FROM user_identifier WHERE institution_id = inst.id AND lower(value) = k.v LIMIT 1) i`,
    [values, institutionIds],
  );
}

/** Serializes writers of the same identifier value within a scope (institution or network). */
export async function lockIdentifierValues(db: Queryable, scope: string, values: string[]): Promise<void> {
  if (!values.length) return;
  await db.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended($1 || ':' || v, 0) AS h FROM unnest($2::text[]) AS v ORDER BY 1) s`,
    [scope, values],
  );
}

/** A search hit: Alma's brief user, with the keys paging and expand=full need. */
export interface BriefUserRow extends BriefUser {
  id: string;
  updatedAt: Date;
}

/** LIKE's own specials made literal. */
const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Contains-match pattern for LIKE: the user's * is a wildcard, LIKE's own specials are literal. */
function likePattern(value: string): string {
  return `%${escapeLike(value.toLowerCase()).replace(/\*/g, '%')}%`;
}

// Each brief-search field as conditions on user_search s (the narrow, lower-cased copy of the
// fields most searched, migration 0006) or app_user u; $ is the LIKE pattern or exact value. A
// field that matches in two places (identifiers, ALL) gives two alternatives: each becomes a
// branch of a UNION ALL that one set of indexes can serve, where an OR with a subquery would make
// PostgreSQL visit every user of the institution.
//
// A condition is SQL on s and u, or the users whose identifier matches. A pattern of five
// characters or more matches few identifiers, and those drive their branch (each found user's
// user_search row read by its key): as `s.user_id IN (...)` the planner guessed thousands of
// matches for such a pattern, hashed them and read all of user_search (a university id's first
// six digits, 600 matches: 290-640 ms at a million users, against 30 ms driven; bench/README.md,
// issue 10). A shorter one can match most of the institution, where reading user_search whole
// is the cheaper plan and the planner's guess is good.
type Condition = string | { identifiers: string };

/**
 * A term's LIKE pattern as parameters: the whole, and what the trigram indexes are given. A
 * trigram index finds the rows holding every trigram of its pattern, and an e-mail address shares
 * a dozen with every address of its domain: `%igarerson233216@univ.example.edu%` read 4,140 index
 * pages (125 ms) at a million users, its first twelve characters 111 pages (2 ms). So the index
 * gets at most the first INDEXED_CHARS characters, a pattern the whole one's matches all match,
 * and the whole is checked on the rows found through an expression no index serves (`|| ''`).
 */
interface Pattern {
  whole: string;
  indexed: () => string;
}
const INDEXED_CHARS = 12;
const trigram = (expr: string, p: Pattern) => {
  const index = p.indexed();
  return index === p.whole ? `${expr} LIKE ${p.whole}` : `(${expr} LIKE ${index} AND (${expr} || '') LIKE ${p.whole})`;
};
const asFilter = (c: Condition) => (typeof c === 'string' ? c : `s.user_id IN (${c.identifiers})`);
const IDENTIFIER_VALUE = (p: Pattern, value: string): Condition => {
  const matches = { identifiers: `SELECT DISTINCT i.user_id FROM user_identifier i WHERE i.institution_id = $1 AND ${trigram('lower(i.value)', p)}` };
  return value.replace(/\*/g, '').length >= 5 ? matches : asFilter(matches);
};
const TERM_SQL: Record<SearchField, (p: Pattern, value: string) => Condition[]> = {
  primary_id: (p) => [trigram('s.primary_id', p)],
  first_name: (p) => [trigram('s.first_name', p)],
  last_name: (p) => [trigram('s.last_name', p)],
  middle_name: (p) => [`lower(u.middle_name) LIKE ${p.whole}`],
  email: (p) => [trigram('s.email', p)],
  phone_number: (p) => [`u.phone_search LIKE ${p.whole}`],
  job_category: (p) => [`lower(u.job_category) LIKE ${p.whole}`],
  user_group: (p) => [`lower(u.user_group) LIKE ${p.whole}`],
  campus_code: (p) => [`lower(u.campus_code) LIKE ${p.whole}`],
  identifiers: (p, v) => [trigram('s.primary_id', p), IDENTIFIER_VALUE(p, v)],
  id_type: (p) => [`EXISTS (SELECT 1 FROM user_identifier i WHERE i.user_id = s.user_id AND lower(i.id_type) LIKE ${p.whole})`],
  birth_date: (p) => [`u.birth_date = ${p.whole}::date`],
  block_type: (p) => [`EXISTS (SELECT 1 FROM jsonb_array_elements(u.blocks) b WHERE lower(b->>'blockType') LIKE ${p.whole})`],
  note_text: (p) => [`EXISTS (SELECT 1 FROM jsonb_array_elements(u.notes) n WHERE lower(n->>'noteText') LIKE ${p.whole})`],
  note_type: (p) => [`EXISTS (SELECT 1 FROM jsonb_array_elements(u.notes) n WHERE lower(n->>'noteType') LIKE ${p.whole})`],
  statistic_category: (p) => [`EXISTS (SELECT 1 FROM jsonb_array_elements(u.statistics) st WHERE lower(st->>'statisticCategory') LIKE ${p.whole})`],
  // Alma: every field except e-mails, birth date and identifiers.
  general_info: (p) => [
    `(${trigram('s.primary_id', p)} OR ${trigram('s.first_name', p)} OR ${trigram('s.last_name', p)}
      OR lower(u.middle_name) LIKE ${p.whole} OR lower(u.job_category) LIKE ${p.whole} OR lower(u.job_description) LIKE ${p.whole}
      OR lower(u.user_group) LIKE ${p.whole} OR lower(u.campus_code) LIKE ${p.whole} OR u.phone_search LIKE ${p.whole})`,
  ],
  // One branch the four trigram indexes of user_search serve together (a BitmapOr), one through
  // the identifiers' trigram index.
  ALL: (p, v) => [`(${trigram('s.primary_id', p)} OR ${trigram('s.first_name', p)} OR ${trigram('s.last_name', p)} OR ${trigram('s.email', p)})`, IDENTIFIER_VALUE(p, v)],
};

/** Every way of picking one alternative per term (a term of one alternative has one way). */
function branchesOf(terms: Condition[][]): Condition[][] {
  return terms.reduce<Condition[][]>((acc, alternatives) => acc.flatMap((picked) => alternatives.map((a) => [...picked, a])), [[]]);
}

/**
 * For the rest of the transaction, plans for a search as you type, which reads a few index pages:
 * no parallel workers (starting two cost 150 to 300 ms on a busy two-core machine against 2 to 20
 * ms for the whole search without them), and no JIT compilation (an identifier prefix the planner
 * guessed 16,000 matches for, 594 in fact, passed its cost threshold and spent 30 to 150 ms
 * compiling a 6 ms statement; bench/README.md, issue 10).
 */
export async function planForSearchAsYouType(tx: Queryable): Promise<void> {
  await tx.query(`SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`);
}

export async function searchUsers(
  db: Queryable,
  institutionId: string,
  search: BriefSearch,
): Promise<SearchResult> {
  const params: unknown[] = [institutionId];
  const terms: Condition[][] = [];
  for (const term of search.terms) {
    params.push(term.field === 'birth_date' ? term.value : likePattern(term.value));
    const whole = `$${params.length}`;
    // A long text: the trigram indexes get its first INDEXED_CHARS characters, a parameter made
    // when a condition uses it (PostgreSQL refuses a parameter no statement names).
    const chars = [...term.value];
    let index = chars.length > INDEXED_CHARS ? undefined : whole;
    const indexed = () => (index ??= (params.push(likePattern(chars.slice(0, INDEXED_CHARS).join(''))), `$${params.length}`));
    terms.push(TERM_SQL[term.field]({ whole, indexed }, term.value));
  }
  // Exact filters (the console's): one alternative each, so every branch carries them. Column names
  // come from the model's fixed list, never from the request.
  for (const [name, value] of Object.entries(search.filters ?? {})) {
    params.push(value);
    terms.push([`u.${FILTER_FIELDS[name as FilterField]} = $${params.length}`]);
  }
  if (search.modifiedSince) {
    params.push(search.modifiedSince);
    terms.push([`u.updated_at >= $${params.length}::date`]);
  }
  const limit = Number(search.limit);
  const offset = Number(search.offset);
  if (!search.terms.length) {
    // Everyone (or everyone changed since a date): walk the sort index for the page.
    const whereSql = ['u.institution_id = $1', ...terms.flat().map(asFilter)].join(' AND ');
    const order = search.orderBy.map((c) => `lower(u.${c})`).join(', ');
    const count = () => countUpTo(db, `SELECT 1 FROM app_user u WHERE ${whereSql}`, params, search.countUpTo);
    if (limit === 0) return count();
    const [counted, rows] = await Promise.all([
      count(),
      db.query<BriefUserRow & Row>(`SELECT ${BRIEF_COLUMNS} FROM app_user u WHERE ${whereSql} ORDER BY ${order}, u.id LIMIT ${limit} OFFSET ${offset}`, params),
    ]);
    return { ...counted, rows };
  }
  // A search: collect the matches once through the trigram indexes of the narrow user_search
  // (the planner would otherwise walk the sort index and filter most of the institution to find
  // a page of "smi"), a branch per alternative when a term matches in two places, then count
  // them (exactly, as scripts page until total_record_count, unless search.countUpTo says
  // otherwise) and sort only their keys for the page.
  // app_user is joined only for a field that lives there, and for the page's brief records.
  const keys = search.orderBy.map((c, i) => `s.${c} AS k${i}`).join(', ');
  // Each branch leaves out what an earlier one found (IS NOT TRUE: a NULL field is no match), so
  // the branches add up without a sort to remove duplicates.
  const all = branchesOf(terms);
  const branches = all.map((conditions, k) => {
    const found = all.slice(0, k).map((earlier) => `(${earlier.map(asFilter).join(' AND ')}) IS NOT TRUE`);
    const driver = conditions.find((c) => typeof c !== 'string');
    const where = ['s.institution_id = $1', ...conditions.filter((c) => c !== driver).map(asFilter), ...found];
    const joinUser = where.some((c) => /\bu\./.test(c)) ? ' JOIN app_user u ON u.id = s.user_id' : '';
    // LIMIT 1 keeps the subquery a lookup by key for each found user (a plain join could be hashed).
    const from = driver
      ? `(${driver.identifiers}) m CROSS JOIN LATERAL (SELECT * FROM user_search WHERE user_id = m.user_id LIMIT 1) s`
      : 'user_search s';
    return `SELECT s.user_id AS id, ${keys} FROM ${from}${joinUser} WHERE ${where.join(' AND ')}`;
  });
  const hits = branches.join('\n UNION ALL ');
  if (search.bestMatch) return searchBestMatch(db, search, search.bestMatch, hits, params);
  if (limit === 0) return countUpTo(db, hits, params, search.countUpTo);
  return pageOfMatches(db, search, hits, params);
}

export interface SearchResult {
  total: number;
  /** The matches were counted up to `total` and there are more (BriefSearch.countUpTo). */
  atLeast?: boolean;
  rows: BriefUserRow[];
}

/** A count of up to limit + 1 rows as a result: beyond `limit` it is "at least" that. */
const cappedAt = (n: number, limit: number | undefined, rows: BriefUserRow[]): SearchResult =>
  limit !== undefined && n > limit ? { total: limit, atLeast: true, rows } : { total: n, rows };

/** The rows of `sql` counted, up to `limit` when one is given (then "at least" beyond it). */
async function countUpTo(db: Queryable, sql: string, params: unknown[], limit?: number): Promise<SearchResult> {
  const { n } = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}${limit === undefined ? '' : ` LIMIT ${limit + 1}`}) c`, params);
  return cappedAt(n, limit, []);
}

/**
 * One statement: the matches collected once, counted (up to search.countUpTo when set), and only
 * their sort keys sorted for the page; app_user is read for the page's brief records. `except`
 * leaves matches out of the page (not of the count), `skip` replaces the search's offset. The
 * total comes back even when the page is empty.
 */
async function pageOfMatches(db: Queryable, search: BriefSearch, hits: string, params: unknown[], page: { except?: string; skip?: number; limit?: number } = {}): Promise<SearchResult> {
  const keys = search.orderBy.map((_c, i) => `k${i}`).join(', ');
  const counted = search.countUpTo === undefined ? 'hits' : `(SELECT 1 FROM hits LIMIT ${search.countUpTo + 1}) c`;
  const rows = await db.query<BriefUserRow & Row & { total: number }>(
    `WITH hits AS MATERIALIZED (${hits}),
          page AS (SELECT * FROM hits ${page.except ? `WHERE ${page.except}` : ''} ORDER BY ${keys}, id
                   LIMIT ${page.limit ?? search.limit} OFFSET ${page.skip ?? search.offset})
     SELECT t.total, ${BRIEF_COLUMNS}
     FROM (SELECT count(*)::int AS total FROM ${counted}) t LEFT JOIN page ON true LEFT JOIN app_user u ON u.id = page.id
     ORDER BY ${search.orderBy.map((_c, i) => `page.k${i}`).join(', ')}, page.id`,
    params,
  );
  const found = rows.filter((r) => r.id !== null).map(({ total: _total, ...row }) => row as BriefUserRow & Row);
  return cappedAt(rows[0]?.total ?? 0, search.countUpTo, found);
}

/**
 * The console's search as you type (BEST_MATCH_ORDER): a page of the users whose last name begins
 * with the text, walked in name order on app_user's sort index and stopping at the page, and the
 * matches counted up to countUpTo; the other matches, in name order, only for a page the first
 * group does not fill (what a name order over every match costs, paid only there). The first
 * group is the range of the text's last names (which an index walks) that also begins with it by
 * LIKE, the second every match outside exactly that, so each match is in one group whatever the
 * collation.
 */
async function searchBestMatch(db: Queryable, search: BriefSearch, text: string, hits: string, params: unknown[]): Promise<SearchResult> {
  const { limit, offset } = search;
  if (limit === 0) return countUpTo(db, hits, params, search.countUpTo);
  const above = nextString(text);
  const bounds = [text, `${escapeLike(text)}%`, ...(above ? [above] : [])];
  const inRange = (key: string, at: number) => `${key} >= $${at} AND ${key} LIKE $${at + 1}${above ? ` AND ${key} < $${at + 2}` : ''}`;
  // The first group, on app_user: lower(last_name) is app_user_sort's second column.
  const filters = Object.entries(search.filters ?? {});
  const firstParams = [params[0], ...filters.map(([, v]) => v), ...bounds];
  const where = ['u.institution_id = $1', ...filters.map(([name], i) => `u.${FILTER_FIELDS[name as FilterField]} = $${i + 2}`), inRange('lower(u.last_name)', filters.length + 2)].join(' AND ');
  const byName = 'lower(u.last_name), lower(u.first_name), lower(u.primary_id), u.id';
  const rows = await db.query<BriefUserRow & Row>(`SELECT ${BRIEF_COLUMNS} FROM app_user u WHERE ${where} ORDER BY ${byName} LIMIT ${limit} OFFSET ${offset}`, firstParams);
  if (rows.length === limit) return { ...(await countUpTo(db, hits, params, search.countUpTo)), rows };
  // The page goes past the first group: the rest of it from the other matches (k0 is the
  // lower-cased last name), counted in the same statement.
  const inFirst = rows.length || !offset ? offset + rows.length : (await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM app_user u WHERE ${where}`, firstParams)).n;
  const others = await pageOfMatches(db, search, hits, [...params, ...bounds], {
    except: `(${inRange('k0', params.length + 1)}) IS NOT TRUE`,
    skip: Math.max(0, offset - inFirst),
    limit: limit - rows.length,
  });
  return { ...others, rows: [...rows, ...others.rows] };
}

/**
 * A string above every string that begins with `text` in code-point order (its last character's
 * next; none after U+10FFFF). Collations that order otherwise only move users between the groups.
 */
function nextString(text: string): string | null {
  const chars = [...text];
  const next = chars.pop()!.codePointAt(0)! + 1;
  if (next > 0x10ffff) return null;
  return chars.join('') + String.fromCodePoint(next >= 0xd800 && next <= 0xdfff ? 0xe000 : next);
}

const BRIEF_COLUMNS = `u.id, u.primary_id AS "primaryId", u.first_name AS "firstName", u.middle_name AS "middleName",
  u.last_name AS "lastName", u.record_type AS "recordType", u.account_type AS "accountType", u.status,
  u.user_group AS "userGroup", u.gender, u.expiry_date AS "expiryDate", u.purge_date AS "purgeDate",
  u.updated_at AS "updatedAt"`;

/** Full records for a page of ids, in the order given (for expand=full). */
export async function findUsersByIds(db: Queryable, ids: string[]): Promise<User[]> {
  if (!ids.length) return [];
  const rows = await db.query(`${SELECT_USER} WHERE u.id = ANY($1::uuid[])`, [ids]);
  const byId = new Map(rows.map((r) => [r.id as string, rowToUser(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function countUsers(db: Queryable, institutionId: string): Promise<number> {
  return (await db.one<{ n: number }>('SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1', [institutionId]))
    .n;
}

/**
 * The ids of up to `limit` users of the institution with this e-mail address (case-insensitive,
 * the whole address): the e-mail-link login's lookup, over user_search's trigram index on the
 * addresses (app_user.email_search lost its index to user_search in migration 0006; a LIKE on
 * it read every user of the institution at each request for a link).
 */
export async function findUserIdsByEmail(db: Queryable, institutionId: string, email: string, limit = 2): Promise<string[]> {
  // email_search is the lower-cased JSON array of addresses: the quotes bound a whole address.
  // The trigram index gets the address's beginning (see Pattern: its domain is everyone's).
  const chars = [...email.toLowerCase()];
  const head = chars.length > INDEXED_CHARS ? [`%"${escapeLike(chars.slice(0, INDEXED_CHARS).join(''))}%`] : [];
  const rows = await db.query<{ id: string }>(
    `SELECT user_id AS id FROM user_search WHERE institution_id = $1 AND ${trigram('email', { whole: '$2', indexed: () => (head.length ? '$4' : '$2') })} LIMIT $3`,
    [institutionId, `%"${escapeLike(chars.join(''))}"%`, limit, ...head],
  );
  return rows.map((r) => r.id);
}
