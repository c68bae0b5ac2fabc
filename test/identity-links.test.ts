// Forgotten passwords and set-password links: the mail reaches a real SMTP server, the link works
// once, expires, is replaced by a newer one and ended by a new password. The outbox keeps mail
// when SMTP is down or absent, retries with backoff, and refuses anything that could smuggle a header.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, errorCode, opAuth, startSmtpCatcher, testClock, v1, type SmtpCatcher } from './helpers/identity.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
const clock = testClock();
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;

const patron = (id: string, extra: Record<string, unknown> = {}) =>
  jsonUser(id, {
    first_name: 'Pat',
    last_name: 'Reader',
    contact_info: { email: [{ email_address: `${id}@mail.example.org`, email_type: [{ value: 'personal' }], preferred: true }] },
    ...extra,
  });

/** The token in the last mail to this user. */
function lastToken(id: string): string {
  const mail = smtp.messages.filter((m) => String((m.to as { text: string }).text).startsWith(`${id}@`)).at(-1);
  assert.ok(mail, `a mail to ${id}`);
  return /token=([A-Za-z0-9_-]{43})/.exec(mail.text ?? '')![1]!;
}

async function forgot(id: string) {
  await ctx.app.services.identity.requestPasswordReset(inst.id, id, '203.0.113.5');
  await ctx.app.services.mail.deliverPendingMail();
}

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url, mailFrom: 'Library <library@example.edu>' }, clock: clock.fn });
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
  for (const id of ['pat01', 'pat02', 'pat03', 'pat04', 'pat05']) {
    assert.equal((await api.post('/users', patron(id, { password: 'Original Secret 42' }))).statusCode, 200);
  }
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

describe('forgot password', () => {
  test('request -> mail on a real SMTP server -> token from the link -> new password -> login works', async () => {
    await forgot('pat01');
    const mail = smtp.messages.at(-1)!;
    assert.equal((mail.to as { text: string }).text, 'pat01@mail.example.org');
    assert.equal((mail.from as { text: string }).text, '"Library" <library@example.edu>');
    assert.equal(mail.subject, `Reset your password · Test ${inst.code}`);
    assert.match(mail.text!, new RegExp(`http://carrel\\.test/auth/${inst.code}/set-password\\?token=[A-Za-z0-9_-]{43}`));
    assert.match(mail.text!, /Hello Pat Reader/);
    assert.match(mail.html as string, new RegExp(`<a href="http://carrel\\.test/auth/${inst.code}/set-password\\?token=`));
    assert.match(mail.html as string, new RegExp(`Test ${inst.code}`));

    const token = lastToken('pat01');
    const user = await ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'Brand new phrase 7');
    assert.equal(user.primaryId, 'pat01');
    assert.equal((await opAuth(ctx.server, inst.key, 'pat01', 'Brand new phrase 7')).statusCode, 204);
    assert.equal((await opAuth(ctx.server, inst.key, 'pat01', 'Original Secret 42')).statusCode, 400);

    // Used once: the same link again is refused.
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'Another phrase 8'), { code: 'LINK_INVALID' });
  });

  test('an expired link is refused (1 hour)', async () => {
    await forgot('pat02');
    const token = lastToken('pat02');
    clock.advance(61 * 60_000);
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'Late phrase 99'), { code: 'LINK_INVALID' });
    assert.equal((await opAuth(ctx.server, inst.key, 'pat02', 'Original Secret 42')).statusCode, 204);
  });

  test('a newer link replaces the older one; a password set meanwhile ends both', async () => {
    await forgot('pat03');
    const first = lastToken('pat03');
    await forgot('pat03');
    const second = lastToken('pat03');
    assert.notEqual(first, second);
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, first, 'Superseded 123'), { code: 'LINK_INVALID' });

    // Staff set a password: the outstanding link stops working.
    assert.equal((await v1(ctx.server, inst.key).post('/users/pat03/password', { password: 'Set by staff 555' })).statusCode, 204);
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, second, 'Too late 4242'), { code: 'LINK_INVALID' });
  });

  test('a refused new password leaves the link usable; a link of another institution or garbage is refused', async () => {
    await forgot('pat04');
    const token = lastToken('pat04');
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'pat04-secret'), { code: 'PASSWORD_POLICY' });
    const other = await ctx.institution();
    await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(other.id, token, 'Good phrase 2024'), { code: 'LINK_INVALID' });
    for (const bad of ['', 'x', `${token}x`, token.replace(/./, '!'), null]) {
      await assert.rejects(ctx.app.services.identity.resetPasswordWithToken(inst.id, bad, 'Good phrase 2024'), { code: 'LINK_INVALID' });
    }
    await ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'Good phrase 2024');
  });

  test('unknown users, users without e-mail and floods get the same silence: no mail', async () => {
    await api.post('/users', jsonUser('nomail01', { password: 'No mail phrase 1' }));
    const before = smtp.messages.length;
    await forgot('no-such-user');
    await forgot('nomail01');
    assert.equal(smtp.messages.length, before);
    // At most 5 reset mails per user and hour.
    for (let i = 0; i < 8; i++) await forgot('pat05');
    assert.equal(smtp.messages.length, before + 5);
  });

  test('once sent, the outbox keeps the message with its link redacted', async () => {
    const res = await v1(ctx.server, inst.key).get('/mail-outbox?status=sent&limit=100');
    assert.equal(res.statusCode, 200, res.body);
    const { messages } = res.json() as { messages: { to: string; text: string; html: string; status: string }[] };
    assert.ok(messages.length >= 5);
    for (const m of messages) {
      assert.match(m.text, /token=\[redacted\]/);
      assert.doesNotMatch(m.text + m.html, /token=[A-Za-z0-9_-]{43}/);
    }
  });
});

describe('the outbox without SMTP, and when SMTP fails', () => {
  test('with no SMTP the link waits in the outbox, readable through the API; nothing is sent', async () => {
    const local = await createTestContext({ config: CHEAP_ARGON2 });
    try {
      const i = await local.institution();
      await client(local.server, i.key).post('/users', patron('wait01'));
      const sent = await v1(local.server, i.key).post('/users/wait01/set-password-link');
      assert.equal(sent.statusCode, 202, sent.body);
      assert.equal(sent.json().to, 'wait01@mail.example.org');
      assert.deepEqual(await local.app.services.mail.deliverPendingMail(), { sent: 0, logged: 0, retry: 0, failed: 0 });
      const outbox = (await v1(local.server, i.key).get('/mail-outbox?status=pending')).json();
      assert.equal(outbox.total_record_count, 1);
      assert.match(outbox.messages[0].text, /\/set-password\?token=[A-Za-z0-9_-]{43}/);
      assert.equal(outbox.messages[0].subject, `Set your password · Test ${i.code}`);
      // The set-password link works like the forgot-password one (24 hours).
      const token = /token=([A-Za-z0-9_-]{43})/.exec(outbox.messages[0].text)![1]!;
      await local.app.services.identity.resetPasswordWithToken(i.id, token, 'Waited phrase 31');
      assert.equal((await opAuth(local.server, i.key, 'wait01', 'Waited phrase 31')).statusCode, 204);
    } finally {
      await local.close();
    }
  });

  test('in development each message is printed to the log (with its link) and marked logged', async () => {
    const local = await createTestContext({ config: { ...CHEAP_ARGON2, mailDevLog: true } });
    try {
      const i = await local.institution();
      await client(local.server, i.key).post('/users', patron('dev01', { password: 'Developer pass 1' }));
      await v1(local.server, i.key).post('/users/dev01/set-password-link');
      const lines: string[] = [];
      const log = { info: (o: object, m: string) => lines.push(`${m} ${JSON.stringify(o)}`), warn: () => {} };
      assert.equal((await local.app.services.mail.deliverPendingMail(log)).logged, 1);
      assert.match(lines.join('\n'), /set-password\?token=[A-Za-z0-9_-]{43}/);
      assert.doesNotMatch(lines.join('\n'), /Developer pass/);
    } finally {
      await local.close();
    }
  });

  test('an unreachable SMTP server: retried with backoff, then given up on', async () => {
    const c = testClock();
    const local = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: 'smtp://127.0.0.1:1' }, clock: c.fn });
    try {
      const i = await local.institution();
      await client(local.server, i.key).post('/users', patron('retry01'));
      await v1(local.server, i.key).post('/users/retry01/set-password-link');
      assert.equal((await local.app.services.mail.deliverPendingMail()).retry, 1);
      assert.equal((await local.app.services.mail.deliverPendingMail()).retry, 0, 'not due again yet');
      let failed = 0;
      for (let attempt = 2; attempt <= 8; attempt++) {
        c.advance(3_600_000);
        const r = await local.app.services.mail.deliverPendingMail();
        failed += r.failed;
      }
      assert.equal(failed, 1);
      const row = (await v1(local.server, i.key).get('/mail-outbox')).json().messages[0];
      assert.equal(row.status, 'failed');
      assert.equal(row.attempts, 8);
      assert.ok(row.last_error);
    } finally {
      await local.close();
    }
  });
});

describe('header injection', () => {
  test('CR/LF in a recipient or subject is refused before anything is queued', async () => {
    const { mail } = ctx.app.services;
    for (const bad of [
      { to: 'a@example.org\r\nBcc: all@example.org', subject: 'x' },
      { to: 'a@example.org, b@example.org', subject: 'x' },
      { to: '"Eve" <a@example.org>', subject: 'x' },
      { to: 'a@example.org', subject: 'Hello\r\nBcc: all@example.org' },
      { to: 'a@example.org', subject: 'Hello\nX-Injected: 1' },
    ]) {
      await assert.rejects(ctx.app.db.transaction((tx) => mail.enqueue(tx, inst.id, { ...bad, text: 't', html: null })), { code: 'INVALID_VALUE' });
    }
    // A user's e-mail address with CR/LF never gets stored in the first place.
    const res = await api.post('/users', patron('inject01', { contact_info: { email: [{ email_address: 'x@example.org\r\nBcc: all@example.org' }] } }));
    assert.equal(res.statusCode, 400);
  });

  test('an institution name with a line break cannot reach a subject: the link is refused, nothing queued', async () => {
    const evil = await ctx.institution();
    await ctx.app.db.query('UPDATE institution SET name = $2 WHERE id = $1', [evil.id, 'Evil\r\nBcc: everyone@example.org']);
    await client(ctx.server, evil.key).post('/users', patron('victim01'));
    const res = await v1(ctx.server, evil.key).post('/users/victim01/set-password-link');
    assert.equal(res.statusCode, 400);
    assert.equal(errorCode(res), '401864');
    assert.equal((await v1(ctx.server, evil.key).get('/mail-outbox')).json().total_record_count, 0);
  });
});

describe('the report of INTERNAL users without a password', () => {
  test('lists INTERNAL users no password lets in, and sends them links in bulk', async () => {
    const i = await ctx.institution();
    const a = client(ctx.server, i.key);
    await a.post('/users', patron('np-with-mail'));
    await a.post('/users', jsonUser('np-no-mail'));
    await a.post('/users', patron('np-inactive', { status: { value: 'INACTIVE' } }));
    await a.post('/users', patron('has-password', { password: 'Has a password 9' }));
    await a.post('/users', patron('external01', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }));
    await a.post('/users', { ...jsonUser('contact01'), record_type: { value: 'CONTACT' } });
    const staff = v1(ctx.server, i.key);
    const report = await staff.get('/reports/users-without-password');
    assert.equal(report.statusCode, 200, report.body);
    assert.deepEqual(report.json().users.map((u: { primary_id: string }) => u.primary_id).sort(), ['np-inactive', 'np-no-mail', 'np-with-mail']);

    // No body at all: everyone on the report.
    const sent = await ctx.server.inject({
      method: 'POST',
      url: '/api/v1/reports/users-without-password/send-links',
      headers: { authorization: `apikey ${i.key}` },
    });
    assert.equal(sent.statusCode, 200, sent.body);
    assert.deepEqual(sent.json().sent.map((s: { user_id: string }) => s.user_id), ['np-with-mail']);
    assert.deepEqual(
      sent.json().skipped.map((s: { user_id: string; reason: string }) => `${s.user_id}: ${s.reason}`).sort(),
      ['np-inactive: inactive', 'np-no-mail: no e-mail address'],
    );
    await ctx.app.services.mail.deliverPendingMail();
    const token = lastToken('np-with-mail');
    await ctx.app.services.identity.resetPasswordWithToken(i.id, token, 'Finally a phrase 1');
    const again = (await staff.get('/reports/users-without-password')).json();
    assert.equal(again.total_record_count, 2);
  });
});
