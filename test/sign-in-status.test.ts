// GET /api/v1/users/:user_id/sign-in-status (issue 10): whether a user has a local password, must
// change it, is locked out (the guess budget spent, places refused) and is a break-glass account;
// readable with users:read (a desk's session, a read-only key); never a hash; another
// institution's user is not found, whoever asks.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser, v1 } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Status check pass 2026';

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  inst = await ctx.institution();
  other = await ctx.institution();
  await ctx.app.services.institutions.updateSettings(inst.code, { loginMaxFailures: 3, loginLockMinutes: 30 });
  const api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    ['desk1', { password: PASSWORD, user_role: [role('32', inst.code)] }],
    ['nopass1', {}],
    ['ext1', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }],
    ['guessed1', { password: PASSWORD }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  // The same primary id in another institution, with a password: never what the first one sees.
  assert.equal((await client(ctx.server, other.key).post('/users', staffUser('twin1', { password: PASSWORD }))).statusCode, 200);
});
after(() => ctx.close());

const status = async (key: string, id: string) => {
  const res = await v1(ctx.server, key).get(`/users/${id}/sign-in-status`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
};

test('no password, then a password set by staff that must be changed; never the hash', async () => {
  const before = await status(inst.key, 'nopass1');
  assert.equal(before.has_password, false);
  assert.equal(before.password_allowed, true);
  assert.equal(before.must_change, false);
  assert.equal(before.password_changed_at, null);

  const set = await v1(ctx.server, inst.key).post('/users/nopass1/password', { password: 'A new one for 2026', force_change: true });
  assert.equal(set.statusCode, 204, set.body);
  const res = await v1(ctx.server, inst.key).get('/users/nopass1/sign-in-status');
  const after = res.json();
  assert.equal(after.primary_id, 'nopass1');
  assert.equal(after.account_type, 'INTERNAL');
  assert.equal(after.has_password, true);
  assert.equal(after.must_change, true);
  assert.equal(after.imported, false);
  assert.ok(Date.parse(after.password_changed_at) > 0);
  assert.doesNotMatch(res.body, /argon2|\$/, 'nothing of the hash');
  assert.equal(after.locked_out, false);
  assert.equal(after.break_glass, false);
});

test('an EXTERNAL user without a password; break-glass shows once marked', async () => {
  const ext = await status(inst.key, 'ext1');
  assert.equal(ext.account_type, 'EXTERNAL');
  assert.equal(ext.has_password, false);
  assert.equal(ext.password_allowed, false);

  const b = browser(ctx.server, inst.code);
  const marked = await ctx.server.inject({
    method: 'PUT',
    url: '/api/v1/users/guessed1/break-glass',
    headers: { authorization: `apikey ${inst.key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ break_glass: true }),
  });
  assert.equal(marked.statusCode, 200, marked.body);
  assert.equal((await status(inst.key, 'guessed1')).break_glass, true);
  // A desk operator (users:read, not credentials:manage) may read it in its session.
  assert.equal((await b.signIn('desk1', PASSWORD)).statusCode, 303);
  const seen = await b.api('GET', '/users/guessed1/sign-in-status');
  assert.equal(seen.statusCode, 200, seen.body);
  assert.equal(seen.json().has_password, true);
  // ... and a read-only key.
  assert.equal((await status(inst.readOnlyKey, 'guessed1')).has_password, true);
});

test('failures lock a place, then the guess budget; a new password lifts both', async () => {
  const login = (password: string, address: string) => ctx.app.services.identity.verifyLogin(inst.id, 'guessed1', password, address).then((r) => r.outcome);
  for (let i = 0; i < 3; i++) assert.equal(await login('wrong', '192.0.2.10'), 'failed');
  let s = await status(inst.key, 'guessed1');
  assert.equal(s.locked_places, 1);
  assert.equal(s.locked_out, false, 'one place alone does not spend the budget');
  for (let i = 0; i < 3; i++) assert.equal(await login('wrong', '192.0.2.11'), 'failed');
  s = await status(inst.key, 'guessed1');
  assert.equal(s.locked_places, 2);
  assert.equal(s.locked_out, true);
  assert.ok(Date.parse(s.locked_until) > Date.now());

  const set = await v1(ctx.server, inst.key).post('/users/guessed1/password', { password: 'Fresh after lock 2026', force_change: false });
  assert.equal(set.statusCode, 204, set.body);
  s = await status(inst.key, 'guessed1');
  assert.deepEqual([s.locked_out, s.locked_until, s.locked_places, s.must_change], [false, null, 0, false]);
});

test("another institution's user is not found, by key or by staff session", async () => {
  const res = await v1(ctx.server, other.key).get('/users/nopass1/sign-in-status');
  assert.equal(res.statusCode, 400);
  assert.equal(errorCode(res), '401861');
  const twin = await v1(ctx.server, inst.key).get('/users/twin1/sign-in-status');
  assert.equal(twin.statusCode, 400);
  assert.equal(errorCode(twin), '401861');
  const b = browser(ctx.server, inst.code);
  assert.equal((await b.signIn('desk1', PASSWORD)).statusCode, 303);
  assert.equal(errorCode(await b.api('GET', '/users/twin1/sign-in-status')), '401861');
  assert.equal((await v1(ctx.server, other.key).get('/users/twin1/sign-in-status')).json().has_password, true);
});

test('without credentials: refused', async () => {
  const res = await ctx.server.inject({ method: 'GET', url: '/api/v1/users/nopass1/sign-in-status' });
  assert.equal(res.statusCode, 400);
  assert.equal(errorCode(res), 'UNAUTHORIZED');
});
