// A person at a browser (Chromium, driven by Playwright): signs in on the local login page while
// campus SSO is down, is forced to choose a new password, resets a forgotten password with the
// link from an e-mail read off a real SMTP server, and signs out.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser, startSmtpCatcher, type SmtpCatcher } from './helpers/identity.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
let browser: Browser;
let base: string;
let code: string;
let api: ReturnType<typeof client>;

before(async () => {
  smtp = await startSmtpCatcher();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url, publicUrl: base } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  code = inst.code;
  api = client(ctx.server, inst.key);
  const created = [
    await api.post('/users', staffUser('backup_admin', { password: 'Backup-Admin-2026!', user_role: [{ role_type: { value: '50' }, scope: { value: code } }] })),
    await api.post('/users', staffUser('temp_staff', { password: 'Temporary-Pass-1', force_password_change: 'TRUE' })),
    await api.post('/users', staffUser('forgetful', { password: 'Forgotten-Pass-1' })),
  ];
  for (const r of created) assert.equal(r.statusCode, 200, r.body);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  await smtp?.close();
});

async function signIn(page: Page, identifier: string, password: string) {
  await page.goto(`${base}/auth/${code}/login`);
  await page.getByLabel('User name or library card number').fill(identifier);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('the back-up admin signs in on the local page; the session cookie is HttpOnly and SameSite', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'wrong_user', 'nope-nope-nope');
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /not right/);

  await signIn(page, 'BACKUP_ADMIN', 'Backup-Admin-2026!');
  await page.getByText('You are signed in as').waitFor();
  assert.match(await page.locator('main').innerText(), /Grace Hopper \(backup_admin\)/);
  const session = (await context.cookies()).find((c) => c.name === 'carrel_session')!;
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  // One session per browser: the staff console at / and /api/v1 read it too (src/http/session-cookie.ts).
  assert.equal(session.path, '/');
  await context.close();
});

test('a user with a forced change can do nothing but choose a new password', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'temp_staff', 'Temporary-Pass-1');
  await page.waitForURL(/change-password$/);
  assert.match(await page.getByRole('status').innerText(), /must choose a new password/);
  await page.goto(`${base}/auth/${code}/account`);
  await page.waitForURL(/change-password$/);

  await page.getByLabel('Current password').fill('Temporary-Pass-1');
  await page.getByLabel('New password', { exact: true }).fill('temp_staff-123');
  await page.getByLabel('New password again').fill('temp_staff-123');
  await page.getByRole('button', { name: 'Change password' }).click();
  assert.match(await page.getByRole('alert').innerText(), /user-name|identifier|name/i, 'a password holding the user name is refused');

  await page.getByLabel('Current password').fill('Temporary-Pass-1');
  await page.getByLabel('New password', { exact: true }).fill('Quiet-Harbour-77');
  await page.getByLabel('New password again').fill('Quiet-Harbour-77');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('You are signed in as').waitFor();
  await context.close();

  // The old password is gone; the new one works, with no change due any more.
  const fresh = await browser.newContext();
  const again = await fresh.newPage();
  await signIn(again, 'temp_staff', 'Temporary-Pass-1');
  await again.getByRole('alert').waitFor();
  await signIn(again, 'temp_staff', 'Quiet-Harbour-77');
  await again.waitForURL(/account$/);
  await fresh.close();
});

test('forgot password: the link arrives by e-mail, sets a new password once, then sign in and out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/auth/${code}/login`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('User name or library card number').fill('forgetful');
  await page.getByRole('button', { name: 'Send the link' }).click();
  await page.getByText('a link to set a new password is on its way').waitFor();

  await ctx.app.services.mail.deliverPendingMail();
  const mail = smtp.messages.find((m) => (m.to as { text: string }).text.includes('forgetful@library.example.edu'));
  assert.ok(mail, 'the mail reached the SMTP server');
  const link = /(http:\/\/\S+set-password\?token=[A-Za-z0-9_-]+)/.exec(mail.text ?? '')![1]!;
  assert.ok(link.startsWith(`${base}/auth/${code}/set-password`));

  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('Remembered-Now-42');
  await page.getByLabel('New password again').fill('Remembered-Now-42');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.waitForURL(/login\?done=reset$/);
  assert.match(await page.getByRole('status').innerText(), /password is set/);

  // The link was single use.
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('Another-Try-42x');
  await page.getByLabel('New password again').fill('Another-Try-42x');
  await page.getByRole('button', { name: 'Set password' }).click();
  assert.match(await page.getByRole('alert').innerText(), /expired or was already used/);

  await signIn(page, 'forgetful', 'Remembered-Now-42');
  await page.getByText('You are signed in as').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/login\?done=logout$/);
  await page.goto(`${base}/auth/${code}/account`);
  await page.waitForURL(/\/login$/);
  await context.close();
});

test('a form posted without its CSRF token is refused and changes nothing', async () => {
  const res = await fetch(`${base}/auth/${code}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'identifier=backup_admin&password=Backup-Admin-2026!',
    redirect: 'manual',
  });
  assert.equal(res.status, 403);
  assert.ok(!(res.headers.get('set-cookie') ?? '').includes('carrel_session'));
  assert.match(await res.text(), /form has expired/);
});

test('a tampered session cookie is no session', async () => {
  const context = await browser.newContext();
  await context.addCookies([{ name: 'carrel_session', value: 'forged-value-0000000000000000000000000000000', url: `${base}/auth/${code}/` }]);
  const page = await context.newPage();
  await page.goto(`${base}/auth/${code}/account`);
  await page.waitForURL(/\/login$/);
  await context.close();
});
