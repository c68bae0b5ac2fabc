// The seed's SSO-outage procedure: staff toggle EXTERNAL staff to INTERNAL with a temporary
// password and a forced change, the user chooses a new one, and when SSO is back everyone is
// toggled back to EXTERNAL with their external id, and the local password is gone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listAuditEventsForEntity } from '../src/db/queries/audit-events.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, errorCode, opAuth, staffUser, startSmtpCatcher, v1, type SmtpCatcher } from './helpers/identity.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;
let staffApi: ReturnType<typeof v1>;

const external = (id: string, extra: Record<string, unknown> = {}) =>
  staffUser(id, { account_type: { value: 'EXTERNAL' }, external_id: 'SIS_STAFF', ...extra });

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url } });
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
  staffApi = v1(ctx.server, inst.key);
  for (const id of ['cat01', 'circ01', 'circ02', 'circ03']) assert.equal((await api.post('/users', external(id))).statusCode, 200);
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

const stored = (primaryId: string) =>
  ctx.app.db.maybeOne<{ hash: string | null; must_change: boolean }>(
    `SELECT c.hash, c.must_change FROM identity.credential c JOIN app_user u ON u.id = c.user_id
     WHERE u.primary_id = $1 AND u.institution_id = $2`,
    [primaryId, inst.id],
  );

describe('one staff member', () => {
  test('EXTERNAL -> INTERNAL with a temporary password: op=auth signals the forced change until it is made', async () => {
    const res = await staffApi.post('/users/cat01/account-type', { account_type: 'INTERNAL', password: 'Temporary Pass 4711' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { primary_id: 'cat01', account_type: 'INTERNAL', external_id: null, password: 'set' });
    const user = (await api.get('/users/cat01')).json();
    assert.equal(user.account_type.value, 'INTERNAL');
    assert.equal(user.external_id, '', 'Alma: external id empty for INTERNAL users');

    const first = await opAuth(ctx.server, inst.key, 'cat01', 'Temporary Pass 4711');
    assert.equal(first.statusCode, 204);
    assert.equal(first.headers['x-carrel-password-change-required'], 'true');

    // What the forced-change page will call (part B): the user's own change.
    const login = await ctx.app.services.identity.verifyLogin(inst.id, 'cat01', 'Temporary Pass 4711', '198.51.100.7');
    if (login.outcome !== 'must_change') return assert.fail(`login ${login.outcome}`);
    await assert.rejects(ctx.app.services.identity.changePassword(login.user.id, 'wrong current', 'Chosen by me 2024'), /authentication failed/);
    await assert.rejects(ctx.app.services.identity.changePassword(login.user.id, 'Temporary Pass 4711', 'Temporary Pass 4711'), /differ/);
    await assert.rejects(ctx.app.services.identity.changePassword(login.user.id, 'Temporary Pass 4711', 'password1'), /commonly used/);
    await ctx.app.services.identity.changePassword(login.user.id, 'Temporary Pass 4711', 'Chosen by me 2024');

    const after = await opAuth(ctx.server, inst.key, 'cat01', 'Chosen by me 2024');
    assert.equal(after.statusCode, 204);
    assert.equal(after.headers['x-carrel-password-change-required'], undefined);
    assert.equal((await opAuth(ctx.server, inst.key, 'cat01', 'Temporary Pass 4711')).statusCode, 400);
  });

  test('INTERNAL -> EXTERNAL restores the external id and removes the local password', async () => {
    const res = await staffApi.post('/users/cat01/account-type', { account_type: 'EXTERNAL' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { primary_id: 'cat01', account_type: 'EXTERNAL', external_id: 'SIS_STAFF', password: 'removed' });
    assert.equal((await opAuth(ctx.server, inst.key, 'cat01', 'Chosen by me 2024')).statusCode, 400);
    assert.equal((await stored('cat01'))!.hash, null);
    const userId = (await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'cat01')).id;
    const events = await listAuditEventsForEntity(ctx.app.db, userId);
    const toggles = events.filter((e) => e.action === 'user.account_type');
    assert.equal(toggles.length, 2);
    assert.deepEqual(toggles[0]!.changes.accountType, { before: 'INTERNAL', after: 'EXTERNAL' });
    assert.deepEqual(toggles[0]!.changes.externalId, { before: null, after: 'SIS_STAFF' });
    assert.equal(toggles[0]!.context!.password, 'removed');
    assert.equal(toggles[1]!.actorType, 'api_key');
  });

  test('toggling needs a way in, and refuses a no-op', async () => {
    const none = await staffApi.post('/users/circ01/account-type', { account_type: 'INTERNAL' });
    assert.equal(errorCode(none), '401664');
    const same = await staffApi.post('/users/circ01/account-type', { account_type: 'EXTERNAL' });
    assert.equal(same.statusCode, 409);
    const weak = await staffApi.post('/users/circ01/account-type', { account_type: 'INTERNAL', password: 'Grace1234' });
    assert.equal(errorCode(weak), '500038');
    assert.equal((await api.get('/users/circ01')).json().account_type.value, 'EXTERNAL', 'a refused toggle changes nothing');
  });

  test('a PUT cannot make an EXTERNAL user INTERNAL (Alma); the toggle is the way', async () => {
    const body = (await api.get('/users/circ01')).json();
    const res = await api.put('/users/circ01', { ...body, account_type: { value: 'INTERNAL' }, external_id: '' });
    assert.equal(res.statusCode, 400);
  });

  test('with the institution fallback on, toggling back keeps the password (try the IdP, then the password)', async () => {
    const other = await ctx.institution();
    await ctx.app.services.institutions.updateSettings(other.code, { externalPasswordFallback: true });
    const otherApi = client(ctx.server, other.key);
    assert.equal((await otherApi.post('/users', external('fb01'))).statusCode, 200);
    const staff2 = v1(ctx.server, other.key);
    assert.equal((await staff2.post('/users/fb01/account-type', { account_type: 'INTERNAL', password: 'Fallback Pass 2024', force_change: false })).statusCode, 200);
    const back = await staff2.post('/users/fb01/account-type', { account_type: 'EXTERNAL' });
    assert.equal(back.json().password, 'kept');
    assert.equal((await opAuth(ctx.server, other.key, 'fb01', 'Fallback Pass 2024')).statusCode, 204, 'EXTERNAL with fallback');
  });
});

describe('a whole set, and back', () => {
  test('bulk EXTERNAL -> INTERNAL with links by e-mail, reported per user; and bulk back', async () => {
    const res = await staffApi.post('/account-type', { user_ids: ['circ02', 'circ03', 'nobody'], account_type: 'INTERNAL', send_link: true });
    assert.equal(res.statusCode, 200, res.body);
    const results = res.json().results as { user_id: string; ok: boolean; password?: string; error?: { code: string } }[];
    assert.deepEqual(results.map((r) => [r.user_id, r.ok, r.password ?? r.error?.code]), [
      ['circ02', true, 'link_sent'],
      ['circ03', true, 'link_sent'],
      ['nobody', false, '401861'],
    ]);
    await ctx.app.services.mail.deliverPendingMail();
    const mails = smtp.messages.filter((m) => /circ0[23]@/.test(String((m.to as { text: string }).text)));
    assert.equal(mails.length, 2);
    // Each uses the link: a password of their own, no forced change.
    for (const mail of mails) {
      const token = /token=([A-Za-z0-9_-]{43})/.exec(mail.text ?? '')![1]!;
      const who = String((mail.to as { text: string }).text).split('@')[0]!;
      await ctx.app.services.identity.resetPasswordWithToken(inst.id, token, `Outage passphrase ${who.slice(-1)}x`);
      const ok = await opAuth(ctx.server, inst.key, who, `Outage passphrase ${who.slice(-1)}x`);
      assert.equal(ok.statusCode, 204);
    }

    const back = await staffApi.post('/account-type', { user_ids: ['circ02', 'circ03'], account_type: 'EXTERNAL' });
    assert.deepEqual(back.json().results.map((r: { ok: boolean; password: string }) => [r.ok, r.password]), [[true, 'removed'], [true, 'removed']]);
    for (const who of ['circ02', 'circ03']) {
      const user = (await api.get(`/users/${who}`)).json();
      assert.equal(user.account_type.value, 'EXTERNAL');
      assert.equal(user.external_id, 'SIS_STAFF');
      assert.equal((await opAuth(ctx.server, inst.key, who, `Outage passphrase ${who.slice(-1)}x`)).statusCode, 400);
    }
  });
});
