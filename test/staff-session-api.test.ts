// Staff sessions act on /api/v1 (issue 9, scope 6): a staff user signed in on the login page calls
// /api/v1 with the session cookie and the CSRF token of GET /api/v1/session; without the token an
// unsafe call is refused (403); the user's roles decide what it may do, as a key's kind does; a
// session that must change its password gets nothing; another institution stays out of reach.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Backup admin 2026 pass';

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  inst = await ctx.institution();
  other = await ctx.institution();
  const api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    ['admin1', { password: PASSWORD, user_role: [role('50', inst.code)] }],
    ['desk1', { password: PASSWORD, user_role: [role('32', inst.code)] }],
    ['expired1', { password: PASSWORD, user_role: [role('50', inst.code, { expiry_date: '2001-01-01Z' })] }],
    ['fresh1', { password: PASSWORD, force_password_change: 'true', user_role: [role('50', inst.code)] }],
    ['patron1', {}],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  assert.equal((await client(ctx.server, other.key).post('/users', staffUser('stranger', {}))).statusCode, 200);
});
after(() => ctx.close());

test('a staff user signed in through the login page acts on /api/v1 with the CSRF token', async () => {
  const b = browser(ctx.server, inst.code);
  const signIn = await b.signIn('admin1', PASSWORD);
  assert.equal(signIn.statusCode, 303, signIn.body);
  assert.match(String(signIn.headers['set-cookie']), /carrel_session=[^;]+;.*Path=\//);

  const session = await b.session();
  assert.equal(session.statusCode, 200, session.body);
  const s = session.json();
  assert.equal(s.kind, 'staff');
  assert.equal(s.primary_id, 'admin1');
  assert.equal(s.institution, inst.code);
  assert.deepEqual(s.roles, [{ role_type: '50', scope: inst.code }]);
  assert.match(s.csrf_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(session.headers['cache-control'], 'no-store');

  // A read needs no token; a write does.
  assert.equal((await b.api('GET', '/users/patron1/sessions')).statusCode, 200);
  const sent = await b.api('POST', '/users/patron1/set-password-link');
  assert.equal(sent.statusCode, 202, sent.body);
  const toggled = await b.api('PUT', '/users/patron1/session-policy', { concurrent_sessions: 'warn' });
  assert.equal(toggled.statusCode, 200, toggled.body);

  // Audited as the staff user, not as a key.
  const row = await ctx.app.db.one<{ actor_type: string; actor_label: string }>(
    "SELECT actor_type, actor_label FROM audit_event WHERE action = 'credential.link_sent' ORDER BY id DESC LIMIT 1",
  );
  assert.deepEqual(row, { actor_type: 'staff', actor_label: 'admin1' });
});

test('an unsafe call with the cookie but without a valid token is refused with 403, and changes nothing', async () => {
  const b = browser(ctx.server, inst.code);
  await b.signIn('admin1', PASSWORD);
  const before = await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM mail_outbox");
  for (const csrf of [false, 'not-the-token', 'x'.repeat(43)] as const) {
    const res = await b.api('POST', '/users/patron1/set-password-link', undefined, { csrf });
    assert.equal(res.statusCode, 403, `csrf ${String(csrf)}`);
    assert.equal(errorCode(res), 'CARREL_CSRF_TOKEN_INVALID');
  }
  // Another session's token is not this one's.
  const other = browser(ctx.server, inst.code);
  await other.signIn('admin1', PASSWORD);
  const theirs = (await other.session()).json().csrf_token as string;
  assert.equal((await b.api('DELETE', '/users/patron1/sessions', undefined, { csrf: theirs })).statusCode, 403);
  assert.equal((await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM mail_outbox")).n, before.n);
});

test('roles decide: a circulation desk operator reads users but manages no credentials; an expired role counts for nothing', async () => {
  const desk = browser(ctx.server, inst.code);
  assert.equal((await desk.signIn('desk1', PASSWORD)).statusCode, 303);
  assert.deepEqual((await desk.session()).json().roles, [{ role_type: '32', scope: inst.code }]);
  const refused = await desk.api('POST', '/users/patron1/set-password-link');
  assert.equal(errorCode(refused), 'UNAUTHORIZED');
  assert.equal(errorCode(await desk.api('GET', '/sign-in-events')), 'UNAUTHORIZED');

  const expired = browser(ctx.server, inst.code);
  assert.equal((await expired.signIn('expired1', PASSWORD)).statusCode, 303);
  assert.deepEqual((await expired.session()).json().roles, []);
  assert.equal(errorCode(await expired.api('GET', '/users/patron1/sessions')), 'UNAUTHORIZED');
});

test("another institution's users and jobs are out of reach of a session", async () => {
  const b = browser(ctx.server, inst.code);
  await b.signIn('admin1', PASSWORD);
  const res = await b.api('POST', '/users/stranger/set-password-link');
  assert.equal(errorCode(res), '401861', 'not found in the session’s own institution');
  const export_ = await client(ctx.server, other.key).get('/users/stranger');
  assert.equal(export_.statusCode, 200);
  const job = await ctx.server.inject({
    method: 'POST',
    url: '/api/v1/exports',
    headers: { authorization: `apikey ${other.key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ format: 'csv' }),
  });
  assert.equal(job.statusCode, 202, job.body);
  assert.equal((await b.api('GET', `/jobs/${job.json().id}`)).statusCode, 404);
});

test('a session that must change its password gets nothing; a signed-out session gets nothing', async () => {
  const b = browser(ctx.server, inst.code);
  const res = await b.signIn('fresh1', PASSWORD);
  assert.match(String(res.headers.location), /change-password$/);
  const session = await b.session();
  assert.equal(session.statusCode, 403);
  assert.equal(errorCode(session), 'CARREL_PASSWORD_CHANGE_REQUIRED');
  assert.equal((await b.api('GET', '/users/patron1/sessions')).statusCode, 403);

  const gone = browser(ctx.server, inst.code);
  await gone.signIn('admin1', PASSWORD);
  const cookie = gone.jar.get('carrel_session')!;
  await gone.post('/logout', {});
  gone.jar.set('carrel_session', cookie);
  assert.equal(errorCode(await gone.api('GET', '/users/patron1/sessions')), 'UNAUTHORIZED');
  // A key still wins over a cookie, and needs no token.
  const keyed = await ctx.server.inject({
    method: 'POST',
    url: '/api/v1/users/patron1/set-password-link',
    headers: { authorization: `apikey ${inst.key}`, cookie: `carrel_session=${cookie}` },
  });
  assert.equal(keyed.statusCode, 202, keyed.body);
});
