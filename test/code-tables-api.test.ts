// Code tables can be changed (issue 10, scope 1): Alma's PUT /almaws/v1/conf/code-tables/{name}
// in JSON and XML, /api/v1/code-tables for staff sessions and keys, and `carrel code-table`.
// A changed description shows in GET /users at once (the stored document is rendered again); a
// code users hold cannot be removed (the count is given) but can be disabled, after which it stays
// on its holders and is refused to anyone new; bad input changes nothing; config:manage only
// (a read-write key, a General System Administrator's session with CSRF); each change audited.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';
import { CHEAP_ARGON2, errorCode, staffUser } from './helpers/identity.js';

let ctx: TestContext;
let a: Awaited<ReturnType<TestContext['institution']>>;
let b: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Backup admin 2026 pass';

type Row = { code: string; description: string; enabled: boolean; default: boolean; managed_by_sis?: boolean; record_types?: string[]; named_user?: boolean };

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  a = await ctx.institution();
  b = await ctx.institution();
  const api = client(ctx.server, a.key);
  const users: [string, Record<string, unknown>][] = [
    ['sysadmin', staffUser('sysadmin', { password: PASSWORD, user_role: [role('26', a.code)] })],
    ['desk', staffUser('desk', { password: PASSWORD, user_role: [role('32', a.code)] })],
    ['patron1', jsonUser('patron1', { user_statistic: [{ statistic_category: { value: 'Distance' } }] })],
    ['patron2', jsonUser('patron2', { user_group: { value: 'GRAD' } })],
  ];
  for (const [, body] of users) {
    const res = await api.post('/users', body);
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(() => ctx.close());

const table = async (key: string, name: string) => (await client(ctx.server, key).get(`/conf/code-tables/${name}`)).json() as { name: string; row: Row[] };
const auditCount = async () =>
  (await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE entity_type = 'code_table'")).n;

describe('PUT /almaws/v1/conf/code-tables/{name}', () => {
  test('JSON: the rows given become the table; a changed description shows in GET /users (stored document refreshed); audited', async () => {
    const api = client(ctx.server, a.key);
    const patron = await ctx.app.db.one<{ id: string }>("SELECT id FROM app_user WHERE primary_id = 'patron1'");
    assert.equal((await api.get('/users/patron1')).json().user_group.desc, 'Community borrower');
    const stored = await ctx.app.db.one<{ json: string }>('SELECT json FROM user_document WHERE user_id = $1', [patron.id]);
    assert.match(stored.json, /Community borrower/, 'the first read stored the document');

    const groups = await table(a.key, 'UserGroups');
    const rows = groups.row
      .filter((r) => r.code !== 'ALUMNI')
      .map((r) => (r.code === 'COMMUNITY' ? { ...r, description: 'Community member' } : r));
    rows.push({ code: 'VISITOR', description: 'Visiting reader', enabled: true, default: true, managed_by_sis: false });
    const res = await api.put('/conf/code-tables/usergroups', { ...groups, row: rows });
    assert.equal(res.statusCode, 200, res.body);
    const after = await table(a.key, 'UserGroups');
    assert.deepEqual(after.row.map((r) => r.code), ['UNDERGRAD', 'GRAD', 'FACULTY', 'STAFF', 'LIBSTAFF', 'COMMUNITY', 'VISITOR']);
    assert.deepEqual(after.row.at(-1), { code: 'VISITOR', description: 'Visiting reader', default: true, enabled: true, managed_by_sis: false });
    assert.equal(after.row.find((r) => r.code === 'UNDERGRAD')!.managed_by_sis, true, 'kept');

    const user = await api.get('/users/patron1');
    assert.equal(user.json().user_group.desc, 'Community member');
    const xml = await api.get('/users/patron1', { accept: 'application/xml' });
    assert.match(xml.body, /<user_group desc="Community member">COMMUNITY<\/user_group>/);
    const refreshed = await ctx.app.db.one<{ json: string; g: string; current: string }>(
      `SELECT d.json, d.document_generation::text AS g, i.document_generation::text AS current
       FROM user_document d JOIN institution i ON i.id = d.institution_id WHERE d.user_id = $1`,
      [patron.id],
    );
    assert.match(refreshed.json, /Community member/);
    assert.equal(refreshed.g, refreshed.current, 'stored again at the current generation');
    // The new code is usable at once.
    assert.equal((await api.post('/users', jsonUser('visitor1', { user_group: { value: 'visitor' } }))).statusCode, 200);

    const events = await ctx.app.db.query<{ action: string; actor_type: string; entity_label: string; changes: Record<string, { before: unknown; after: unknown }> }>(
      "SELECT action, actor_type, entity_label, changes FROM audit_event WHERE entity_type = 'code_table' AND institution_id = $1 ORDER BY id",
      [a.id],
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.action, 'code_table.update');
    assert.equal(events[0]!.actor_type, 'api_key');
    assert.equal(events[0]!.entity_label, 'UserGroups');
    assert.deepEqual(Object.keys(events[0]!.changes).sort(), ['ALUMNI', 'COMMUNITY', 'VISITOR']);
    assert.equal((events[0]!.changes.ALUMNI!.after), null);
    assert.deepEqual(events[0]!.changes.COMMUNITY, {
      before: { code: 'COMMUNITY', description: 'Community borrower', enabled: true, managedBySis: false },
      after: { code: 'COMMUNITY', description: 'Community member', enabled: true, managedBySis: false },
    });
    // The same rows again change nothing and are not audited again.
    assert.equal((await api.put('/conf/code-tables/UserGroups', after)).statusCode, 200);
    assert.equal(await auditCount(), 1);
  });

  test('XML: a new library becomes a valid role scope; identifier types keep record types', async () => {
    const api = client(ctx.server, a.key);
    const withLaw = staffUser('lawlib', { user_role: [role('32', 'LAW')] });
    const refused = await api.post('/users', withLaw);
    assert.equal(refused.statusCode, 400);
    assert.match(almaError(refused).message, /scope type \(LAW\)/);

    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><code_table><name>Libraries</name><description>Libraries</description><rows>' +
      '<row><code>MAIN</code><description>Main Library</description><default>true</default><enabled>true</enabled></row>' +
      '<row><code>LAW</code><description>Law &amp; Justice Library</description><enabled>true</enabled></row>' +
      '</rows></code_table>';
    const res = await api.put('/conf/code-tables/Libraries', xml, { 'content-type': 'application/xml', accept: 'application/xml' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /^<\?xml/);
    const back = await api.get('/conf/code-tables/Libraries', { accept: 'application/xml' });
    assert.match(back.body, /<row><code>LAW<\/code><description>Law &amp; Justice Library<\/description><default>false<\/default><enabled>true<\/enabled><\/row>/);
    assert.deepEqual((await table(a.key, 'Libraries')).row.map((r) => [r.code, r.default]), [['MAIN', true], ['LAW', false]]);

    const created = await api.post('/users', withLaw);
    assert.equal(created.statusCode, 200, created.body);
    assert.equal(created.json().user_role[0].scope.value, 'LAW');
    assert.equal(created.json().user_role[0].scope.desc, 'Law & Justice Library');

    const ids = await table(a.key, 'UserIdentifierTypes');
    const idXml =
      '<code_table><rows>' +
      ids.row.map((r) => `<row><code>${r.code}</code><description>${r.description}</description><record_types>${r.record_types!.map((t) => `<record_type>${t}</record_type>`).join('')}</record_types></row>`).join('') +
      '<row><code>LIBRARY_CARD</code><description>Library card</description><record_types><record_type>public</record_type></record_types></row>' +
      '</rows></code_table>';
    assert.equal((await api.put('/conf/code-tables/UserIdentifierTypes', idXml, { 'content-type': 'application/xml' })).statusCode, 200);
    const card = (await table(a.key, 'UserIdentifierTypes')).row.find((r) => r.code === 'LIBRARY_CARD');
    assert.deepEqual(card?.record_types, ['PUBLIC']);
  });

  test('a code users hold is not removed (the count is given); disabled, it stays on its holders and is refused to anyone new', async () => {
    const api = client(ctx.server, a.key);
    const before = await table(a.key, 'UserGroups');
    const events = await auditCount();
    const res = await api.put('/conf/code-tables/UserGroups', { row: before.row.filter((r) => r.code !== 'GRAD') });
    const err = almaError(res);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'CARREL_CODE_IN_USE');
    assert.match(err.message, /GRAD of UserGroups is held by 1 user/);
    assert.deepEqual(await table(a.key, 'UserGroups'), before, 'nothing changed');
    assert.equal(await auditCount(), events);

    const stats = await table(a.key, 'UserStatCategories');
    const statRes = await api.put('/conf/code-tables/UserStatCategories', { row: stats.row.filter((r) => r.code !== 'Distance') });
    assert.match(almaError(statRes).message, /Distance of UserStatCategories is held by 1 user/);

    const disabled = await api.put('/conf/code-tables/UserGroups', { row: before.row.map((r) => (r.code === 'GRAD' ? { ...r, enabled: false } : r)) });
    assert.equal(disabled.statusCode, 200, disabled.body);
    assert.equal((await table(a.key, 'UserGroups')).row.find((r) => r.code === 'GRAD')!.enabled, false);
    // Its holder keeps it, shown with its description, and may still be updated.
    const patron2 = (await api.get('/users/patron2')).json();
    assert.deepEqual(patron2.user_group, { value: 'GRAD', desc: 'Graduate' });
    const kept = await api.put('/users/patron2', { ...patron2, first_name: 'Augusta' });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal(kept.json().user_group.value, 'GRAD');
    // Nobody new gets it.
    assert.equal(almaError(await api.post('/users', jsonUser('newgrad', { user_group: { value: 'GRAD' } }))).code, '401852');
    const patron1 = (await api.get('/users/patron1')).json();
    assert.equal(almaError(await api.put('/users/patron1', { ...patron1, user_group: { value: 'GRAD' } })).code, '401852');
  });

  test('a circulation desk a role parameter names is held: not removed while a desk operator names it', async () => {
    const api = client(ctx.server, a.key);
    const desks = await table(a.key, 'CirculationDesks');
    assert.deepEqual(desks.row.map((r) => r.code), ['DEFAULT_CIRC_DESK'], 'every institution starts with the default desk');
    const added = await api.put('/conf/code-tables/CirculationDesks', { row: [...desks.row, { code: 'HEALTH_DESK', description: 'Health Sciences desk' }] });
    assert.equal(added.statusCode, 200, added.body);
    const operator = staffUser('deskop', {
      user_role: [{ ...role('32', a.code), parameter: [{ type: { value: 'CirculationDesk' }, scope: { value: 'MAIN' }, value: { value: 'HEALTH_DESK' } }] }],
    });
    assert.equal((await api.post('/users', operator)).statusCode, 200);
    const refused = almaError(await api.put('/conf/code-tables/CirculationDesks', { row: desks.row }));
    assert.equal(refused.code, 'CARREL_CODE_IN_USE');
    assert.match(refused.message, /HEALTH_DESK of CirculationDesks is held by 1 user/);
    // Once no role names it, the desk can go.
    assert.equal((await api.delete('/users/deskop')).statusCode, 204);
    assert.equal((await api.put('/conf/code-tables/CirculationDesks', { row: desks.row })).statusCode, 200);
  });

  test('bad input is refused in the envelope and changes nothing', async () => {
    const api = client(ctx.server, a.key);
    const before = await table(a.key, 'UserGroups');
    const events = await auditCount();
    const generation = async () => (await ctx.app.db.one<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [a.id])).g;
    const g0 = await generation();
    const row = (code: string, description = code) => ({ code, description, enabled: true, default: false });
    const cases: [string, unknown, Record<string, string>, string, RegExp][] = [
      ['UserGroups', '{"row": [', {}, '401676', /No valid JSON/],
      ['UserGroups', '<code_table><rows><row><code>X</code></rows></code_table>', { 'content-type': 'application/xml' }, '401676', /No valid XML/],
      ['UserGroups', '<other/>', { 'content-type': 'application/xml' }, '401676', /root element must be <code_table>/],
      ['UserGroups', { name: 'UserGroups' }, {}, '401676', /no row list/],
      ['NoSuchTable', { row: [row('A')] }, {}, '402119', /no code table named NoSuchTable/],
      ['UserGroups', { row: [...before.row, row('staff')] }, {}, '402119', /code staff is given twice/],
      ['UserGroups', { row: [...before.row, row('NUL', 'bad\u0000text')] }, {}, 'INVALID_BODY', /NUL/],
      ['UserGroups', { row: [...before.row, row('bad code')] }, {}, '402119', /"bad code" is not a code/],
      ['UserGroups', { row: [...before.row, row('LONG', 'x'.repeat(256))] }, {}, '402119', /longer than 255/],
      ['UserGroups', { row: [...before.row, row('LINE', 'two\nlines')] }, {}, '402119', /line breaks/],
      ['UserGroups', { row: [...before.row, { code: 'NODESC' }] }, {}, '402119', /description is missing/],
      ['UserGroups', { row: [...before.row, { ...row('T'), enabled: 'maybe' }] }, {}, '402119', /enabled must be true or false/],
      ['UserGroups', { row: [...before.row, { ...row('T'), colour: 'red' }] }, {}, '401676', /unknown member colour/],
      ['UserGroups', { row: [...before.row, { ...row('T'), record_types: ['PUBLIC'] }] }, {}, '402119', /record_types belongs to UserIdentifierTypes only/],
      ['UserGroups', { name: 'Libraries', row: before.row }, {}, '402119', /names another table/],
      ['UserGroups', { row: before.row.map((r) => ({ ...r, default: true })) }, {}, '402119', /more than one row is the default/],
      ['AddNewUserOptions', { row: [row('PUBLIC')] }, {}, '402119', /fixed/],
      ['HFrUserRoles.roleType', { row: [row('999', 'Robot')] }, {}, '402119', /999 is not one of them/],
    ];
    for (const [name, body, headers, code, message] of cases) {
      const res = await api.put(`/conf/code-tables/${name}`, body, headers);
      assert.equal(res.statusCode, 400, `${name} ${JSON.stringify(body).slice(0, 80)}: ${res.body}`);
      const err = almaError(res);
      if (code !== 'INVALID_BODY') assert.equal(err.code, code, res.body);
      assert.match(err.message, message);
    }
    assert.deepEqual(await table(a.key, 'UserGroups'), before);
    assert.equal(await auditCount(), events);
    assert.equal(await generation(), g0, 'no stored document went stale');
  });

  test('roles: descriptions are the institution\'s own; codes and named-user flags stay Alma\'s', async () => {
    const api = client(ctx.server, a.key);
    const roles = await table(a.key, 'HFrUserRoles.roleType');
    const desk = roles.row.find((r) => r.code === '32')!;
    // Which roles are named users is the licence's rule for the whole network.
    const flipped = await api.put('/conf/code-tables/HFrUserRoles.roleType', { row: roles.row.map((r) => (r.code === '32' ? { ...r, named_user: !desk.named_user } : r)) });
    assert.match(almaError(flipped).message, /named_user is the licence's rule for role 32/);
    const changed = roles.row.map((r) => (r.code === '32' ? { ...r, description: 'Desk operator' } : r));
    const res = await api.put('/conf/code-tables/HFrUserRoles.roleType', { row: [...changed].reverse() });
    assert.equal(res.statusCode, 200, res.body);
    const after = await table(a.key, 'HFrUserRoles.roleType');
    assert.deepEqual(after.row.map((r) => r.code), roles.row.map((r) => r.code), 'the catalogue order');
    assert.deepEqual(after.row.find((r) => r.code === '32'), { code: '32', description: 'Desk operator', default: false, enabled: true, named_user: desk.named_user });
    assert.equal((await api.get('/users/desk')).json().user_role[0].role_type.desc, 'Desk operator');
    // Another institution still sees Alma's names.
    assert.equal((await table(b.key, 'HFrUserRoles.roleType')).row.find((r) => r.code === '32')!.description, 'Circulation Desk Operator');
    const removed = await api.put('/conf/code-tables/HFrUserRoles.roleType', { row: changed.filter((r) => r.code !== '200') });
    assert.match(almaError(removed).message, /200 cannot be removed/);
    const disabled = await api.put('/conf/code-tables/HFrUserRoles.roleType', { row: changed.map((r) => (r.code === '200' ? { ...r, enabled: false } : r)) });
    assert.match(almaError(disabled).message, /roles cannot be disabled/);
  });

  test('a read-only key is refused; another institution\'s key changes only its own tables', async () => {
    const before = await table(a.key, 'UserGroups');
    const ro = await client(ctx.server, a.readOnlyKey).put('/conf/code-tables/UserGroups', { row: [...before.row, { code: 'RO', description: 'Read only' }] });
    assert.equal(almaError(ro).code, 'UNAUTHORIZED');
    assert.ok((await client(ctx.server, a.readOnlyKey).get('/conf/code-tables/UserGroups')).statusCode === 200, 'a read-only key reads');
    const bad = await client(ctx.server, 'not-a-key').put('/conf/code-tables/UserGroups', { row: before.row });
    assert.equal(almaError(bad).code, 'INVALID_API_KEY');
    const theirs = await table(b.key, 'UserGroups');
    const res = await client(ctx.server, b.key).put('/conf/code-tables/UserGroups', { row: [...theirs.row, { code: 'BONLY', description: 'B only' }] });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(await table(a.key, 'UserGroups'), before);
    assert.ok(!(await table(b.key, 'UserGroups')).row.some((r) => r.code === 'VISITOR'), "b does not see a's codes");
  });
});

describe('/api/v1/code-tables', () => {
  test('lists tables with row counts; a desk session reads but cannot change; an administrator changes with CSRF only', async () => {
    const desk = browser(ctx.server, a.code);
    assert.equal((await desk.signIn('desk', PASSWORD)).statusCode, 303);
    const list = await desk.api('GET', '/code-tables');
    assert.equal(list.statusCode, 200, list.body);
    const libraries = list.json().code_table.find((t: { name: string }) => t.name === 'Libraries');
    assert.deepEqual(libraries, { name: 'Libraries', rows: 2, editable: true });
    assert.equal(list.json().code_table.find((t: { name: string }) => t.name === 'AddNewUserOptions').editable, false);
    const shown = await desk.api('GET', '/code-tables/libraries');
    assert.deepEqual(shown.json().row.map((r: Row) => r.code), ['MAIN', 'LAW']);
    const rows = [...shown.json().row, { code: 'SCI', description: 'Science Library' }];
    const refused = await desk.api('PUT', '/code-tables/Libraries', { row: rows });
    assert.equal(errorCode(refused), 'UNAUTHORIZED');

    const admin = browser(ctx.server, a.code);
    assert.equal((await admin.signIn('sysadmin', PASSWORD)).statusCode, 303);
    const noCsrf = await admin.api('PUT', '/code-tables/Libraries', { row: rows }, { csrf: false });
    assert.equal(noCsrf.statusCode, 403);
    assert.equal(errorCode(noCsrf), 'CARREL_CSRF_TOKEN_INVALID');
    assert.equal((await admin.api('GET', '/code-tables/Libraries')).json().row.length, 2, 'nothing changed');
    const ok = await admin.api('PUT', '/code-tables/Libraries', { row: rows });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json().row.map((r: Row) => r.code), ['MAIN', 'LAW', 'SCI']);
    const event = await ctx.app.db.one<{ actor_type: string; actor_label: string; changes: Record<string, unknown> }>(
      "SELECT actor_type, actor_label, changes FROM audit_event WHERE entity_type = 'code_table' AND entity_label = 'Libraries' ORDER BY id DESC LIMIT 1",
    );
    assert.equal(event.actor_type, 'staff');
    assert.equal(event.actor_label, 'sysadmin');
    assert.deepEqual(Object.keys(event.changes), ['SCI']);

    const bad = await admin.api('PUT', '/code-tables/Libraries', { row: [...rows, { code: 'sci', description: 'Again' }] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /given twice/);
    // With a key, as on the Alma API; another institution's key sees its own tables only.
    const keyed = await ctx.server.inject({ method: 'GET', url: '/api/v1/code-tables/Libraries', headers: { authorization: `apikey ${b.key}` } });
    assert.deepEqual(keyed.json().row.map((r: Row) => r.code), ['MAIN']);
  });
});

// The command line runs in its own process, on its own database.
let cliDb: TestDb | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'carrel-ct-'));
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await cliDb?.drop();
});

test('carrel code-table list, show and set', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: join(tmp, 'data'), DATABASE_URL: '', LOG_LEVEL: 'warn' };
  if (ENGINE === 'postgres') {
    cliDb = await createTestDb({ migrate: false });
    await cliDb.db.close();
    env.DATABASE_URL = cliDb.url!;
  }
  const root = new URL('..', import.meta.url).pathname;
  const carrel = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };
  assert.equal(carrel('institution', 'create', '01CT_UNI', '--name', 'CT University').code, 0);
  const list = carrel('code-table', 'list', '--institution', '01CT_UNI');
  assert.equal(list.code, 0, list.err);
  assert.match(list.out, /^Libraries\t1 rows$/m);
  assert.match(list.out, /^AddNewUserOptions\t3 rows\tfixed$/m);
  const shown = carrel('code-table', 'show', 'Libraries', '--institution', '01CT_UNI');
  const libraries = JSON.parse(shown.out) as { row: Row[] };
  const file = join(tmp, 'rows.json');
  writeFileSync(file, JSON.stringify([...libraries.row, { code: 'MED', description: 'Medical Library' }]));
  const set = carrel('code-table', 'set', 'Libraries', '--institution', '01CT_UNI', '--file', file);
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /^Libraries: 2 rows$/m);
  assert.deepEqual((JSON.parse(set.out.slice(set.out.indexOf('{'))) as { row: Row[] }).row.map((r) => [r.code, r.description]), [['MAIN', 'Main Library'], ['MED', 'Medical Library']]);
  writeFileSync(file, JSON.stringify([{ code: 'MAIN', description: 'Main' }, { code: 'main', description: 'Again' }]));
  const dup = carrel('code-table', 'set', 'Libraries', '--institution', '01CT_UNI', '--file', file);
  assert.notEqual(dup.code, 0);
  assert.match(dup.err, /code main is given twice/);
});
