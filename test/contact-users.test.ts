// CONTACT users do not sign in (issue 10, fix 4), as in Alma: no password at creation, none set by
// staff, no set-password or reset link; sign-in with whatever credential one still has fails
// exactly as a wrong password does (op=auth and the login page); and a user who becomes a CONTACT
// loses its password, links and sessions in the same write, whoever writes (the API's PUT, or
// any other writer: the trigger of migration 0013).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';
import { browser } from './helpers/browser.js';
import { CHEAP_ARGON2, opAuth, v1 } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Ferry lantern 2026 quiet';
const contact = (id: string, extra: Record<string, unknown> = {}) =>
  jsonUser(id, { record_type: { value: 'CONTACT' }, contact_info: { email: [{ email_address: `${id}@vendor.example.com`, email_type: [{ value: 'work' }], preferred: true }] }, ...extra });
const withEmail = (id: string, extra: Record<string, unknown> = {}) =>
  jsonUser(id, { contact_info: { email: [{ email_address: `${id}@example.edu`, email_type: [{ value: 'personal' }], preferred: true }] }, ...extra });

const credential = (primaryId: string) =>
  ctx.app.db.maybeOne<{ hash: string | null; algorithm: string | null }>(
    'SELECT c.hash, c.algorithm FROM identity.credential c JOIN app_user u ON u.id = c.user_id WHERE u.primary_id = $1 AND u.institution_id = $2',
    [primaryId, inst.id],
  );
const outboxCount = async () => (await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM mail_outbox')).n;
/** What a caller sees of a failure: the tracking id differs per request, nothing else may. */
const seen = (res: { statusCode: number; body: string }) => ({ status: res.statusCode, body: res.body.replace(/"trackingId":"[^"]*"/, '') });

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
});
after(() => ctx.close());

test('a CONTACT is not given a password: not at creation, not by staff, and no set-password link is sent', async () => {
  const api = client(ctx.server, inst.key);
  const refused = await api.post('/users', contact('vendor1', { password: PASSWORD }));
  assert.equal(refused.statusCode, 400, refused.body);
  const e = almaError(refused);
  assert.equal(e.code, '401859');
  assert.match(e.message, /a password for a CONTACT user \(contacts do not sign in\)/);
  assert.equal((await api.get('/users/vendor1')).statusCode, 400, 'nothing was created');

  assert.equal((await api.post('/users', contact('vendor1'))).statusCode, 200);
  const staff = v1(ctx.server, inst.key);
  const outbox = await outboxCount();
  const set = await staff.post('/users/vendor1/password', { password: PASSWORD });
  assert.equal(set.statusCode, 400, set.body);
  assert.match(set.body, /a password for CONTACT user vendor1 \(contacts do not sign in; change the record type first\)/);
  const link = await staff.post('/users/vendor1/set-password-link');
  assert.equal(link.statusCode, 400, link.body);
  assert.match(link.body, /CONTACT user vendor1/);
  await assert.rejects(
    ctx.app.services.identity.importPasswordHash({ kind: 'system', label: 'test' }, inst.id, 'vendor1', { hash: '$2b$10$abcdefghijklmnopqrstuuA5RZ7oHkV5MYjpoC4I5ZuKn4r7OKdZe' }),
    { code: 'ACTION_NOT_SUPPORTED' },
  );
  // The forgotten-password form says what it says to anyone, and sends nothing.
  const page = await browser(ctx.server, inst.code).post('/forgot-password', { identifier: 'vendor1' });
  assert.ok(page.statusCode < 400, page.body);
  assert.equal(await outboxCount(), outbox);
  assert.equal((await credential('vendor1'))?.hash ?? null, null);
  // The report of users without a password leaves contacts out: there is nothing to fix.
  const report = await staff.get('/reports/users-without-password');
  assert.doesNotMatch(report.body, /vendor1/);
});

test('a CONTACT holding a credential (left by any writer) cannot sign in: the same failure as a wrong password, on op=auth and the login page', async () => {
  const api = client(ctx.server, inst.key);
  assert.equal((await api.post('/users', withEmail('patron1', { password: PASSWORD }))).statusCode, 200);
  assert.equal((await opAuth(ctx.server, inst.key, 'patron1', PASSWORD)).statusCode, 204);
  const stored = (await credential('patron1'))!;
  // Made a CONTACT behind Carrel's back, and the password put back as it was.
  await ctx.app.db.query("UPDATE app_user SET record_type = 'CONTACT' WHERE primary_id = 'patron1' AND institution_id = $1", [inst.id]);
  assert.equal((await credential('patron1'))!.hash, null, 'the trigger removed it');
  await ctx.app.db.query(
    'UPDATE identity.credential SET hash = $1, algorithm = $2 WHERE user_id = (SELECT id FROM app_user WHERE primary_id = $3 AND institution_id = $4)',
    [stored.hash, stored.algorithm, 'patron1', inst.id],
  );
  const right = await opAuth(ctx.server, inst.key, 'patron1', PASSWORD);
  const wrong = await opAuth(ctx.server, inst.key, 'patron1', 'not the password at all');
  assert.equal(right.statusCode, 400, right.body);
  assert.deepEqual(seen(right), seen(wrong));
  assert.match(right.body, /User authentication failed/);

  const viaPage = await browser(ctx.server, inst.code).signIn('patron1', PASSWORD);
  const wrongPage = await browser(ctx.server, inst.code).signIn('patron1', 'not the password at all');
  assert.equal(viaPage.statusCode, wrongPage.statusCode);
  assert.equal(viaPage.headers['set-cookie'] === undefined || !String(viaPage.headers['set-cookie']).includes('carrel_session='), true, 'no session');
  assert.equal(viaPage.body.replace(/value="[^"]*"/g, ''), wrongPage.body.replace(/value="[^"]*"/g, ''));
});

test('a user made a CONTACT by PUT loses its password, its links and its sessions in the same write', async () => {
  const api = client(ctx.server, inst.key);
  assert.equal((await api.post('/users', withEmail('patron2', { password: PASSWORD }))).statusCode, 200);
  const b = browser(ctx.server, inst.code);
  assert.equal((await b.signIn('patron2', PASSWORD)).statusCode, 303);
  assert.equal((await b.get('/account')).statusCode, 200);
  assert.equal((await v1(ctx.server, inst.key).post('/users/patron2/set-password-link')).statusCode, 202);
  const live = () =>
    ctx.app.db.one<{ sessions: number; tokens: number }>(
      `SELECT (SELECT count(*)::int FROM identity.session s WHERE s.user_id = u.id AND s.revoked_at IS NULL) AS sessions,
              (SELECT count(*)::int FROM identity.token t WHERE t.user_id = u.id AND t.used_at IS NULL) AS tokens
       FROM app_user u WHERE u.primary_id = 'patron2' AND u.institution_id = $1`,
      [inst.id],
    );
  assert.deepEqual(await live(), { sessions: 1, tokens: 1 });

  const current = (await api.get('/users/patron2')).json();
  const put = await api.put('/users/patron2', { ...current, record_type: { value: 'CONTACT' } });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal((await credential('patron2'))!.hash, null);
  assert.deepEqual(await live(), { sessions: 0, tokens: 0 });
  const account = await b.get('/account');
  assert.notEqual(account.statusCode, 200, 'the session ended');
  assert.equal((await opAuth(ctx.server, inst.key, 'patron2', PASSWORD)).statusCode, 400);

  // Back to PUBLIC, the old password does not come back to life.
  const again = (await api.get('/users/patron2')).json();
  assert.equal((await api.put('/users/patron2', { ...again, record_type: { value: 'PUBLIC' } })).statusCode, 200);
  assert.equal((await opAuth(ctx.server, inst.key, 'patron2', PASSWORD)).statusCode, 400);
  assert.equal((await v1(ctx.server, inst.key).post('/users/patron2/password', { password: PASSWORD })).statusCode, 204, 'a PUBLIC user may be given one again');
});
