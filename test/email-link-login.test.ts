// The e-mail-link method: the page takes a user name, card number or e-mail address; a real SMTP
// server receives the link; opening it shows a button (a GET never uses the link: mail scanners
// fetch links); the button signs in once. The same answer whether or not the account exists; an
// expired, used or other institution's link is refused; return URLs stay on the institution's pages.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, startSmtpCatcher, testClock, type SmtpCatcher } from './helpers/identity.js';
import { browser } from './helpers/sign-in.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
const clock = testClock();
let inst: { id: string; code: string; key: string };
let other: { id: string; code: string; key: string };
const system = { kind: 'system', label: 'test' } as const;

const reader = (id: string, email: string | null, extra: Record<string, unknown> = {}) =>
  jsonUser(id, {
    first_name: 'Pat',
    last_name: 'Reader',
    ...(email ? { contact_info: { email: [{ email_address: email, email_type: [{ value: 'personal' }], preferred: true }] } } : {}),
    user_identifier: [{ id_type: { value: 'BARCODE' }, value: `B-${id}` }],
    ...extra,
  });

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url, mailFrom: 'Library <library@example.edu>', emailLoginLinkMinutes: 15 }, clock: clock.fn });
  inst = await ctx.institution();
  other = await ctx.institution();
  const api = client(ctx.server, inst.key);
  for (const body of [
    reader('pat', 'Pat.Reader@mail.example.org'),
    reader('nomail', null),
    reader('asleep', 'asleep@mail.example.org', { status: { value: 'INACTIVE' } }),
    reader('twin1', 'shared@mail.example.org'),
    reader('twin2', 'shared@mail.example.org'),
  ]) {
    const res = await api.post('/users', body);
    assert.equal(res.statusCode, 200, res.body);
  }
  await ctx.app.services.loginMethods.create(system, inst.id, { code: 'mail', type: 'email-link', label: 'E-mail me a link', match: 'primary_id', config: {} });
  await ctx.app.services.loginMethods.create(system, other.id, { code: 'mail', type: 'email-link', match: 'primary_id', config: {} });
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

const auth = (path: string, code = inst.code) => `/auth/${code}${path}`;

/** Asks for a link on the page; the mails that arrived because of it. */
async function ask(identifier: string, returnTo = '', b = browser(ctx.server)) {
  const before = smtp.messages.length;
  const res = await b.post(auth('/login/mail'), { identifier, return: returnTo });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(res.body, /If that names a library account with an e-mail address, a sign-in link is on its way/);
  await ctx.app.services.mail.deliverPendingMail();
  return { page: res.body, mails: smtp.messages.slice(before) };
}

function linkIn(mail: { text?: string }): string {
  const m = /(http:\/\/carrel\.test\/auth\/\S+\/login\/mail\/callback\?token=[A-Za-z0-9_-]{43}\S*)/.exec(mail.text ?? '');
  assert.ok(m, mail.text);
  return m[1]!;
}

/** Opens the mailed link and presses its button. */
async function follow(link: string, b = browser(ctx.server)) {
  const path = link.replace('http://carrel.test', '');
  const page = await b.get(path);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<button type="submit">Sign in<\/button>/);
  const token = /name="token" value="([^"]+)"/.exec(page.body)![1]!;
  const ret = /name="return" value="([^"]*)"/.exec(page.body)![1]!;
  return b.post(path.split('/callback')[0]!, { token, return: ret.replace(/&amp;/g, '&') }, { formUrl: path });
}

test('a link by user name reaches the mailbox, opening it uses nothing, its button signs in once', async () => {
  const b = browser(ctx.server);
  const form = await b.get(auth('/login/mail'));
  assert.match(form.body, /User name, card number or e-mail address/);
  const { mails } = await ask('PAT');
  assert.equal(mails.length, 1);
  assert.equal((mails[0]!.to as { text: string }).text, 'Pat.Reader@mail.example.org');
  assert.match(mails[0]!.subject!, /Your sign-in link/);
  const link = linkIn(mails[0]!);
  // A scanner's GET, twice: the link still works after.
  await browser(ctx.server).get(link.replace('http://carrel.test', ''));
  await browser(ctx.server).get(link.replace('http://carrel.test', ''));
  const res = await follow(link, b);
  assert.equal(res.statusCode, 303, res.body);
  assert.equal(res.headers.location, auth('/account'));
  const account = await b.get(auth('/account'));
  assert.match(account.body, /\(pat\)/);
  const again = await follow(link);
  assert.equal(again.statusCode, 401, 'used once');
  const rows = await ctx.testDb.db.query<{ auth_method: string }>(
    "SELECT s.auth_method FROM identity.session s JOIN app_user u ON u.id = s.user_id WHERE u.primary_id = 'pat'",
  );
  assert.deepEqual(rows.map((r) => r.auth_method), ['mail']);
  const audit = await ctx.testDb.db.query<{ action: string; context: Record<string, unknown> }>(
    "SELECT action, context FROM audit_event WHERE institution_id = $1 AND action IN ('credential.link_sent', 'sign_in', 'sign_in.failed') ORDER BY id",
    [inst.id],
  );
  assert.deepEqual(audit.map((e) => e.action), ['credential.link_sent', 'sign_in', 'sign_in.failed']);
  assert.equal(audit[0]!.context.kind, 'email_login');
  assert.equal(audit[1]!.context.method, 'mail');
  assert.doesNotMatch(JSON.stringify(audit), new RegExp(/token=([^&\s]+)/.exec(link)![1]!));
});

test('by e-mail address (any case) too; the same answer and no mail for unknown, mail-less, inactive or shared addresses', async () => {
  const { mails, page } = await ask('pat.reader@MAIL.example.org');
  assert.equal(mails.length, 1);
  for (const who of ['nobody', 'nobody@mail.example.org', 'nomail', 'asleep', 'shared@mail.example.org', 'B-pat']) {
    const r = await ask(who);
    assert.equal(r.mails.length, 0, who);
    assert.equal(r.page, page, `the same page for ${who}`);
  }
});

test('an expired link, a replaced one and another institution\'s are refused', async () => {
  const first = linkIn((await ask('pat')).mails[0]!);
  const second = linkIn((await ask('pat')).mails[0]!);
  assert.equal((await follow(first)).statusCode, 401, 'a newer link replaces it');
  const token = /token=([A-Za-z0-9_-]{43})/.exec(second)![1]!;
  const b = browser(ctx.server);
  await b.get(auth('/login/mail', other.code));
  const cross = await b.post(auth('/login/mail', other.code), { token, return: '' });
  assert.equal(cross.statusCode, 401, "another institution's page refuses it");
  clock.advance(16 * 60_000);
  assert.equal((await follow(second)).statusCode, 401, 'expired after 15 minutes');
});

test('the return URL travels in the link and only to the institution\'s own pages', async () => {
  // Five links an hour per account: each ask here starts a fresh hour.
  const ask1 = async (returnTo = '') => {
    clock.advance(3600_000);
    return ask('pat', returnTo);
  };
  const good = linkIn((await ask1(auth('/account?from=mail'))).mails[0]!);
  assert.equal((await follow(good)).headers.location, auth('/account?from=mail'));
  for (const bad of ['https://evil.example/', '//evil.example', '/\\evil.example', auth('/account', other.code)]) {
    const link = linkIn((await ask1(bad)).mails[0]!);
    assert.equal((await follow(link)).headers.location, auth('/account'), bad);
    // The return parameter of the link itself, edited by hand.
    const edited = linkIn((await ask1()).mails[0]!) + `&return=${encodeURIComponent(bad)}`;
    assert.equal((await follow(edited)).headers.location, auth('/account'), `edited ${bad}`);
  }
});

test('requests are throttled silently per account', async () => {
  let sent = 0;
  for (let k = 0; k < 3; k += 1) sent += (await ask('shared@mail.example.org')).mails.length;
  assert.equal(sent, 0, 'an address two accounts share names neither');
  clock.advance(2 * 3600_000);
  for (let k = 0; k < 8; k += 1) sent += (await ask('twin1')).mails.length;
  assert.equal(sent, 5, 'five an hour, then the same answer and no mail');
});
