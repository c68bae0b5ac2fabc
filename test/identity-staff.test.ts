// Who may manage credentials (User Administrator, User Manager, read-write keys; not read-only
// keys, not other staff, not another institution), the audit trail of every action without a
// secret in it or in the log, sessions, and what deleting a user takes with it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Actor } from '../src/domain/access/actor.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, errorCode, opAuth, staffUser, v1 } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;
const logs: string[] = [];
const SECRETS = ['Staff chosen 1234', 'Manager chosen 5678', 'Toggle temp 9012', 'Patron own 3456'];

const staffActor = (roleType: string, institutionId = inst.id): Actor => ({
  kind: 'staff',
  userId: '00000000-0000-0000-0000-000000000001',
  institutionId,
  primaryId: `staff-${roleType}`,
  roles: [{ roleType, scope: inst.code }],
  sessionId: 's',
});

before(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _e, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, logLevel: 'info' }, logStream });
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
  for (const id of ['target01', 'target02', 'target03']) assert.equal((await api.post('/users', staffUser(id))).statusCode, 200);
  assert.equal((await api.post('/users', staffUser('sso01', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }))).statusCode, 200);
});
after(() => ctx.close());

describe('authorization', () => {
  test('a read-only key is refused every identity action of /api/v1', async () => {
    const ro = v1(ctx.server, inst.readOnlyKey);
    const calls = [
      ro.post('/users/target01/password', { password: 'Read only 12345' }),
      ro.post('/users/target01/set-password-link'),
      ro.post('/users/sso01/account-type', { account_type: 'INTERNAL', send_link: true }),
      ro.post('/account-type', { user_ids: ['sso01'], account_type: 'INTERNAL', send_link: true }),
      ro.post('/users/target01/password-hash', { hash: '$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0' }),
      ro.get('/users/target01/sessions'),
      ro.delete('/users/target01/sessions'),
      ro.get('/mail-outbox'),
      ro.get('/reports/users-without-password'),
      ro.post('/reports/users-without-password/send-links'),
    ];
    for (const res of await Promise.all(calls)) {
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(errorCode(res), 'UNAUTHORIZED');
    }
    assert.equal((await ctx.app.db.query("SELECT 1 FROM mail_outbox WHERE institution_id = $1", [inst.id])).length, 0);
    assert.equal((await v1(ctx.server, 'carrel_000000000000_' + 'x'.repeat(43)).get('/mail-outbox')).statusCode, 400);
  });

  test('staff without User Administrator or User Manager are refused; those roles are allowed', async () => {
    const { identity } = ctx.app.services;
    for (const role of ['32', '221', '26', '200']) {
      await assert.rejects(identity.setPassword(staffActor(role), inst.id, 'target01', { password: 'Circ desk 12345' }), { code: 'UNAUTHORIZED' });
      await assert.rejects(identity.toggleAccountType(staffActor(role), inst.id, 'sso01', { accountType: 'INTERNAL', sendLink: true }), { code: 'UNAUTHORIZED' });
      await assert.rejects(identity.listSessions(staffActor(role), inst.id, 'target01'), { code: 'UNAUTHORIZED' });
      await assert.rejects(ctx.app.services.mail.list(staffActor(role), inst.id, { limit: 10, offset: 0 }), { code: 'UNAUTHORIZED' });
    }
    await identity.setPassword(staffActor('50'), inst.id, 'target01', { password: SECRETS[0]! });
    await identity.setPassword(staffActor('21'), inst.id, 'target02', { password: SECRETS[1]! });
    // A User Administrator of another institution reaches nothing here.
    const other = await ctx.institution();
    await assert.rejects(identity.setPassword(staffActor('50', other.id), inst.id, 'target01', { password: 'Elsewhere 12345' }), { code: 'UNAUTHORIZED' });
    await assert.rejects(identity.setPassword({ kind: 'apiKey', id: 'k', institutionId: other.id, readOnly: false, label: 'x' }, inst.id, 'target01', { password: 'Elsewhere 12345' }), { code: 'UNAUTHORIZED' });
    assert.equal((await opAuth(ctx.server, inst.key, 'target01', SECRETS[0]!)).headers['x-carrel-password-change-required'], 'true', 'force change by default');
  });
});

describe('sessions', () => {
  test('listed and revoked one by one or all at once', async () => {
    const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'target03');
    const a = await ctx.app.services.identity.createSession(user, { ttlMinutes: 60, userAgent: 'Firefox', clientAddress: '192.0.2.1' });
    await ctx.app.services.identity.createSession(user, { ttlMinutes: 60, userAgent: 'Chromium', clientAddress: '192.0.2.2' });
    const staff = v1(ctx.server, inst.key);
    const listed = await staff.get('/users/target03/sessions');
    assert.equal(listed.statusCode, 200, listed.body);
    const sessions = listed.json().sessions as { id: string; user_agent: string }[];
    assert.deepEqual(sessions.map((s) => s.user_agent).sort(), ['Chromium', 'Firefox']);
    assert.ok(!listed.body.includes(a.cookie), 'the cookie value is never shown');
    const one = await staff.delete(`/users/target03/sessions/${a.session.id}`);
    assert.deepEqual(one.json(), { revoked: 1 });
    assert.equal((await staff.delete(`/users/target03/sessions/${a.session.id}`)).statusCode, 404);
    assert.equal((await staff.delete('/users/target03/sessions/not-a-uuid')).statusCode, 400);
    assert.equal((await staff.get('/users/target03/sessions')).json().sessions.length, 1);
    assert.deepEqual((await staff.delete('/users/target03/sessions')).json(), { revoked: 1 });
    assert.equal((await staff.get('/users/target03/sessions')).json().sessions.length, 0);
  });

  test('a new password set by staff ends the user\'s sessions', async () => {
    const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'target03');
    await ctx.app.services.identity.createSession(user, { ttlMinutes: 60 });
    await v1(ctx.server, inst.key).post('/users/target03/password', { password: SECRETS[3] });
    assert.equal((await v1(ctx.server, inst.key).get('/users/target03/sessions')).json().sessions.length, 0);
  });
});

describe('audit and secrecy', () => {
  test('every action leaves an audit event, and no event, response or log line holds a secret', async () => {
    const staff = v1(ctx.server, inst.key);
    await staff.post('/users/sso01/account-type', { account_type: 'INTERNAL', password: SECRETS[2] });
    await staff.post('/users/sso01/account-type', { account_type: 'EXTERNAL' });
    const link = await staff.post('/users/target02/set-password-link');
    assert.equal(link.statusCode, 202, link.body);
    await staff.post('/users/target02/password-hash', { hash: '$1$saltsalt$QiRuzTb/17UTdqe0tc8cv0' });
    await staff.delete('/users/target01/sessions');
    await api.post('/users', jsonUser('patron01', { password: 'Alma created 7788' }));

    const rows = await ctx.app.db.query<{ action: string; changes: unknown; context: unknown }>(
      'SELECT action, changes, context FROM audit_event WHERE institution_id = $1 ORDER BY id',
      [inst.id],
    );
    const actions = new Set(rows.map((r) => r.action));
    for (const a of ['credential.password_set', 'user.account_type', 'credential.link_sent', 'credential.hash_imported', 'session.revoked']) {
      assert.ok(actions.has(a), `audited: ${a}`);
    }
    const token = /token=([A-Za-z0-9_-]{43})/.exec((await ctx.app.db.one<{ text: string }>(
      "SELECT text FROM mail_outbox WHERE institution_id = $1 ORDER BY id DESC LIMIT 1", [inst.id])).text)![1]!;
    const everything = JSON.stringify(rows) + logs.join('');
    for (const secret of [...SECRETS, 'Alma created 7788', token, 'QiRuzTb', '$argon2id$']) {
      assert.ok(!everything.includes(secret), `leaked: ${secret}`);
    }
  });

  test('a password is in no response: JSON, XML, search with expand=full', async () => {
    for (const url of ['/users/target01?format=json', '/users/target01?format=xml', '/users?q=primary_id~target&expand=full&format=json']) {
      const res = await api.get(url);
      assert.equal(res.statusCode, 200);
      for (const secret of [...SECRETS, 'argon2']) assert.ok(!res.body.includes(secret), `${url} leaks ${secret}`);
    }
  });
});

describe('deleting a user', () => {
  test('takes its credential, links and sessions with it', async () => {
    const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'target02');
    await ctx.app.services.identity.createSession(user, { ttlMinutes: 60 });
    const count = async (table: string) =>
      (await ctx.app.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE user_id = $1`, [user.id])).n;
    assert.equal(await count('identity.credential'), 1);
    assert.ok((await count('identity.session')) > 0);
    assert.equal((await api.delete('/users/target02')).statusCode, 204);
    for (const table of ['identity.credential', 'identity.token', 'identity.session', 'identity.known_address', 'identity.account_toggle']) {
      assert.equal(await count(table), 0, table);
    }
    assert.equal((await opAuth(ctx.server, inst.key, 'target02', SECRETS[1]!)).statusCode, 400);
  });
});
