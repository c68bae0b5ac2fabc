// Issue 8: the brief search moved to the narrow user_search table (migration 0006) and answers
// ALL~ and identifiers~ as a UNION of index-served branches. Its answers must not move: on a
// fixture of varied users, every field, several patterns, AND-ed terms, each sort order, pages
// and limit=0 give the same total and the same users in the same order as the SQL it replaced
// (kept below as the oracle, as it was in src/db/queries/users.ts before the change).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Queryable, Row } from '../src/db/database.js';
import { findUserIdsByEmail, searchUsers, type BriefUserRow } from '../src/db/queries/users.js';
import type { BriefSearch, SearchField } from '../src/model/brief-search.js';
import { parseBriefSearch } from '../src/domain/users/brief-search.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';

// ---- the oracle: searchUsers before issue 8's change, verbatim but for its name ----
/** Contains-match pattern for LIKE: the user's * is a wildcard, LIKE's own specials are literal. */
function likePattern(value: string): string {
  const escaped = value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
  return `%${escaped}%`;
}

// Each brief-search field as a condition on app_user u; $ is the LIKE pattern or exact value.
const TERM_SQL: Record<SearchField, (p: string) => string> = {
  primary_id: (p) => `lower(u.primary_id) LIKE ${p}`,
  first_name: (p) => `lower(u.first_name) LIKE ${p}`,
  last_name: (p) => `lower(u.last_name) LIKE ${p}`,
  middle_name: (p) => `lower(u.middle_name) LIKE ${p}`,
  email: (p) => `u.email_search LIKE ${p}`,
  phone_number: (p) => `u.phone_search LIKE ${p}`,
  job_category: (p) => `lower(u.job_category) LIKE ${p}`,
  user_group: (p) => `lower(u.user_group) LIKE ${p}`,
  campus_code: (p) => `lower(u.campus_code) LIKE ${p}`,
  identifiers: (p) =>
    `(lower(u.primary_id) LIKE ${p} OR EXISTS (SELECT 1 FROM user_identifier i WHERE i.user_id = u.id AND lower(i.value) LIKE ${p}))`,
  id_type: (p) => `EXISTS (SELECT 1 FROM user_identifier i WHERE i.user_id = u.id AND lower(i.id_type) LIKE ${p})`,
  birth_date: (p) => `u.birth_date = ${p}::date`,
  block_type: (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements(u.blocks) b WHERE lower(b->>'blockType') LIKE ${p})`,
  note_text: (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements(u.notes) n WHERE lower(n->>'noteText') LIKE ${p})`,
  note_type: (p) => `EXISTS (SELECT 1 FROM jsonb_array_elements(u.notes) n WHERE lower(n->>'noteType') LIKE ${p})`,
  statistic_category: (p) =>
    `EXISTS (SELECT 1 FROM jsonb_array_elements(u.statistics) s WHERE lower(s->>'statisticCategory') LIKE ${p})`,
  // Alma: every field except e-mails, birth date and identifiers.
  general_info: (p) =>
    `(lower(u.primary_id) LIKE ${p} OR lower(u.first_name) LIKE ${p} OR lower(u.last_name) LIKE ${p}
      OR lower(u.middle_name) LIKE ${p} OR lower(u.job_category) LIKE ${p} OR lower(u.job_description) LIKE ${p}
      OR lower(u.user_group) LIKE ${p} OR lower(u.campus_code) LIKE ${p} OR u.phone_search LIKE ${p})`,
  ALL: (p) =>
    `(lower(u.primary_id) LIKE ${p} OR lower(u.first_name) LIKE ${p} OR lower(u.last_name) LIKE ${p}
      OR u.email_search LIKE ${p}
      OR EXISTS (SELECT 1 FROM user_identifier i WHERE i.user_id = u.id AND lower(i.value) LIKE ${p}))`,
};

async function oracleSearch(
  db: Queryable,
  institutionId: string,
  search: BriefSearch,
): Promise<{ total: number; rows: BriefUserRow[] }> {
  const params: unknown[] = [institutionId];
  const where = ['u.institution_id = $1'];
  for (const term of search.terms) {
    params.push(term.field === 'birth_date' ? term.value : likePattern(term.value));
    where.push(TERM_SQL[term.field](`$${params.length}`));
  }
  if (search.modifiedSince) {
    params.push(search.modifiedSince);
    where.push(`u.updated_at >= $${params.length}::date`);
  }
  const whereSql = where.join(' AND ');
  const limit = Number(search.limit);
  const offset = Number(search.offset);
  if (limit === 0) {
    return { total: (await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM app_user u WHERE ${whereSql}`, params)).n, rows: [] };
  }
  if (!search.terms.length) {
    // Everyone (or everyone changed since a date): walk the sort index for the page.
    const order = search.orderBy.map((c) => `lower(u.${c})`).join(', ');
    const [count, rows] = await Promise.all([
      db.one<{ n: number }>(`SELECT count(*)::int AS n FROM app_user u WHERE ${whereSql}`, params),
      db.query<BriefUserRow & Row>(`SELECT ${BRIEF_COLUMNS} FROM app_user u WHERE ${whereSql} ORDER BY ${order}, u.id LIMIT ${limit} OFFSET ${offset}`, params),
    ]);
    return { total: count.n, rows };
  }
  // A search: collect the matches once through the trigram indexes (the planner would otherwise
  // walk the sort index and filter most of the institution to find a page of "smi"), then count
  // them and sort only their keys for the page. The total comes back even when the page is empty.
  const keys = search.orderBy.map((c, i) => `lower(u.${c}) AS k${i}`).join(', ');
  const order = search.orderBy.map((_c, i) => `page.k${i}`).join(', ');
  const rows = await db.query<BriefUserRow & Row & { total: number }>(
    `WITH hits AS MATERIALIZED (SELECT u.id, ${keys} FROM app_user u WHERE ${whereSql}),
          page AS (SELECT * FROM hits ORDER BY ${search.orderBy.map((_c, i) => `k${i}`).join(', ')}, id LIMIT ${limit} OFFSET ${offset})
     SELECT t.total, ${BRIEF_COLUMNS}
     FROM (SELECT count(*)::int AS total FROM hits) t LEFT JOIN page ON true LEFT JOIN app_user u ON u.id = page.id
     ORDER BY ${order}, page.id`,
    params,
  );
  return { total: rows[0]?.total ?? 0, rows: rows.filter((r) => r.id !== null).map(({ total: _total, ...row }) => row as BriefUserRow & Row) };
}

const BRIEF_COLUMNS = `u.id, u.primary_id AS "primaryId", u.first_name AS "firstName", u.middle_name AS "middleName",
  u.last_name AS "lastName", u.record_type AS "recordType", u.account_type AS "accountType", u.status,
  u.user_group AS "userGroup", u.gender, u.expiry_date AS "expiryDate", u.purge_date AS "purgeDate",
  u.updated_at AS "updatedAt"`;
// ---- end of the oracle ----

let ctx: TestContext;
let institutionId: string;

const LAST = ['Smith', 'Smithers', 'Goldsmith', 'SMITH', 'Jones', 'Ásmith', 'O\'Smith', 'Smi_th', 'Lovelace', 'Hopper', null];
const FIRST = ['Ada', 'Grace', 'Adam', 'Smitty', 'Zoë', null, 'Anna-Maria'];

before(async () => {
  ctx = await createTestContext();
  const inst = await ctx.institution();
  institutionId = inst.id;
  const other = await ctx.institution();
  const alma = client(ctx.server, inst.key);
  for (let i = 0; i < 44; i++) {
    const last = LAST[i % LAST.length];
    const first = FIRST[i % FIRST.length];
    const user = jsonUser(i % 9 === 0 ? `SMI-${i}` : `p${String(i).padStart(3, '0')}`, {
      ...(last ? { last_name: last } : { last_name: undefined }),
      ...(first ? { first_name: first } : { first_name: undefined }),
      middle_name: i % 5 === 0 ? 'Smithy' : '',
      job_category: i % 4 === 0 ? { value: '' } : undefined,
      job_description: i % 6 === 0 ? 'smithing' : '',
      user_group: { value: i % 3 ? 'COMMUNITY' : 'STAFF' },
      birth_date: i % 7 === 0 ? '1990-05-17' : undefined,
      contact_info: {
        email: i % 2 ? [{ email_address: `${(last ?? 'x').toLowerCase()}.${i}@example.org`, email_type: [{ value: 'personal' }], preferred: true }] : [],
        phone: i % 3 === 0 ? [{ phone_number: `+1 555 01${i}`, phone_type: [{ value: 'home' }], preferred: true }] : [],
      },
      user_identifier: [
        { id_type: { value: 'BARCODE' }, value: i % 8 === 0 ? `SMITH${i}` : `B${String(i).padStart(5, '0')}` },
        ...(i % 3 === 0 ? [{ id_type: { value: 'UNIV_ID' }, value: `U-${i}-smi` }] : []),
      ],
      user_note: i % 10 === 0 ? [{ note_type: { value: 'OTHER' }, note_text: 'met Smith at the desk' }] : [],
      user_statistic: i % 11 === 0 ? [{ statistic_category: { value: 'Undergraduate' } }] : [],
    });
    const res = await alma.post('/users', user);
    assert.equal(res.statusCode, 200, res.body);
  }
  // Another institution's Smiths must never show.
  const stranger = client(ctx.server, other.key);
  for (let i = 0; i < 5; i++) assert.equal((await stranger.post('/users', jsonUser(`smith-other-${i}`, { last_name: 'Smith' }))).statusCode, 200);
  // An update and a delete, so the narrow copy is tested after writes too.
  const updated = { ...JSON.parse((await alma.get('/users/p001')).body), last_name: 'Blacksmith', first_name: 'Smitha' };
  assert.equal((await alma.put('/users/p001', updated)).statusCode, 200);
  assert.equal((await alma.delete('/users/p002')).statusCode, 204);
});
after(() => ctx.close());

const FIELDS: SearchField[] = ['primary_id', 'first_name', 'last_name', 'middle_name', 'email', 'phone_number', 'job_category', 'user_group',
  'campus_code', 'identifiers', 'id_type', 'block_type', 'note_text', 'note_type', 'statistic_category', 'general_info', 'ALL'];
// Five characters or more make the identifiers' matches drive their branch (users.ts): SMITH,
// B0001 and 32-sm* do; the rest do not.
// Longer than twelve characters, the trigram indexes get the first twelve and the whole is
// checked after: a whole address, one whose first twelve match others, one cut in a character.
const PATTERNS = ['smi', 'SMITH', 's', 'a*a', 'smi_', '1', 'zzz', "o'", 'B0001', '32-sm*', 'smith.11@example.org', 'smith.11@example.com',
  'goldsmith.13@exa', '*smith.1*@example.org', 'lovelace.1😀x'];

function searches(): { q: string; order_by?: string; limit?: number; offset?: number }[] {
  const out: { q: string; order_by?: string; limit?: number; offset?: number }[] = [];
  for (const f of FIELDS) for (const p of PATTERNS) out.push({ q: `${f}~${p}` });
  out.push({ q: 'birth_date~1990-05-17' });
  out.push({ q: 'last_name~smith AND first_name~a' }, { q: 'ALL~smi AND user_group~staff' }, { q: 'identifiers~smi AND last_name~smith' });
  out.push({ q: 'ALL~smi AND identifiers~1' }, { q: 'general_info~smi AND email~example' });
  out.push({ q: 'ALL~SMITH AND user_group~staff' }, { q: 'identifiers~SMITH AND ALL~smith8' }, { q: 'ALL~B0001 AND identifiers~SMITH' });
  for (const order_by of ['last_name', 'first_name', 'primary_id']) out.push({ q: 'ALL~smi', order_by }, { q: 'last_name~s', order_by });
  for (const [limit, offset] of [[0, 0], [1, 0], [3, 2], [5, 40], [100, 0]] as const) out.push({ q: 'ALL~s', limit, offset }, { q: 'last_name~smi', limit, offset });
  return out;
}

test('every search answers as before: the same total, the same users in the same order', async () => {
  let compared = 0;
  for (const params of searches()) {
    const search: BriefSearch = parseBriefSearch(params);
    const [now, before] = await Promise.all([searchUsers(ctx.app.db, institutionId, search), oracleSearch(ctx.app.db, institutionId, search)]);
    const what = JSON.stringify(params);
    assert.equal(now.total, before.total, `${what}: total`);
    assert.deepEqual(now.rows, before.rows, `${what}: rows`);
    compared += now.total;
  }
  assert.ok(compared > 500, `the fixture matches something (${compared} matches in all)`);
});

test('the narrow copy holds what app_user holds, after creates, an update and a delete', async () => {
  const drift = await ctx.app.db.query(
    `SELECT u.id FROM app_user u FULL JOIN user_search s ON s.user_id = u.id
     WHERE s.user_id IS NULL OR u.id IS NULL OR s.institution_id <> u.institution_id OR s.primary_id <> lower(u.primary_id)
        OR s.first_name IS DISTINCT FROM lower(u.first_name) OR s.last_name IS DISTINCT FROM lower(u.last_name)
        OR s.email IS DISTINCT FROM u.email_search`,
  );
  assert.deepEqual(drift, []);
});

// Issue 10: the console's best-match order (order_by=relevance on /api/v1): the users whose last
// name begins with the text, then the other matches, each group in name order; paged anywhere,
// the pages add up to exactly the name-ordered search's users, partitioned so; the total counted
// up to a limit.
test('best-match order: last names that begin with the text first, pages that add up, a total counted up to a limit', async () => {
  const cases: { q?: string; filters?: Record<string, string>; ranked: boolean }[] = [
    { q: 'ALL~smi', ranked: true }, { q: 'ALL~SMITH', ranked: true }, { q: 'last_name~smi', ranked: true }, { q: 'ALL~s', ranked: true },
    { q: 'ALL~ith', ranked: true }, { q: 'ALL~zzz', ranked: true }, { q: "ALL~o'", ranked: true }, { q: 'ALL~smi_', ranked: true },
    { q: 'ALL~smi', filters: { user_group: 'STAFF' }, ranked: true }, { q: 'ALL~s', filters: { user_group: 'COMMUNITY', status: 'ACTIVE' }, ranked: true },
    { q: 'ALL~a*a', ranked: false }, { q: 'ALL~smi AND user_group~staff', ranked: false }, { q: 'first_name~a', ranked: false },
    { ranked: false }, { filters: { user_group: 'STAFF' }, ranked: false },
  ];
  let ranked = 0;
  for (const c of cases) {
    const what = JSON.stringify(c);
    const params = { ...(c.q ? { q: c.q } : {}), filters: c.filters };
    const byName = await searchUsers(ctx.app.db, institutionId, parseBriefSearch({ ...params, limit: 100 }));
    const text = c.q?.split('~')[1]!.toLowerCase() ?? '';
    const starts = (r: BriefUserRow) => c.ranked && (r.lastName ?? '').toLowerCase().startsWith(text);
    const expected = [...byName.rows.filter(starts), ...byName.rows.filter((r) => !starts(r))].map((r) => r.primaryId);
    if (c.ranked && byName.rows.some(starts) && byName.rows.some((r) => !starts(r))) ranked++;
    for (const size of [1, 3, 7, 100]) {
      const got: string[] = [];
      for (let offset = 0; offset < byName.total + size; offset += size) {
        const page = await searchUsers(ctx.app.db, institutionId, parseBriefSearch({ ...params, order_by: 'relevance', extended: true, limit: size, offset }));
        assert.equal(page.total, byName.total, `${what}: total`);
        assert.equal(page.atLeast, undefined, `${what}: counted whole`);
        got.push(...page.rows.map((r) => r.primaryId));
      }
      assert.deepEqual(got, expected, `${what}, pages of ${size}`);
    }
    // Counted up to a limit: the total stops there and says so.
    const capped = await searchUsers(ctx.app.db, institutionId, { ...parseBriefSearch({ ...params, order_by: 'relevance', extended: true, limit: 3 }), countUpTo: 4 });
    assert.deepEqual([capped.total, capped.atLeast], byName.total > 4 ? [4, true] : [byName.total, undefined], `${what}: counted up to 4`);
    assert.deepEqual(capped.rows.map((r) => r.primaryId), expected.slice(0, 3), `${what}: the first page when counted up to 4`);
  }
  assert.ok(ranked >= 4, `the fixture has searches where both groups hold users (${ranked})`);
});

test('best-match order is Carrel\'s, on its own mount only: Alma\'s parameters refuse it', () => {
  assert.throws(() => parseBriefSearch({ q: 'ALL~smi', order_by: 'relevance' }), /order_by must be one of last_name, first_name, primary_id$/);
  assert.throws(() => parseBriefSearch({ q: 'ALL~smi', order_by: 'best', extended: true }), /order_by must be one of last_name, first_name, primary_id, relevance$/);
  const s = parseBriefSearch({ q: 'ALL~Smi', order_by: 'relevance', extended: true });
  assert.deepEqual([s.bestMatch, s.countUpTo, s.orderBy], ['smi', 1000, ['last_name', 'first_name', 'primary_id']]);
});

test('the e-mail link lookup: the whole address, any case, never a part of one nor another sharing its beginning', async () => {
  const ids = async (email: string) => (await findUserIdsByEmail(ctx.app.db, institutionId, email)).length;
  assert.equal(await ids('smith.11@example.org'), 1);
  assert.equal(await ids('SMITH.11@Example.ORG'), 1);
  assert.equal(await ids('smith.11@example.com'), 0, 'the first twelve characters alone do not match');
  assert.equal(await ids('mith.11@example.org'), 0, 'a part of an address is not one');
  assert.equal(await ids('smith.11@example.or'), 0);
  assert.equal(await ids('o@x.y'), 0);
});
