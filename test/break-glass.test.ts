// Break-glass accounts (issue 9, scope 7): a user marked break-glass, every sign-in of it e-mails
// the addresses the network sets (received here by a real SMTP server) and is audited; an
// ordinary account, a failed attempt or an unmarked account sends nothing.
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
  for (const id of ['backup_admin', 'ordinary']) {
    assert.equal((await client(ctx.server, inst.key).post('/users', staffUser(id, { password: PASSWORD }))).statusCode, 200);
  }
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

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

test('an unmarked account is quiet again', async () => {
  assert.equal((await put('backup_admin', false)).statusCode, 200);
  assert.equal((await browser(ctx.server, inst.code).signIn('backup_admin', PASSWORD)).statusCode, 303);
  assert.equal((await delivered()).length, 4);
});
