// Alma's social-login invitation end to end: POST /users?social_authentication=true, the mail on a
// real SMTP server, the page its link opens, the provider (oidc-provider as Google, a local OAuth
// server as Facebook and X), the social id stored as the user's identifier, the link used once,
// and sign-in by that social account afterwards. Refusals: used, expired, another institution's,
// a social account bound to someone else, a missing e-mail address, a form without CSRF.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, startSmtpCatcher, testClock, type SmtpCatcher } from './helpers/identity.js';
import { startOp, walkToCallback, type TestOp } from './helpers/oidc-provider.js';
import { browser } from './helpers/sign-in.js';
import { startSocialServer, type SocialServer } from './helpers/social-provider.js';

const clock = testClock();
let smtp: SmtpCatcher;
let ctx: TestContext;
let inst: { id: string; code: string; key: string };
let other: { id: string; code: string; key: string };
let api: ReturnType<typeof client>;
let op: TestOp;
let social: SocialServer;
const system = { kind: 'system', label: 'test' } as const;
const auth = (path: string, code = inst.code) => `/auth/${code}${path}`;
const callback = (method: string) => `http://carrel.test${auth(`/login/${method}/callback`)}`;

const patron = (id: string, extra: Record<string, unknown> = {}) =>
  jsonUser(id, {
    first_name: 'Pat',
    last_name: 'Reader',
    contact_info: { email: [{ email_address: `${id}@mail.example.org`, email_type: [{ value: 'personal' }], preferred: true }] },
    ...extra,
  });

/** Creates the user with the invitation and returns the token from the mail it received. */
async function invite(id: string, on = api): Promise<string> {
  const res = await on.post('/users?social_authentication=true', patron(id));
  assert.equal(res.statusCode, 200, res.body);
  await ctx.app.services.mail.deliverPendingMail();
  const mail = smtp.messages.filter((m) => String((m.to as { text: string }).text) === `${id}@mail.example.org`).at(-1);
  assert.ok(mail, `a mail to ${id}`);
  const m = /\/auth\/([A-Z0-9]+)\/social-invite\?token=([A-Za-z0-9_-]{43})/.exec(mail.text ?? '');
  assert.ok(m, mail.text);
  return m[2]!;
}

/** Opens the invitation, chooses `method`, goes through the provider, returns Carrel's answer. */
async function accept(b: ReturnType<typeof browser>, token: string, method: string) {
  const page = await b.get(auth(`/social-invite?token=${token}`));
  assert.equal(page.statusCode, 200, page.body);
  const go = await b.post(auth('/social-invite'), { token, method }, { formUrl: auth(`/social-invite?token=${token}`) });
  assert.equal(go.statusCode, 303, go.body);
  const back = await walkToCallback(go.headers.location as string, callback(method));
  return b.get(`${back.pathname}${back.search}`);
}

async function identifiers(id: string): Promise<Record<string, string>> {
  const res = await api.get(`/users/${id}`);
  assert.equal(res.statusCode, 200, res.body);
  const ids = (res.json().user_identifier ?? []) as { id_type: { value: string }; value: string }[];
  return Object.fromEntries(ids.map((i) => [i.id_type.value, i.value]));
}

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url, mailFrom: 'Library <library@example.edu>' }, clock: clock.fn });
  inst = await ctx.institution();
  other = await ctx.institution();
  api = client(ctx.server, inst.key);
  const googleSecret = randomBytes(16).toString('hex');
  op = await startOp([{ client_id: 'carrel-google', client_secret: googleSecret, redirect_uris: [callback('google')] }]);
  op.accounts.set('g-111', { email: 'pat@gmail.com' });
  op.nextAccount = 'g-111';
  social = await startSocialServer([callback('facebook'), callback('x')]);
  social.nextAccount = { id: 'fb-222', first_name: 'Pat' };
  const lm = ctx.app.services.loginMethods;
  await lm.create(system, inst.id, { code: 'google', type: 'google', label: 'Google', match: 'GOOGLE_ID', config: { client_id: 'carrel-google', client_secret: googleSecret, issuer: op.issuer } });
  await lm.create(system, inst.id, { code: 'facebook', type: 'facebook', label: 'Facebook', match: 'FACEBOOK_ID', config: { ...social.client, ...social.facebookEndpoints() } });
  await lm.create(system, inst.id, { code: 'x', type: 'twitter', label: 'X', match: 'TWITTER_ID', config: { ...social.client, ...social.twitterEndpoints() } });
});
after(async () => {
  await op?.close();
  await social?.close();
  await ctx?.close();
  await smtp?.close();
});

describe('social invitation', { timeout: 120_000 }, () => {
  test('POST /users?social_authentication=true mails a link; the page lists the social methods', async () => {
    const token = await invite('inv01');
    const mail = smtp.messages.at(-1)!;
    assert.match(mail.subject ?? '', /Google, Facebook or X/);
    assert.match(mail.text!, new RegExp(`http://carrel\\.test/auth/${inst.code}/social-invite\\?token=`));
    const page = await browser(ctx.server).get(auth(`/social-invite?token=${token}`));
    assert.equal(page.statusCode, 200);
    for (const label of ['Google', 'Facebook', 'X']) assert.match(page.body, new RegExp(`<button type="submit">${label}</button>`));
    assert.match(page.body, /name="_csrf"/);
  });

  test('Google: the provider verifies, GOOGLE_ID is stored, the user is signed in, the link binds once', async () => {
    const token = await invite('inv02');
    const b = browser(ctx.server);
    const res = await accept(b, token, 'google');
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, auth('/account'));
    assert.match((await b.get(auth('/account'))).body, /inv02/);
    assert.equal((await identifiers('inv02')).GOOGLE_ID, 'g-111');
    // Used once: the page and the form refuse it now.
    const again = await browser(ctx.server).get(auth(`/social-invite?token=${token}`));
    assert.equal(again.statusCode, 400);
    assert.match(again.body, /expired or was already used/);
    // From now on the Google account signs this user in through the ordinary login page.
    const later = browser(ctx.server);
    const start = await later.get(auth('/login/google'));
    const back = await walkToCallback(start.headers.location as string, callback('google'));
    const signIn = await later.get(`${back.pathname}${back.search}`);
    assert.equal(signIn.statusCode, 303, signIn.body);
    assert.match((await later.get(auth('/account'))).body, /inv02/);
    // The binding is audited as a change of the user by the invitation.
    const events = await ctx.testDb.db.query<{ actor_label: string | null }>(
      "SELECT actor_label FROM audit_event WHERE institution_id = $1 AND entity_label = 'inv02' AND action = 'user.update'",
      [inst.id],
    );
    assert.equal(events.length, 1);
  });

  test('a social account bound to another user is refused, and the link stays usable for another account', async () => {
    const token = await invite('inv03');
    const refused = await accept(browser(ctx.server), token, 'google'); // g-111 belongs to inv02
    assert.equal(refused.statusCode, 403);
    assert.match(refused.body, /already linked to another library account/);
    assert.equal((await identifiers('inv03')).GOOGLE_ID, undefined);
    social.nextAccount = { id: 'fb-333' };
    const ok = await accept(browser(ctx.server), token, 'facebook');
    assert.equal(ok.statusCode, 303, ok.body);
    assert.equal((await identifiers('inv03')).FACEBOOK_ID, 'fb-333');
  });

  test('X binds TWITTER_ID', async () => {
    const token = await invite('inv04');
    social.nextAccount = { id: '1449000000000000004', username: 'patreader' };
    const ok = await accept(browser(ctx.server), token, 'x');
    assert.equal(ok.statusCode, 303, ok.body);
    assert.equal((await identifiers('inv04')).TWITTER_ID, '1449000000000000004');
  });

  test('a person who declines at the provider binds nothing; the link still works', async () => {
    const token = await invite('inv05');
    social.nextAccount = null;
    const no = await accept(browser(ctx.server), token, 'facebook');
    assert.equal(no.statusCode, 401);
    social.nextAccount = { id: 'fb-555' };
    assert.equal((await accept(browser(ctx.server), token, 'facebook')).statusCode, 303);
  });

  test('another institution\'s page, an expired link and a form without CSRF are refused', async () => {
    const token = await invite('inv06');
    const elsewhere = await browser(ctx.server).get(auth(`/social-invite?token=${token}`, other.code));
    assert.equal(elsewhere.statusCode, 400);
    const noCsrf = await browser(ctx.server).post(auth('/social-invite'), { token, method: 'google' }, { csrf: false });
    assert.equal(noCsrf.statusCode, 403);
    clock.advance(169 * 3_600_000);
    try {
      const late = await browser(ctx.server).get(auth(`/social-invite?token=${token}`));
      assert.equal(late.statusCode, 400);
    } finally {
      clock.advance(-169 * 3_600_000);
    }
  });

  test('without an e-mail address the user is not created (CARREL_NO_EMAIL); without the parameter no mail', async () => {
    const res = await api.post('/users?social_authentication=true', jsonUser('inv07'));
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /CARREL_NO_EMAIL/);
    assert.equal((await api.get('/users/inv07')).statusCode, 400);
    const before = smtp.messages.length;
    assert.equal((await api.post('/users', patron('inv08'))).statusCode, 200);
    await ctx.app.services.mail.deliverPendingMail();
    assert.equal(smtp.messages.length, before);
  });

  test('a social method matches only its own identifier type', async () => {
    const lm = ctx.app.services.loginMethods;
    await assert.rejects(lm.create(system, inst.id, { code: 'g2', type: 'google', match: 'UNIV_ID', config: { client_id: 'a', client_secret: 'b' } }), /matches GOOGLE_ID only/);
    await assert.rejects(lm.create(system, inst.id, { code: 'f2', type: 'facebook', match: 'primary_id', config: { client_id: 'a', client_secret: 'b' } }), /matches FACEBOOK_ID only/);
    await assert.rejects(lm.update(system, inst.id, 'x', { match: 'GOOGLE_ID' }), /matches TWITTER_ID only/);
    const made = await lm.create(system, inst.id, { code: 'g3', type: 'google', config: { client_id: 'a', client_secret: 'b' } });
    assert.equal(made.match, 'GOOGLE_ID');
  });
});
