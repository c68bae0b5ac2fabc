// Break-glass accounts (issue 9, scope 7): a user marked break-glass, every sign-in of it e-mails
// the addresses the network sets (received here by a real SMTP server) and is audited; an
// ordinary account, a failed attempt or an unmarked account sends nothing. GET /api/v1/break-glass
// lists who they are: this institution's only, with whether the password lets them in and the
// last sign-in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAuditEventsForEntity } from '../src/db/queries/audit-events.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser, startSmtpCatcher, type SmtpCatcher } from './helpers/identity.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
let zone: Awaited<ReturnType<TestContext['institution']>>;
let inst: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Break the glass 2026';
const OFFICE = ['office@consortium.example.org', 'security@consortium.example.org'];

const put = (id: string, on: boolean, key = inst.key) =>
  ctx.server.inject({
    method: 'PUT',
    url: `/api/v1/users/${id}/break-glass`,
    headers: { authorization: `apikey ${key}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ break_glass: on }),
  });

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url } });
  zone = await ctx.institution({ networkZone: true });
  inst = await ctx.institution({ network: zone.code });
  const users: [string, Record<string, unknown>][] = [
    ['backup_admin', { password: PASSWORD }],
    ['ordinary', { password: PASSWORD }],
    ['nopass', { first_name: 'Nina', last_name: 'Nopass' }],
    ['retired', { password: PASSWORD, first_name: 'Rita', last_name: 'Retired', status: { value: 'INACTIVE' } }],
  ];
  for (const [id, extra] of users) {
    const res = await client(ctx.server, inst.key).post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

type Listed = { primary_id: string; first_name: string | null; last_name: string | null; usable_password: boolean; last_sign_in: string | null };
const list = async (key = inst.key) => {
  const res = await ctx.server.inject({ method: 'GET', url: '/api/v1/break-glass', headers: { authorization: `apikey ${key}` } });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { break_glass_account: Listed[] }).break_glass_account;
};

const delivered = async () => {
  await ctx.app.services.mail.deliverPendingMail();
  return smtp.messages.filter((m) => /Break-glass sign-in/.test(m.subject ?? ''));
};

test('the network sets who is told; an address that is not one is refused', async () => {
  await assert.rejects(ctx.app.services.institutions.updateNetworkSettings(inst.code, { breakGlassNotify: ['office@x.org\r\nBcc: evil@x.org'] }), /e-mail/);
  const settings = await ctx.app.services.institutions.updateNetworkSettings(inst.code, { breakGlassNotify: OFFICE });
  assert.deepEqual(settings.breakGlassNotify, OFFICE);
});

test('marking needs credentials:manage and is audited', async () => {
  assert.equal(errorCode(await put('backup_admin', true, inst.readOnlyKey)), 'UNAUTHORIZED');
  assert.equal((await put('backup_admin', true, zone.key)).statusCode, 400, "another institution's key finds no such user");
  const res = await put('backup_admin', true);
  assert.equal(res.statusCode, 200, res.body);
  const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'backup_admin');
  const marked = (await listAuditEventsForEntity(ctx.app.db, user.id)).find((e) => e.action === 'credential.break_glass');
  assert.deepEqual(marked?.changes.breakGlass, { before: false, after: true });
});

test('every sign-in of a break-glass account e-mails the network\'s addresses and is audited; others send nothing', async () => {
  assert.equal((await browser(ctx.server, inst.code).signIn('ordinary', PASSWORD)).statusCode, 303);
  assert.equal((await browser(ctx.server, inst.code).signIn('backup_admin', 'wrong password here')).statusCode, 401);
  assert.equal((await delivered()).length, 0, 'an ordinary sign-in and a failed attempt send nothing');

  const b = browser(ctx.server, inst.code, { ip: '203.0.113.77', userAgent: 'Outage laptop' });
  assert.equal((await b.signIn('backup_admin', PASSWORD)).statusCode, 303);
  const mails = await delivered();
  assert.equal(mails.length, 2);
  assert.deepEqual(smtp.envelopes.slice(-2).flatMap((e) => e.to).sort(), OFFICE);
  for (const m of mails) {
    assert.match(m.subject ?? '', new RegExp(`backup_admin at ${inst.code}`));
    assert.match(m.text ?? '', /From address: 203\.0\.113\.77/);
    assert.match(m.text ?? '', /Browser: Outage laptop/);
    assert.match(m.text ?? '', /Method: password/);
    assert.doesNotMatch(m.text ?? '', new RegExp(PASSWORD));
  }
  const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'backup_admin');
  const events = await listAuditEventsForEntity(ctx.app.db, user.id);
  const glass = events.filter((e) => e.action === 'break_glass.sign_in');
  assert.equal(glass.length, 1);
  assert.equal(glass[0]!.context!.address, '203.0.113.77');
  assert.equal(glass[0]!.context!.notified, 2);

  // Again: every sign-in, not the first only.
  assert.equal((await browser(ctx.server, inst.code).signIn('backup_admin', PASSWORD)).statusCode, 303);
  assert.equal((await delivered()).length, 4);
});

test("the list names this institution's break-glass accounts only, whether their password lets them in, and their last sign-in", async () => {
  const listRes = await ctx.server.inject({ method: 'GET', url: '/api/v1/break-glass', headers: { authorization: `apikey ${inst.readOnlyKey}` } });
  assert.equal(errorCode(listRes), 'UNAUTHORIZED', 'the permission of marking: credentials:manage');
  for (const id of ['nopass', 'retired']) assert.equal((await put(id, true)).statusCode, 200);
  // Another institution's back-up admin, under the same primary id, marked by its own institution.
  const made = await client(ctx.server, zone.key).post('/users', staffUser('backup_admin', { password: PASSWORD, first_name: 'Zed', last_name: 'Zone' }));
  assert.equal(made.statusCode, 200, made.body);
  assert.equal((await put('backup_admin', true, zone.key)).statusCode, 200, "the zone marks its own backup_admin");

  const ours = await list();
  assert.deepEqual(ours.map((a) => a.primary_id).sort(), ['backup_admin', 'nopass', 'retired'], 'ordinary is not listed');
  const admin = ours.find((a) => a.primary_id === 'backup_admin')!;
  assert.deepEqual([admin.first_name, admin.last_name, admin.usable_password], ['Grace', 'Hopper', true]);
  const lastAudit = (await listAuditEventsForEntity(ctx.app.db, (await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'backup_admin')).id))
    .find((e) => e.action === 'sign_in'); // newest first
  assert.ok(lastAudit, 'the sign-ins above were audited');
  assert.equal(admin.last_sign_in, new Date(lastAudit.occurredAt).toISOString());
  const nopass = ours.find((a) => a.primary_id === 'nopass')!;
  assert.deepEqual([nopass.usable_password, nopass.last_sign_in], [false, null], 'no password, never signed in');
  assert.equal(ours.find((a) => a.primary_id === 'retired')!.usable_password, false, 'an INACTIVE user is not let in by its password');

  // Tenant isolation: each institution sees its own, never the other's (same primary id or not).
  const theirs = await list(zone.key);
  assert.deepEqual(theirs.map((a) => [a.primary_id, a.first_name]), [['backup_admin', 'Zed']]);
  assert.equal(ours.filter((a) => a.first_name === 'Zed').length, 0);
});

test('an unmarked account is quiet again, and no longer listed', async () => {
  assert.equal((await put('backup_admin', false)).statusCode, 200);
  assert.equal((await browser(ctx.server, inst.code).signIn('backup_admin', PASSWORD)).statusCode, 303);
  assert.equal((await delivered()).length, 4);
  assert.deepEqual((await list()).map((a) => a.primary_id).sort(), ['nopass', 'retired']);
  assert.deepEqual((await list(zone.key)).map((a) => a.primary_id), ['backup_admin'], "the zone's mark is its own");
});
