// The console's second pages in a real browser against a real server on the test database: a
// desk operator registers a walk-in patron by keyboard and sees the generated card number first;
// it sees no Settings or SSO outage and those pages refuse it; a General System Administrator
// edits a code table (and sees the refusal of removing a code in use), creates a login method
// whose secret is never shown, and disables it; a User Administrator switches three EXTERNAL
// users to temporary passwords, downloads them once, and reverts. axe on every new page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser, v1 } from './helpers/identity.js';
import { createWorker } from '../src/domain/jobs/worker.js';

const PASSWORD = 'Console pages pass 2026';
const EXTERNAL = ['ext01', 'ext02', 'ext03'];

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let code: string;
let api: ReturnType<typeof client>;
let apiV1: ReturnType<typeof v1>;
let worker: ReturnType<typeof createWorker>;

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  code = inst.code;
  api = client(ctx.server, inst.key);
  apiV1 = v1(ctx.server, inst.key);
  await ctx.app.services.institutions.updateSettings(code, {
    identifierGeneration: { PUBLIC: { identifierType: 'BARCODE', prefix: '2', padding: 8, checkDigit: 'luhn' } },
  });
  const users: [string, Record<string, unknown>][] = [
    ['desk', { password: PASSWORD, first_name: 'Dana', last_name: 'Desk', user_role: [role('32', code)] }],
    ['sysadmin', { password: PASSWORD, first_name: 'Sam', last_name: 'Sysadmin', user_role: [role('26', code)] }],
    ['uadmin', { password: PASSWORD, first_name: 'Ursula', last_name: 'Admin', user_role: [role('50', code)] }],
    ...EXTERNAL.map((id): [string, Record<string, unknown>] => [id, { account_type: { value: 'EXTERNAL' }, external_id: 'SIS_STAFF' }]),
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  // The jobs the outage page starts run here, as `carrel serve`'s worker would run them.
  worker = createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds, leaseSeconds: 30, log: () => {}, idle: () => new Promise((r) => setTimeout(r, 100)) });
  worker.start();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  await ctx?.close();
  web?.remove();
});

const signIn = (id: string, path = '/users') => consoleSignIn(browser, base, code, id, PASSWORD, path);

test('a desk operator registers a walk-in patron by keyboard and sees the generated card number first', async () => {
  const { context, page } = await signIn('desk');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Find users', 'Register patron']);
  await nav.getByRole('link', { name: 'Register patron' }).click();
  await page.getByRole('heading', { name: 'Register patron' }).waitFor();
  await page.getByRole('option', { name: /Community borrower/ }).waitFor({ state: 'attached' });
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'first_name', 'the first field has the focus');
  await assertAccessible(page, 'Register patron');

  // A missing last name is said at its field, and nothing is created.
  await page.keyboard.type('Hedy');
  await page.keyboard.press('Enter');
  assert.equal(await page.getByLabel('Last name').getAttribute('aria-invalid'), 'true');
  await page.getByText('Enter a last name.').waitFor();

  await page.getByLabel('Last name').fill('Lamarr');
  // The server's refusal of the e-mail address is said at the E-mail field; nothing is created.
  const before = ((await api.get('/users?limit=100')).json() as { total_record_count: number }).total_record_count;
  await page.getByLabel('E-mail').fill('hedy.example.org');
  await page.getByLabel('User group').selectOption('COMMUNITY');
  await page.getByLabel('E-mail').press('Enter');
  await page.locator('#email-error').waitFor();
  assert.equal(await page.getByLabel('E-mail').getAttribute('aria-invalid'), 'true');
  assert.equal(((await api.get('/users?limit=100')).json() as { total_record_count: number }).total_record_count, before);
  await page.getByLabel('E-mail').fill('hedy@example.org');
  await page.getByLabel('User group').selectOption('COMMUNITY');
  await page.getByLabel('Expiry date').fill('2027-12-31');
  await page.getByLabel('Last name').press('Enter');
  await page.getByRole('heading', { name: 'Patron registered' }).waitFor();
  const barcode = await page.getByTestId('preferred-identifier').innerText();
  assert.match(barcode, /^2\d{9}$/, 'prefix 2, eight digits, a Luhn check digit');
  await assertAccessible(page, 'Patron registered');

  const link = page.getByRole('link', { name: 'Open the user page' });
  const primaryId = decodeURIComponent((await link.getAttribute('href'))!.split('/').pop()!);
  const made = (await api.get(`/users/${encodeURIComponent(primaryId)}`)).json() as {
    record_type: { value: string }; user_group: { value: string }; expiry_date: string; user_identifier: { id_type: { value: string }; value: string }[];
  };
  assert.equal(made.record_type.value, 'PUBLIC');
  assert.equal(made.user_group.value, 'COMMUNITY');
  assert.equal(made.expiry_date, '2027-12-31Z');
  assert.ok(made.user_identifier.some((i) => i.id_type.value === 'BARCODE' && i.value === barcode));

  // Register another: an empty form with the focus on the first field again.
  await page.getByRole('button', { name: 'Register another' }).press('Enter');
  await page.getByRole('heading', { name: 'Register patron' }).waitFor();
  assert.equal(await page.getByLabel('First name').inputValue(), '');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'first_name');
  await page.keyboard.type('Ada');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Lovelace');
  await page.getByLabel('User group').selectOption('ALUMNI');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Patron registered' }).waitFor();
  const second = await page.getByTestId('preferred-identifier').innerText();
  assert.match(second, /^2\d{9}$/);
  assert.notEqual(second, barcode);
  await context.close();
});

test('a desk operator sees no Settings or SSO outage, and those pages say not available', async () => {
  const { context, page } = await signIn('desk');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('heading', { name: 'Settings' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'SSO outage' }).count(), 0);
  for (const path of ['/outage', '/settings/login-methods', '/settings/login-methods/new']) {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
  }
  // Code tables may be read (the desk fills its forms from them) but not edited.
  await page.goto(`${base}/settings/code-tables/UserGroups`);
  await page.getByRole('cell', { name: 'Community borrower' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Edit' }).count(), 0);
  await context.close();
});

test('an administrator edits a code table description; removing a code in use is refused with its reason', async () => {
  const { context, page } = await signIn('sysadmin');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Find users', 'Named users', 'SIS loads', 'Code tables', 'Login methods', 'Identifiers', 'Passwords and sessions', 'API keys']);
  await nav.getByRole('link', { name: 'Code tables' }).click();
  await page.getByRole('heading', { name: 'Code tables' }).waitFor();
  await assertAccessible(page, 'Code tables');
  await page.getByRole('link', { name: 'UserGroups' }).click();
  await page.getByRole('heading', { name: 'UserGroups' }).waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  const rows = await page.getByRole('textbox', { name: /^Row \d+ code$/ }).evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value));
  const at = rows.indexOf('ALUMNI') + 1;
  await page.getByLabel(`Row ${at} description`).fill('Alumni and friends');
  await assertAccessible(page, 'Code table, editing');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  await page.getByRole('cell', { name: 'Alumni and friends' }).waitFor();
  const table = (await apiV1.get('/code-tables/UserGroups')).json() as { row: { code: string; description: string }[] };
  assert.equal(table.row.find((r) => r.code === 'ALUMNI')?.description, 'Alumni and friends');

  // LIBSTAFF is every staff user's group: removing it is refused, the page says why, nothing changes.
  await page.getByRole('button', { name: 'Edit' }).click();
  const libstaff = (await page.getByRole('textbox', { name: /^Row \d+ code$/ }).evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).indexOf('LIBSTAFF') + 1;
  await page.getByRole('button', { name: `Remove row ${libstaff}` }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /LIBSTAFF/);
  const after = (await apiV1.get('/code-tables/UserGroups')).json() as { row: { code: string }[] };
  assert.ok(after.row.some((r) => r.code === 'LIBSTAFF'));
  await context.close();
});

test('an administrator creates a login method (its secret never shown), sees a refusal at its field, and disables it', async () => {
  const { context, page } = await signIn('sysadmin', '/settings/login-methods');
  await page.getByRole('heading', { name: 'Login methods' }).waitFor();
  await page.getByText('No login methods yet').waitFor();
  await assertAccessible(page, 'Login methods');
  await page.getByRole('link', { name: 'New login method' }).click();
  await page.getByRole('heading', { name: 'New login method' }).waitFor();
  await page.getByLabel('Code').fill('campus');
  await page.getByLabel('Type').selectOption('oidc');
  await page.getByLabel('Button label').fill('Campus account');
  await page.getByLabel('Matches on').fill('NOPE');
  await page.getByLabel('Settings (JSON)').fill(JSON.stringify({ issuer: 'https://idp.example.edu', client_id: 'carrel', client_secret: 'very-secret-value' }));
  await page.getByRole('checkbox', { name: /Enabled/ }).check();
  await assertAccessible(page, 'New login method');
  await page.getByRole('button', { name: 'Create login method' }).click();
  await page.locator('#match-error').waitFor();
  assert.equal(await page.getByLabel('Matches on').getAttribute('aria-invalid'), 'true');
  assert.equal((await apiV1.get('/login-methods/campus')).statusCode, 404, 'nothing was created');

  await page.getByLabel('Matches on').fill('UNIV_ID');
  await page.getByRole('button', { name: 'Create login method' }).click();
  await page.waitForURL(/\/settings\/login-methods\/campus$/);
  await page.getByRole('heading', { name: 'campus', exact: true }).waitFor();
  const shown = await page.getByLabel('Settings (JSON)').inputValue();
  assert.doesNotMatch(shown, /very-secret-value/);
  assert.match(shown, /"client_secret": "set"/);
  assert.doesNotMatch(await page.content(), /very-secret-value/);

  await page.locator('.crumbs').getByRole('link', { name: 'Login methods' }).click();
  const row = page.getByRole('row', { name: /campus/ });
  await row.getByText('Enabled').waitFor();
  await page.getByRole('button', { name: 'Disable campus' }).click();
  await row.getByText('Disabled').waitFor();
  assert.equal(((await apiV1.get('/login-methods/campus')).json() as { enabled: boolean }).enabled, false);
  await context.close();
});

test('the SSO outage page switches three EXTERNAL users to temporary passwords, downloads them once, and reverts', async () => {
  const { context, page } = await signIn('uadmin');
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'SSO outage' }).click();
  await page.getByRole('heading', { name: 'SSO outage' }).waitFor();
  await assertAccessible(page, 'SSO outage');
  await page.getByLabel(/^Users/).fill(EXTERNAL.join('\n'));
  await page.getByRole('button', { name: 'Switch to local passwords' }).click();
  const toggle = page.getByRole('region', { name: /Switch to local passwords/ });
  await toggle.getByText('succeeded').waitFor();
  assert.match(await toggle.getByRole('status').innerText(), /3 of 3 done · toggled 3 · skipped 0 · failed 0/);
  for (const id of EXTERNAL) assert.equal(((await api.get(`/users/${id}`)).json() as { account_type: { value: string } }).account_type.value, 'INTERNAL');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download temporary passwords/ }).click()]);
  const csv = await new Promise<string>((resolve, reject) => {
    void download.createReadStream().then((s) => {
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  });
  const lines = csv.trim().split(/\r?\n/);
  assert.equal(lines.length, 4, csv.slice(0, 40));
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]).sort(), EXTERNAL);
  await page.getByText('Downloaded.').waitFor();
  assert.equal(await page.getByRole('button', { name: /Download temporary passwords/ }).count(), 0, 'once');
  await assertAccessible(page, 'SSO outage, after the toggle');

  await page.getByRole('button', { name: /revert these users/ }).click();
  const revert = page.getByRole('region', { name: /Revert/ });
  await revert.getByText('succeeded').waitFor();
  assert.match(await revert.getByRole('status').innerText(), /reverted 3/);
  for (const id of EXTERNAL) {
    const u = (await api.get(`/users/${id}`)).json() as { account_type: { value: string }; external_id: string };
    assert.deepEqual([u.account_type.value, u.external_id], ['EXTERNAL', 'SIS_STAFF']);
  }
  await context.close();
});
