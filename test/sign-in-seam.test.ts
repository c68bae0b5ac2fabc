// The login-method seam end to end over HTTP, with stand-in modules (test/helpers/sign-in.ts):
// flows bound to the browser and used once, the match on an identifier (case-insensitive), the
// refusals (unknown, inactive, expired, IdP down), just-in-time creation only when set, the one
// sessions path (rotation, auth_method), audit events for every sign-in and failure, the
// password-method form, tenant isolation, and return URLs that stay on the institution's pages.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { safeReturnTo } from '../src/domain/sign-in/return-to.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, errorCode, staffUser } from './helpers/identity.js';
import { browser, fakePasswordModule, fakeRedirectModule, fakeSamlModule, useModules } from './helpers/sign-in.js';

let ctx: TestContext;
let inst: { id: string; code: string; key: string };
let other: { id: string; code: string; key: string };
const system = { kind: 'system', label: 'test' } as const;
const directoryCalls: string[] = [];
const modules = useModules(fakeRedirectModule('cas'), fakePasswordModule('ldap', directoryCalls), fakeSamlModule('saml'));

function patron(primaryId: string, univId: string, extra: Record<string, unknown> = {}) {
  return {
    record_type: { value: 'PUBLIC' },
    primary_id: primaryId,
    first_name: 'Ada',
    last_name: 'Lovelace',
    account_type: { value: 'EXTERNAL' },
    external_id: 'SIS',
    status: { value: 'ACTIVE' },
    user_group: { value: 'UNDERGRAD' },
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: univId, segment_type: 'External' }],
    ...extra,
  };
}

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
  other = await ctx.institution();
  const api = client(ctx.server, inst.key);
  for (const [body, label] of [
    [patron('ada', 'U-1001'), 'ada'],
    [patron('gone', 'U-2002', { status: { value: 'INACTIVE' } }), 'gone'],
    [patron('old', 'U-3003', { expiry_date: '2001-01-01Z' }), 'old'],
    [staffUser('local_admin', { password: 'Local-Admin-2026!' }), 'local_admin'],
  ] as const) {
    const res = await api.post('/users', body);
    assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
  }
  const lm = ctx.app.services.loginMethods;
  await lm.create(system, inst.id, { code: 'campus', type: 'cas', label: 'Campus sign-in', match: 'UNIV_ID', config: { issuer: 'https://idp.test' } });
  await lm.create(system, inst.id, { code: 'jit', type: 'cas', match: 'UNIV_ID', config: { issuer: 'https://idp.test' }, jit: { recordType: 'PUBLIC', userGroup: 'COMMUNITY' } });
  await lm.create(system, inst.id, { code: 'down', type: 'cas', match: 'UNIV_ID', config: { issuer: 'down' } });
  await lm.create(system, inst.id, { code: 'dir', type: 'ldap', label: 'Directory', match: 'primary_id', config: { url: 'ldap://x', bind_password: 's3cret' } });
  await lm.create(system, inst.id, { code: 'fed', type: 'saml', match: 'UNIV_ID', config: { idp: 'https://idp.test' }, position: 9 });
  await lm.create(system, other.id, { code: 'theirs', type: 'cas', match: 'primary_id', config: { issuer: 'https://idp.test' } });
});
after(async () => {
  modules.restore();
  await ctx.close();
});

const auth = (path: string) => `/auth/${inst.code}${path}`;

/** Starts `method` and comes back from the stand-in IdP with `params`; the callback's answer. */
async function roundTrip(b: ReturnType<typeof browser>, method: string, params: Record<string, string>, startQuery = '') {
  const start = await b.get(auth(`/login/${method}${startQuery}`));
  assert.equal(start.statusCode, 303, start.body);
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  const q = new URLSearchParams({ state, ...params });
  return { start, state, res: await b.get(auth(`/login/${method}/callback?${q}`)) };
}

async function events(action: string) {
  return ctx.testDb.db.query<{ entity_label: string | null; context: Record<string, unknown>; actor_type: string }>(
    'SELECT entity_label, context, actor_type FROM audit_event WHERE institution_id = $1 AND action = $2 ORDER BY id',
    [inst.id, action],
  );
}

test('a redirect method signs in the user its identifier matches, case-insensitively, with auth_method set and an audit event', async () => {
  const b = browser(ctx.server);
  const { start, res } = await roundTrip(b, 'campus', { subject: 'u-1001' });
  assert.match(start.headers.location as string, /^https:\/\/idp\.test\/authorize\?state=/);
  assert.match(decodeURIComponent(start.headers.location as string), /redirect_uri=http:\/\/carrel\.test\/auth\/.+\/login\/campus\/callback/);
  const flowSet = String(start.headers['set-cookie']);
  assert.match(flowSet, new RegExp(`carrel_flow=[^;]+; Max-Age=600; Path=/auth/${inst.code}/; HttpOnly; Secure; SameSite=Lax`));
  assert.equal(res.statusCode, 303, res.body);
  assert.equal(res.headers.location, auth('/account'));
  const set = (res.headers['set-cookie'] as string[]).join('\n');
  assert.match(set, /carrel_session=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax/);
  const account = await b.get(auth('/account'));
  assert.equal(account.statusCode, 200);
  assert.match(account.body, /\(ada\)/);
  const rows = await ctx.testDb.db.query<{ auth_method: string }>(
    "SELECT s.auth_method FROM identity.session s JOIN app_user u ON u.id = s.user_id WHERE u.primary_id = 'ada' AND s.revoked_at IS NULL",
  );
  assert.deepEqual(rows.map((r) => r.auth_method), ['campus']);
  const ok = (await events('sign_in')).filter((e) => e.context.method === 'campus');
  assert.equal(ok.at(-1)?.entity_label, 'ada');
  assert.equal(ok.at(-1)?.actor_type, 'self');
  assert.ok(ok.at(-1)?.context.address, 'the address is recorded');
});

test('a flow serves one callback, only in the browser that began it, and a replayed code is refused', async () => {
  const b = browser(ctx.server);
  const { state, res } = await roundTrip(b, 'campus', { subject: 'U-1001', code: 'abc' });
  assert.equal(res.statusCode, 303);
  // The same callback again: the flow is used.
  const again = await b.get(auth(`/login/campus/callback?state=${state}&subject=U-1001&code=abc`));
  assert.equal(again.statusCode, 401);
  assert.match(again.body, /could not be completed/);
  assert.match(again.body, /login\?auth=local/);
  // A callback URL taken to another browser (login CSRF) finds no flow there.
  const victim = browser(ctx.server);
  const attacker = browser(ctx.server);
  const started = await attacker.get(auth('/login/campus'));
  const st = new URL(started.headers.location as string).searchParams.get('state')!;
  const stolen = await victim.get(auth(`/login/campus/callback?state=${st}&subject=U-1001`));
  assert.equal(stolen.statusCode, 401);
  assert.equal(victim.cookie('carrel_session'), undefined);
  // A module's own replay check (firstUse) holds across flows.
  const c = browser(ctx.server);
  const replay = await roundTrip(c, 'campus', { subject: 'U-1001', code: 'abc' });
  assert.equal(replay.res.statusCode, 401);
  const reasons = (await events('sign_in.failed')).map((e) => e.context.reason);
  assert.ok(reasons.includes('state') && reasons.includes('replay'), JSON.stringify(reasons));
});

test('an unknown subject is refused unless the method creates users just in time', async () => {
  const b = browser(ctx.server);
  const { res } = await roundTrip(b, 'campus', { subject: 'U-9999' });
  assert.equal(res.statusCode, 403);
  assert.match(res.body, /no library account/);
  assert.doesNotMatch(res.body, /UNIV_ID|U-9999/);
  assert.equal((await client(ctx.server, inst.key).get('/users/U-9999')).statusCode, 400, 'no user was created');
  const unknown = (await events('sign_in.failed')).at(-1)!;
  assert.equal(unknown.context.reason, 'unknown_user');
  assert.match(String(unknown.context.detail), /UNIV_ID U-9999/, 'campus IT can see which subject found no account');

  const j = browser(ctx.server);
  const made = await roundTrip(j, 'jit', { subject: 'U-9999' });
  assert.equal(made.res.statusCode, 303, made.res.body);
  const user = (await client(ctx.server, inst.key).get('/users/U-9999')).json();
  assert.equal(user.account_type.value, 'EXTERNAL');
  assert.equal(user.record_type.value, 'PUBLIC');
  assert.equal(user.user_group.value, 'COMMUNITY');
  assert.equal(user.external_id, 'jit');
  assert.equal(user.last_name, 'Person');
  assert.deepEqual(user.user_identifier.map((i: { id_type: { value: string }; value: string }) => [i.id_type.value, i.value]), [['UNIV_ID', 'U-9999']]);
  const created = await ctx.testDb.db.query("SELECT 1 FROM audit_event WHERE action = 'user.create' AND entity_label = 'U-9999'");
  assert.equal(created.length, 1, 'created through the one write path, audited');
  const second = await roundTrip(browser(ctx.server), 'jit', { subject: 'u-9999' });
  assert.equal(second.res.statusCode, 303, 'the second time it is a match, not a creation');
});

test('inactive and expired users are refused with their own page, audited', async () => {
  const inactive = await roundTrip(browser(ctx.server), 'campus', { subject: 'U-2002' });
  assert.equal(inactive.res.statusCode, 403);
  assert.match(inactive.res.body, /not active/);
  const expired = await roundTrip(browser(ctx.server), 'campus', { subject: 'U-3003' });
  assert.equal(expired.res.statusCode, 403);
  assert.match(expired.res.body, /expired/);
  const failed = await events('sign_in.failed');
  assert.ok(failed.some((e) => e.entity_label === 'gone' && e.context.reason === 'inactive'));
  assert.ok(failed.some((e) => e.entity_label === 'old' && e.context.reason === 'expired'));
});

test('an IdP that does not answer gives the "not answering" page with local login; an IdP that says no, the failure page', async () => {
  const down = await browser(ctx.server).get(auth('/login/down'));
  assert.equal(down.statusCode, 503);
  assert.match(down.body, /not answering/);
  assert.match(down.body, new RegExp(`href="/auth/${inst.code}/login\\?auth=local"`));
  assert.doesNotMatch(down.body, /ECONNREFUSED/);
  const mid = await roundTrip(browser(ctx.server), 'campus', { fail: 'down' });
  assert.equal(mid.res.statusCode, 503);
  const deny = await roundTrip(browser(ctx.server), 'campus', { fail: 'deny' });
  assert.equal(deny.res.statusCode, 401);
  const failed = await events('sign_in.failed');
  assert.ok(failed.some((e) => e.context.reason === 'unavailable' && e.context.method === 'down'));
  assert.ok(failed.some((e) => e.context.reason === 'idp_error' && e.context.detail === 'access_denied'));
});

test('a password method shows its form, posts to itself with CSRF, and never sends an empty password to the directory', async () => {
  const b = browser(ctx.server);
  const form = await b.get(auth('/login/dir'));
  assert.equal(form.statusCode, 200);
  assert.match(form.body, new RegExp(`action="/auth/${inst.code}/login/dir"`));
  const noCsrf = await b.post(auth('/login/dir'), { username: 'ada', password: 'right' }, { csrf: false });
  assert.equal(noCsrf.statusCode, 403);
  const wrong = await b.post(auth('/login/dir'), { username: 'ada', password: 'wrong' });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /not right/);
  const before = directoryCalls.length;
  const empty = await b.post(auth('/login/dir'), { username: 'ada', password: '' });
  assert.equal(empty.statusCode, 401);
  assert.equal(directoryCalls.length, before, 'the module was not asked');
  const ok = await b.post(auth('/login/dir'), { username: 'ADA', password: 'right' });
  assert.equal(ok.statusCode, 303, ok.body);
  assert.equal((await b.get(auth('/account'))).statusCode, 200);
});

test('the local password form is audited too, success and failure', async () => {
  const b = browser(ctx.server);
  const bad = await b.post(auth('/login'), { identifier: 'local_admin', password: 'nope-nope-nope' });
  assert.equal(bad.statusCode, 401);
  const good = await b.post(auth('/login'), { identifier: 'local_admin', password: 'Local-Admin-2026!' });
  assert.equal(good.statusCode, 303);
  const failed = (await events('sign_in.failed')).filter((e) => e.context.method === 'password');
  assert.equal(failed.at(-1)?.entity_label, 'local_admin');
  assert.equal(failed.at(-1)?.context.reason, 'bad_credentials');
  assert.ok(!JSON.stringify(failed).includes('nope-nope-nope'), 'never the password');
  const ok = (await events('sign_in')).filter((e) => e.context.method === 'password');
  assert.equal(ok.at(-1)?.entity_label, 'local_admin');
});

test("another institution's method is not reachable through this institution's URLs, nor a disabled or unknown one", async () => {
  const res = await browser(ctx.server).get(auth('/login/theirs'));
  assert.equal(res.statusCode, 404);
  assert.match(res.body, /no such way to sign in/);
  assert.equal((await browser(ctx.server).get(auth('/login/nope'))).statusCode, 404);
  await ctx.app.services.loginMethods.update(system, inst.id, 'down', { enabled: false });
  assert.equal((await browser(ctx.server).get(auth('/login/down'))).statusCode, 404);
  // A flow begun at one institution does not finish at another's method of the same code.
  const b = browser(ctx.server);
  await b.get(auth('/login/campus'));
  const cross = await b.get(`/auth/${other.code}/login/theirs/callback?subject=ada`);
  assert.equal(cross.statusCode, 401);
});

const BAD_RETURNS = [
  'https://evil.example/',
  '//evil.example/x',
  '/\\evil.example',
  '\\\\evil.example',
  '/%2f/evil.example',
  '/%5cevil.example',
  'javascript:alert(1)',
  ' /auth/x',
  '/\t/evil.example',
  'http:/evil.example',
  '/auth/OTHER/account',
  '/auth/INST/../OTHER/account',
  '/api/v1/login-methods',
  '/almaws/v1/users',
];

test('return URLs: only this institution\'s pages and the console, through one function', () => {
  for (const bad of BAD_RETURNS) assert.equal(safeReturnTo(bad, 'INST'), null, bad);
  assert.equal(safeReturnTo('/auth/INST/account?tab=1', 'INST'), '/auth/INST/account?tab=1');
  assert.equal(safeReturnTo('/', 'INST'), '/');
  assert.equal(safeReturnTo('/users/ada', 'INST'), '/users/ada');
});

test('open redirects: every return parameter (method start, password method form) lands on the account page', async () => {
  for (const bad of [...BAD_RETURNS.map((r) => r.replace('INST', inst.code).replace('OTHER', other.code))]) {
    const via = await roundTrip(browser(ctx.server), 'campus', { subject: 'U-1001' }, `?return=${encodeURIComponent(bad)}`);
    assert.equal(via.res.headers.location, auth('/account'), `start ?return=${bad}`);
    const b = browser(ctx.server);
    await b.get(auth(`/login/dir?return=${encodeURIComponent(bad)}`));
    const pw = await b.post(auth('/login/dir'), { username: 'ada', password: 'right', return: bad });
    assert.equal(pw.headers.location, auth('/account'), `form return=${bad}`);
  }
  const good = await roundTrip(browser(ctx.server), 'campus', { subject: 'U-1001' }, `?return=${encodeURIComponent(auth('/account?x=1'))}`);
  assert.equal(good.res.headers.location, auth('/account?x=1'));
});

test('the login page: methods first in their order, the local form after when anyone has a password, ?auth=local always', async () => {
  const page = await browser(ctx.server).get(auth('/login?return=%2Fauth%2F' + inst.code + '%2Faccount'));
  assert.equal(page.statusCode, 200);
  const buttons = [...page.body.matchAll(/<a class="method" href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(buttons.map((b) => b[0]!.split('?')[0]), [auth('/login/campus'), auth('/login/dir'), auth('/login/jit'), auth('/login/fed')]);
  assert.equal(buttons[0]![1], 'Campus sign-in');
  assert.match(buttons[0]![0]!, /\?return=%2Fauth%2F/);
  assert.match(page.body, /Or with a library password/);
  assert.ok(page.body.indexOf('class="method"') < page.body.indexOf('name="password"'), 'campus sign-in first');
  const local = await browser(ctx.server).get(auth('/login?auth=local'));
  assert.doesNotMatch(local.body, /class="method"/);
  assert.match(local.body, /name="password"/);
});

test('the login page goes straight to the only method when nobody signs in with a local password; not with password fallback', async () => {
  const solo = await ctx.institution();
  await ctx.app.services.loginMethods.create(system, solo.id, { code: 'only', type: 'cas', match: 'primary_id', config: { issuer: 'https://idp.test' } });
  await ctx.app.services.loginMethods.create(system, solo.id, { code: 'off', type: 'cas', match: 'primary_id', config: { issuer: 'https://idp.test' }, enabled: false });
  const res = await browser(ctx.server).get(`/auth/${solo.code}/login?return=%2Fx`);
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `/auth/${solo.code}/login/only?return=%2Fx`);
  const local = await browser(ctx.server).get(`/auth/${solo.code}/login?auth=local`);
  assert.equal(local.statusCode, 200);
  assert.match(local.body, /name="password"/);
  await ctx.app.services.institutions.updateSettings(solo.code, { externalPasswordFallback: true });
  const fallback = await browser(ctx.server).get(`/auth/${solo.code}/login`);
  assert.equal(fallback.statusCode, 200);
  assert.ok(fallback.body.indexOf(`/auth/${solo.code}/login/only`) < fallback.body.indexOf('name="password"'), 'the IdP first, then the local form');
  assert.doesNotMatch(fallback.body, /login\/off/);
  // An institution with no methods keeps the local form alone.
  const none = await ctx.institution();
  const plain = await browser(ctx.server).get(`/auth/${none.code}/login`);
  assert.match(plain.body, /name="password"/);
  assert.doesNotMatch(plain.body, /class="method"/);
});

test('the local form\'s return field: only this institution\'s pages', async () => {
  for (const bad of BAD_RETURNS.map((r) => r.replace('INST', inst.code).replace('OTHER', other.code))) {
    const b = browser(ctx.server);
    const res = await b.post(auth('/login'), { identifier: 'local_admin', password: 'Local-Admin-2026!', return: bad }, { formUrl: auth('/login?auth=local') });
    assert.equal(res.headers.location, auth('/account'), bad);
  }
  const b = browser(ctx.server);
  const res = await b.post(auth('/login'), { identifier: 'local_admin', password: 'Local-Admin-2026!', return: '/' }, { formUrl: auth('/login?auth=local') });
  assert.equal(res.headers.location, '/');
});

test('sign-in events are readable through /api/v1/sign-in-events, by those who manage credentials, per institution', async () => {
  const get = (key: string, q = '') =>
    ctx.server.inject({ method: 'GET', url: `/api/v1/sign-in-events${q}`, headers: { authorization: `apikey ${key}` } });
  const all = (await get(inst.key)).json().event as Record<string, unknown>[];
  assert.ok(all.length > 5);
  assert.ok(all.some((e) => e.outcome === 'success' && e.method === 'campus' && e.user_id === 'ada' && e.address));
  assert.ok(all.some((e) => e.outcome === 'failure' && e.reason === 'inactive'));
  const ids = all.map((e) => e.id as number);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
  const failed = (await get(inst.key, '?outcome=failure')).json().event as Record<string, unknown>[];
  assert.ok(failed.length > 0 && failed.every((e) => e.outcome === 'failure'));
  const ada = (await get(inst.key, '?user=U-1001&limit=2')).json().event as Record<string, unknown>[];
  assert.equal(ada.length, 2);
  assert.ok(ada.every((e) => e.user_id === 'ada'));
  const older = (await get(inst.key, `?user=ada&before=${ada[1]!.id}`)).json().event as { id: number }[];
  assert.ok(older.every((e) => e.id < (ada[1]!.id as number)));
  const ro = await get((await ctx.institution()).readOnlyKey);
  assert.equal(errorCode(ro), 'UNAUTHORIZED');
  const theirs = (await get(other.key)).json().event as Record<string, unknown>[];
  assert.deepEqual([...new Set(theirs.map((e) => e.method))], ['theirs'], "only the institution's own events");
});

test('SAML: metadata served; the ACS is a cross-site POST found by RelayState (no cookie), bound by InResponseTo, used once', async () => {
  const meta = await browser(ctx.server).get(auth('/saml/fed/metadata'));
  assert.equal(meta.statusCode, 200);
  assert.match(String(meta.headers['content-type']), /^application\/samlmetadata\+xml/);
  assert.match(meta.body, new RegExp(`entityID="http://carrel.test/auth/${inst.code}/saml/fed/metadata"`));
  assert.match(meta.body, new RegExp(`Location="http://carrel.test/auth/${inst.code}/saml/fed/acs"`));
  assert.equal((await browser(ctx.server).get(auth('/saml/campus/metadata'))).statusCode, 404, 'not a SAML method');

  const b = browser(ctx.server);
  const start = await b.get(auth(`/login/fed?return=${encodeURIComponent(auth('/account?via=saml'))}`));
  const relay = new URL(start.headers.location as string).searchParams.get('RelayState')!;
  const requestId = `_req${relay.slice(0, 12)}`;
  // The IdP's auto-submitted form: another site, so no cookie of ours comes with it.
  const acs = (form: Record<string, string>) =>
    ctx.server.inject({
      method: 'POST',
      url: auth('/saml/fed/acs'),
      headers: { host: 'carrel.test', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
  const wrongRequest = await acs({ RelayState: relay, InResponseTo: '_other', subject: 'U-1001', SAMLResponse: 'x'.repeat(200_000) });
  assert.equal(wrongRequest.statusCode, 401, 'an answer to another request; a large response is read, not refused for size');
  const b2 = browser(ctx.server);
  const start2 = await b2.get(auth(`/login/fed?return=${encodeURIComponent(auth('/account?via=saml'))}`));
  const relay2 = new URL(start2.headers.location as string).searchParams.get('RelayState')!;
  const ok = await acs({ RelayState: relay2, InResponseTo: `_req${relay2.slice(0, 12)}`, subject: 'U-1001' });
  assert.equal(ok.statusCode, 303, ok.body);
  assert.equal(ok.headers.location, auth('/account?via=saml'));
  assert.match(String(ok.headers['set-cookie']), /carrel_session=/);
  const replay = await acs({ RelayState: relay2, InResponseTo: `_req${relay2.slice(0, 12)}`, subject: 'U-1001' });
  assert.equal(replay.statusCode, 401, 'a flow serves one response');
  const unknown = await acs({ RelayState: 'A'.repeat(43), InResponseTo: requestId, subject: 'U-1001' });
  assert.equal(unknown.statusCode, 401);
  const reasons = (await events('sign_in.failed')).filter((e) => e.context.method === 'fed').map((e) => e.context.reason);
  assert.deepEqual(reasons, ['in_response_to', 'state', 'state']);
});

test('a stored config its module no longer accepts turns the method off; firstUse forgets a key once it expires', async () => {
  await ctx.app.services.loginMethods.create(system, inst.id, { code: 'stale', type: 'cas', match: 'primary_id', config: { issuer: 'https://idp.test' } });
  await ctx.testDb.db.query(`UPDATE login_method SET config = '{"issuer": 42}' WHERE code = 'stale' AND institution_id = $1`, [inst.id]);
  // Written behind the service's back: this process would see it within METHODS_TTL_MS; now, once forgotten.
  ctx.app.services.signIn.forgetMethods(inst.id);
  assert.equal((await browser(ctx.server).get(auth('/login/stale'))).statusCode, 404);
  assert.doesNotMatch((await browser(ctx.server).get(auth('/login'))).body, /login\/stale/);

  const live = await ctx.app.services.signIn.live(await ctx.app.services.institutions.byCode(inst.code), 'campus');
  const c = ctx.app.services.signIn.contextOf(await ctx.app.services.institutions.byCode(inst.code), live);
  const soon = new Date(Date.now() + 60_000);
  assert.equal(await c.firstUse('test:once', soon), true);
  assert.equal(await c.firstUse('test:once', soon), false);
  assert.equal(await c.firstUse('test:other', soon), true);
  await ctx.testDb.db.query("UPDATE identity.single_use SET expires_at = now() - interval '1 minute'");
  assert.equal(await c.firstUse('test:once', soon), true, 'an expired record no longer counts');
});
