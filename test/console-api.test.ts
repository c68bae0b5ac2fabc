// The staff console's server side (issue 10): the console's page at / (strict CSP, cache rules,
// client routes answered with the page but never the APIs' paths), GET /api/v1/session's
// permissions, signing out through DELETE /api/v1/session, and the Alma user routes for staff
// sessions at /api/v1/users: the same search, read (ETag), create and replace (If-Match; a stale
// write is refused and changes nothing), authorized by the session's roles, in its own institution only.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
let consoleDir: string;
const PASSWORD = 'Console test pass 2026';

before(async () => {
  // A stand-in for the built console: a page and a hashed asset are all the server looks at.
  consoleDir = mkdtempSync(join(tmpdir(), 'carrel-console-'));
  mkdirSync(join(consoleDir, 'assets'));
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>Carrel</title><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(consoleDir, 'assets', 'index-abc123.js'), 'console.log("console");');
  writeFileSync(join(consoleDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, consoleDir } });
  inst = await ctx.institution();
  other = await ctx.institution();
  const api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    ['admin1', { password: PASSWORD, user_role: [role('50', inst.code)] }],
    ['desk1', { password: PASSWORD, user_role: [role('32', inst.code)] }],
    ['sysadmin1', { password: PASSWORD, user_role: [role('26', inst.code)] }],
    ['patron1', { record_type: { value: 'PUBLIC' }, user_group: { value: 'UNDERGRAD' }, user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'B7700001' }] }],
    ['patron2', { record_type: { value: 'PUBLIC' }, status: { value: 'INACTIVE' }, last_name: 'Lovelace' }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  assert.equal((await client(ctx.server, other.key).post('/users', staffUser('stranger', {}))).statusCode, 200);
});
after(async () => {
  await ctx.close();
  rmSync(consoleDir, { recursive: true, force: true });
});

async function signedIn(id: string) {
  const b = browser(ctx.server, inst.code);
  assert.equal((await b.signIn(id, PASSWORD)).statusCode, 303);
  return b;
}

test('the console page: strict CSP, never cached; hashed assets immutable; client routes get the page, API paths keep their 404', async () => {
  const page = await ctx.server.inject({ method: 'GET', url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<div id="root">/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers['cache-control'], 'no-cache');

  const asset = await ctx.server.inject({ method: 'GET', url: '/assets/index-abc123.js' });
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(asset.headers['content-type']), /javascript/);
  assert.equal((await ctx.server.inject({ method: 'GET', url: '/favicon.svg' })).headers['cache-control'], 'no-cache');
  const byName = await ctx.server.inject({ method: 'GET', url: '/index.html' });
  assert.equal(byName.headers['content-security-policy'], csp);

  for (const route of ['/users', '/users/j.smith', '/staff/new?x=1']) {
    const r = await ctx.server.inject({ method: 'GET', url: route });
    assert.equal(r.statusCode, 200, route);
    assert.equal(r.headers['content-security-policy'], csp, route);
    assert.match(r.body, /<div id="root">/, route);
  }
  for (const path of ['/api/v1/nothing', '/almaws/v1/nothing', '/auth/x/nothing/else', '/healthz/x', '/assets/missing-1.js', '/missing.png']) {
    const r = await ctx.server.inject({ method: 'GET', url: path });
    assert.equal(r.statusCode, 404, path);
    assert.doesNotMatch(r.body, /<div id="root">/, path);
  }
  // Only reads get the page: a POST to a console path is no route.
  assert.equal((await ctx.server.inject({ method: 'POST', url: '/users' })).statusCode, 404);
});

test('GET /api/v1/session lists what the roles allow, as the domain decides', async () => {
  const admin = (await (await signedIn('admin1')).session()).json() as { permissions: string[] };
  assert.deepEqual(admin.permissions, ['users:read', 'users:write', 'users:register', 'credentials:manage', 'sis:manage', 'named-users:report']);
  const desk = (await (await signedIn('desk1')).session()).json() as { permissions: string[] };
  assert.deepEqual(desk.permissions, ['users:read', 'users:register']);
  const sys = (await (await signedIn('sysadmin1')).session()).json() as { permissions: string[] };
  assert.deepEqual(sys.permissions, ['users:read', 'sis:manage', 'config:manage', 'named-users:report']);
  const key = await ctx.server.inject({ method: 'GET', url: '/api/v1/session', headers: { authorization: `apikey ${inst.readOnlyKey}` } });
  assert.deepEqual(key.json().permissions, ['users:read']);
});

test('staff search /api/v1/users: brief search, exact filters, paging and order', async () => {
  const b = await signedIn('admin1');
  const all = await b.api('GET', '/users?limit=100');
  assert.equal(all.statusCode, 200, all.body);
  const body = all.json() as { total_record_count: number; user: { primary_id: string }[] };
  assert.equal(body.total_record_count, 5);
  assert.ok(body.user.every((u) => u.primary_id !== 'stranger'), 'another institution is not listed');

  const byBarcode = (await b.api('GET', '/users?q=ALL~B7700001')).json() as { user: { primary_id: string }[] };
  assert.deepEqual(byBarcode.user.map((u) => u.primary_id), ['patron1']);
  const publicOnly = (await b.api('GET', '/users?record_type=PUBLIC&order_by=primary_id')).json() as { user: { primary_id: string }[] };
  assert.deepEqual(publicOnly.user.map((u) => u.primary_id), ['patron1', 'patron2']);
  const inactive = (await b.api('GET', '/users?status=INACTIVE&q=ALL~patron')).json() as { total_record_count: number; user: { primary_id: string }[] };
  assert.deepEqual([inactive.total_record_count, inactive.user.map((u) => u.primary_id)], [1, ['patron2']]);
  const group = (await b.api('GET', '/users?user_group=UNDERGRAD')).json() as { total_record_count: number };
  assert.equal(group.total_record_count, 1);
  const page2 = (await b.api('GET', '/users?order_by=primary_id&limit=2&offset=2')).json() as { user: { primary_id: string }[] };
  assert.deepEqual(page2.user.map((u) => u.primary_id), ['patron1', 'patron2']);
  // The Alma API takes no such filter (its own contract); a bad order is refused in Alma's envelope.
  const bad = await b.api('GET', '/users?order_by=password');
  assert.equal(bad.statusCode, 400);
  assert.equal(errorCode(bad), '402119');

  // Best matches first (the console's search as you type): the last name that begins with "l"
  // leads, the other matches follow in name order, and the total says whether it is the whole count.
  const best = (await b.api('GET', '/users?q=ALL~l&order_by=relevance&limit=100')).json() as { total_record_count: number; total_record_count_exact: boolean; user: { primary_id: string }[] };
  assert.deepEqual([best.total_record_count, best.total_record_count_exact, best.user.map((u) => u.primary_id)], [5, true, ['patron2', 'admin1', 'desk1', 'patron1', 'sysadmin1']]);
  const byName = (await b.api('GET', '/users?q=ALL~l&limit=100')).json() as { total_record_count_exact?: boolean; user: { primary_id: string }[] };
  assert.deepEqual([byName.total_record_count_exact, byName.user.map((u) => u.primary_id)], [undefined, ['admin1', 'desk1', 'patron1', 'sysadmin1', 'patron2']]);
  const xml = await b.api('GET', '/users?q=ALL~l&order_by=relevance&limit=1&format=xml');
  assert.match(xml.body, /<users total_record_count="5" total_record_count_exact="true">/);
  // Alma's own mount keeps Alma's orders.
  const alma = await client(ctx.server, inst.key).get('/users?q=ALL~l&order_by=relevance');
  assert.deepEqual([alma.statusCode, errorCode(alma)], [400, '402119']);
});

test('read with ETag, replace with If-Match: a stale write is refused with the current version and changes nothing', async () => {
  const b = await signedIn('admin1');
  const read = await b.api('GET', '/users/patron1');
  assert.equal(read.statusCode, 200);
  const etag = String(read.headers.etag);
  assert.match(etag, /^"\d+"$/);
  const user = read.json() as Record<string, unknown>;

  const first = await putWith(b, { ...user, last_name: 'Firstwrite' }, etag);
  assert.equal(first.statusCode, 200, first.body);
  assert.notEqual(first.headers.etag, etag);

  const stale = await putWith(b, { ...user, last_name: 'Stalewrite' }, etag);
  assert.equal(stale.statusCode, 412, stale.body);
  assert.equal(errorCode(stale), 'CARREL_PRECONDITION_FAILED');
  assert.match(stale.body, new RegExp(`now ${String(first.headers.etag).replaceAll('"', '')}`));
  assert.equal(stale.headers.etag, first.headers.etag, 'the refusal names the current version');
  const now = (await b.api('GET', '/users/patron1')).json() as { last_name: string };
  assert.equal(now.last_name, 'Firstwrite');
});

test('create a staff user from a session; CSRF token required; field errors name the field', async () => {
  const b = await signedIn('admin1');
  const body = staffUser('newstaff', { user_role: [role('21', inst.code)] });
  const noToken = await b.api('POST', '/users', body, { csrf: false });
  assert.equal(noToken.statusCode, 403);
  const created = await b.api('POST', '/users', body);
  assert.equal(created.statusCode, 200, created.body);
  assert.equal((created.json() as { record_type: { value: string } }).record_type.value, 'STAFF');
  const bad = await b.api('POST', '/users', staffUser('badgroup', { user_group: { value: 'NO_SUCH_GROUP' } }));
  assert.equal(bad.statusCode, 400);
  assert.equal(errorCode(bad), '401852');
  assert.equal((await client(ctx.server, inst.key).get('/users/badgroup')).statusCode, 400, 'nothing was created');
});

test('a desk operator reads but may not write; another institution is out of reach', async () => {
  const desk = await signedIn('desk1');
  const read = await desk.api('GET', '/users/patron1');
  assert.equal(read.statusCode, 200);
  const put = await putWith(desk, { ...(read.json() as object), last_name: 'Deskwrite' }, String(read.headers.etag));
  assert.equal(put.statusCode, 400);
  assert.equal(errorCode(put), 'UNAUTHORIZED');
  const post = await desk.api('POST', '/users', staffUser('deskmade', {}));
  assert.equal(errorCode(post), 'UNAUTHORIZED');
  assert.notEqual(((await desk.api('GET', '/users/patron1')).json() as { last_name: string }).last_name, 'Deskwrite');

  const admin = await signedIn('admin1');
  const stranger = await admin.api('GET', '/users/stranger');
  assert.equal(stranger.statusCode, 400);
  assert.equal(errorCode(stranger), '401861');
  assert.equal((await admin.api('GET', '/users/stranger/history')).statusCode, 400);
  const list = (await admin.api('GET', '/users?q=ALL~stranger')).json() as { total_record_count: number };
  assert.equal(list.total_record_count, 0);
});

test("a user's history: its audit events, sign-ins only for those who manage credentials", async () => {
  const admin = await signedIn('admin1');
  const history = await admin.api('GET', '/users/admin1/history');
  assert.equal(history.statusCode, 200, history.body);
  const actions = (history.json() as { event: { action: string }[] }).event.map((e) => e.action);
  assert.ok(actions.includes('user.create'), actions.join());
  assert.ok(actions.includes('sign_in'), actions.join());
  const desk = await signedIn('desk1');
  const deskView = (await desk.api('GET', '/users/admin1/history')).json() as { event: { action: string }[] };
  assert.ok(deskView.event.some((e) => e.action === 'user.create'));
  assert.ok(!deskView.event.some((e) => e.action.startsWith('sign_in')), 'sign-ins are hidden from a desk operator');
});

test('DELETE /api/v1/session signs the browser out', async () => {
  const b = await signedIn('desk1');
  assert.equal((await b.api('DELETE', '/session', undefined, { csrf: false })).statusCode, 403);
  const out = await b.api('DELETE', '/session');
  assert.equal(out.statusCode, 204);
  assert.equal((await b.session()).statusCode, 400);
});

/** PUT with If-Match (the helper's api() sends no extra headers). */
async function putWith(b: Awaited<ReturnType<typeof signedIn>>, body: unknown, ifMatch: string) {
  await b.session();
  const token = ((await b.session()).json() as { csrf_token: string }).csrf_token;
  const cookie = [...b.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return ctx.server.inject({
    method: 'PUT',
    url: '/api/v1/users/' + encodeURIComponent((body as { primary_id: string }).primary_id),
    headers: { host: '127.0.0.1', cookie, 'x-csrf-token': token, 'if-match': ifMatch, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}
