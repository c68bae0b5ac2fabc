// The staff console in a real browser (Chromium through playwright-core) against a real server
// on the test database: a user administrator signs in through the login page, searches as they
// type, moves by keyboard from the search to a result, scans a barcode, edits and saves, meets a
// concurrent edit (shown, not overwritten), sees a refusal at its field, adds a staff user and
// signs out; a desk operator sees no edit controls and its writes are refused by the API; axe
// finds no serious or critical accessibility violation on any page. One browser for the file.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';

const PASSWORD = 'Console e2e pass 2026';

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let code: string;
let key: string;
let api: ReturnType<typeof client>;
let admin: { context: BrowserContext; page: Page };

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  code = inst.code;
  key = inst.key;
  api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    ['uadmin', { password: PASSWORD, first_name: 'Ursula', last_name: 'Admin', user_role: [role('50', code)] }],
    ['desk', { password: PASSWORD, first_name: 'Dana', last_name: 'Desk', user_role: [role('32', code)] }],
    ['ptolkien', { record_type: { value: 'PUBLIC' }, first_name: 'Priscilla', last_name: 'Tolkien', user_group: { value: 'UNDERGRAD' },
      user_identifier: [{ id_type: { value: 'BARCODE' }, value: '31234000555' }] }],
    ['ctolkien', { record_type: { value: 'PUBLIC' }, first_name: 'Christopher', last_name: 'Tolkien' }],
    ['mshelley', { record_type: { value: 'PUBLIC' }, first_name: 'Mary', last_name: 'Shelley' }],
    ['hashley', { record_type: { value: 'PUBLIC' }, first_name: 'Hana', last_name: 'Ashley' }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await launchChromium();
  admin = await signIn('uadmin');
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

async function setGroupEnabled(group: string, enabled: boolean) {
  const headers = { authorization: `apikey ${key}`, 'content-type': 'application/json' };
  const table = (await ctx.server.inject({ method: 'GET', url: '/api/v1/code-tables/UserGroups', headers })).json() as { row: { code: string }[] };
  const row = table.row.map((r) => (r.code === group ? { ...r, enabled } : r));
  const res = await ctx.server.inject({ method: 'PUT', url: '/api/v1/code-tables/UserGroups', headers, payload: JSON.stringify({ row }) });
  assert.equal(res.statusCode, 200, res.body);
}

/** Opens the console with ?institution=, which sends the browser to that login page and back. */
const signIn = (id: string, path = '/users') => consoleSignIn(browser, base, code, id, PASSWORD, path);

test('signing in lands on Find users with the navigation the roles allow; the page breaks no CSP and passes axe', async () => {
  const { page } = admin;
  const cspErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()));
  await page.getByRole('heading', { name: 'Find users' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Find users', 'Add staff user', 'Register patron', 'Named users', 'SSO outage', 'SIS loads']);
  assert.match(await page.locator('header').innerText(), /uadmin/);
  await page.getByRole('row').nth(1).waitFor();
  await assertAccessible(page, 'Find users');
  await page.reload();
  await page.getByRole('heading', { name: 'Find users' }).waitFor();
  assert.deepEqual(cspErrors, []);
});

test('search as you type, filter, sort; the keyboard goes from the search to a result and opens it', async () => {
  const { page } = admin;
  await page.goto(`${base}/users`);
  const search = page.getByRole('searchbox', { name: 'Search' });
  // Best matches first: the last name that begins with what was typed leads; a column sorts by it.
  await search.fill('sh');
  await page.locator('table[data-q="sh"]').waitFor();
  assert.deepEqual(await page.locator('tbody a.row-link').allInnerTexts(), ['Mary Shelley', 'Hana Ashley']);
  await page.getByRole('button', { name: 'Name' }).click();
  await page.waitForURL(/order_by=last_name/);
  await page.getByRole('columnheader', { name: /Name/ }).and(page.locator('[aria-sort="ascending"]')).waitFor();
  await page.locator('tbody a.row-link').first().filter({ hasText: 'Hana Ashley' }).waitFor();
  assert.deepEqual(await page.locator('tbody a.row-link').allInnerTexts(), ['Hana Ashley', 'Mary Shelley']);
  await page.getByRole('button', { name: 'Best matches first' }).click();
  await page.waitForURL((u) => !u.search.includes('order_by'));
  await page.locator('tbody a.row-link').first().filter({ hasText: 'Mary Shelley' }).waitFor();

  await search.fill('tolk');
  await page.waitForURL(/q=tolk/);
  // The list answers "tolk" (the one before also had two users).
  await page.locator('table[data-q="tolk"]').waitFor();
  await page.getByRole('status').filter({ hasText: 'of 2 users' }).waitFor();
  assert.deepEqual(await page.locator('tbody a.row-link').allInnerTexts(), ['Christopher Tolkien', 'Priscilla Tolkien']);

  await page.getByLabel('User group').fill('UNDERGRAD');
  await page.getByLabel('User group').press('Enter');
  await page.getByRole('status').filter({ hasText: 'of 1 users' }).waitFor();
  await page.getByLabel('User group').fill('');
  await page.getByLabel('User group').press('Enter');
  await page.getByRole('status').filter({ hasText: 'of 2 users' }).waitFor();
  await page.getByRole('button', { name: 'Primary ID' }).click();
  await page.waitForURL(/order_by=primary_id/);
  assert.equal(await page.getByRole('columnheader', { name: /Primary ID/ }).getAttribute('aria-sort'), 'ascending');

  await search.focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Christopher Tolkien');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Priscilla Tolkien');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/users\/ptolkien$/);
  await page.getByRole('heading', { name: /Priscilla Tolkien/ }).waitFor();
});

test('a scanned barcode (keys and Enter) opens its user directly, fast or slow; an unknown card says so', async () => {
  const { page } = admin;
  await page.goto(`${base}/users`);
  const search = page.getByRole('searchbox', { name: 'Search' });
  await search.focus();
  await page.keyboard.type('31234000555', { delay: 0 });
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/users\/ptolkien$/);
  await page.getByRole('tab', { name: 'General' }).waitFor();
  // A slow scanner (or a person typing the card number) gets the same.
  await page.goto(`${base}/users`);
  await page.getByRole('searchbox', { name: 'Search' }).focus();
  await page.keyboard.type('31234000555', { delay: 120 });
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/users\/ptolkien$/);
  await page.getByRole('tab', { name: 'General' }).waitFor();
  await page.goto(`${base}/users`);
  await page.getByRole('searchbox', { name: 'Search' }).focus();
  await page.keyboard.type('99999999999', { delay: 0 });
  await page.keyboard.press('Enter');
  await page.getByText('No user has the identifier 99999999999.').waitFor();
});

test('edit and save; then a concurrent change is shown with the choice to reload, never overwritten', async () => {
  const { page } = admin;
  await page.goto(`${base}/users/mshelley`);
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Last name').fill('Wollstonecraft Shelley');
  await page.getByRole('tab', { name: 'Contact' }).click();
  await page.getByRole('button', { name: 'Add phone number' }).click();
  await page.getByLabel('Phone 1 number').fill('+1 555 0100');
  await assertAccessible(page, 'User page, editing');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  const saved = (await api.get('/users/mshelley')).json() as { last_name: string; contact_info: { phone: { phone_number: string }[] } };
  assert.equal(saved.last_name, 'Wollstonecraft Shelley');
  assert.equal(saved.contact_info.phone[0]?.phone_number, '+1 555 0100');

  // Someone else saves while this page edits.
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('tab', { name: 'General' }).click();
  await page.getByLabel('First name').fill('Mine');
  const theirs = (await api.get('/users/mshelley')).json() as Record<string, unknown>;
  assert.equal((await api.put('/users/mshelley', { ...theirs, first_name: 'Theirs' })).statusCode, 200);
  await page.getByRole('button', { name: 'Save' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Someone else changed this user' });
  await dialog.waitFor();
  assert.equal(((await api.get('/users/mshelley')).json() as { first_name: string }).first_name, 'Theirs', 'their change stays');
  assert.equal(await page.getByLabel('First name').inputValue(), 'Mine', 'my edits are still on the page');
  await dialog.getByRole('button', { name: 'Reload the current record' }).click();
  await page.getByRole('heading', { name: /Theirs Wollstonecraft Shelley/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
});

test('a refused save shows the message at its field', async () => {
  const { page } = admin;
  await page.goto(`${base}/users/ctolkien`);
  await page.getByRole('button', { name: 'Edit' }).click();
  // The group select offers only enabled groups: COMMUNITY is disabled after the page read them.
  await page.locator('#user_group option[value="COMMUNITY"]').waitFor({ state: 'attached' });
  await setGroupEnabled('COMMUNITY', false);
  try {
    await page.getByLabel('User group').selectOption('COMMUNITY');
    await page.getByRole('button', { name: 'Save' }).click();
    const field = page.getByLabel('User group');
    await page.locator('#user_group-error').waitFor();
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#user_group-error').innerText(), /COMMUNITY/);
    await page.getByRole('button', { name: 'Cancel' }).click();
  } finally {
    await setGroupEnabled('COMMUNITY', true);
  }
});

test('the other tabs: identifiers, roles, sign-in sessions, history; all pass axe', async () => {
  const { page } = admin;
  await page.goto(`${base}/users/uadmin`);
  await page.getByRole('tab', { name: 'General' }).waitFor();
  await assertAccessible(page, 'User page');
  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByRole('cell', { name: /50/ }).first().waitFor();
  await page.getByRole('tab', { name: 'Sign-in' }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  await page.getByRole('button', { name: 'End all sessions' }).waitFor();
  await assertAccessible(page, 'Sign-in tab');
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('cell', { name: 'user.create' }).waitFor();
  await assertAccessible(page, 'History tab');
});

test('add a staff user', async () => {
  const { page } = admin;
  await page.goto(`${base}/users`);
  await page.getByRole('link', { name: 'Add staff user' }).click();
  await page.getByRole('heading', { name: 'Add staff user' }).waitFor();
  await assertAccessible(page, 'Add staff user');
  await page.getByRole('button', { name: 'Create staff user' }).click();
  assert.equal(await page.getByLabel('Primary ID (user name)').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Primary ID (user name)').fill('newdesk');
  await page.getByLabel('First name').fill('Nora');
  await page.getByLabel('Last name').fill('Desk');
  await page.getByLabel('E-mail').fill('nora@library.example.edu');
  await page.getByLabel('User group').fill('LIBSTAFF');
  await page.getByLabel('Circulation Desk Operator').check();
  await page.getByRole('button', { name: 'Create staff user' }).click();
  await page.waitForURL(/\/users\/newdesk$/);
  const made = (await api.get('/users/newdesk')).json() as { record_type: { value: string }; user_role: { role_type: { value: string } }[] };
  assert.equal(made.record_type.value, 'STAFF');
  assert.deepEqual(made.user_role.map((r) => r.role_type.value), ['32']);
});

test('a desk operator sees no edit controls, and the API refuses its writes', async () => {
  const { context, page } = await signIn('desk');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Find users', 'Register patron']);
  await page.goto(`${base}/users/ptolkien`);
  await page.getByRole('tab', { name: 'General' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Edit' }).count(), 0);
  await page.getByRole('tab', { name: 'Sign-in' }).click();
  await page.getByText(/managed by staff with a user manager/).waitFor();
  await page.goto(`${base}/staff/new`);
  await page.getByRole('heading', { name: 'Not available' }).waitFor();
  // Around the page, straight at the API with the session's own token: refused, nothing changes.
  const status = await page.evaluate(async () => {
    const s = (await (await fetch('/api/v1/session')).json()) as { csrf_token: string };
    const user = await (await fetch('/api/v1/users/ptolkien', { headers: { accept: 'application/json' } })).json();
    const res = await fetch('/api/v1/users/ptolkien', {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token },
      body: JSON.stringify({ ...user, last_name: 'Deskwrite' }),
    });
    return [res.status, ((await res.json()) as { errorList: { error: { errorCode: string }[] } }).errorList.error[0]!.errorCode];
  });
  assert.deepEqual(status, [400, 'UNAUTHORIZED']);
  assert.equal(((await api.get('/users/ptolkien')).json() as { last_name: string }).last_name, 'Tolkien');
  await assertAccessible(page, 'Not available');
  await context.close();
});

test('without a session or a known institution the console asks for the institution code, then remembers it', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/users/ptolkien`);
  await page.getByRole('heading', { name: 'Carrel staff console' }).waitFor();
  await assertAccessible(page, 'Institution chooser');
  await page.getByRole('button', { name: 'Continue to sign in' }).click();
  assert.equal(await page.getByLabel('Institution code').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Institution code').fill(code);
  await page.getByRole('button', { name: 'Continue to sign in' }).click();
  await page.waitForURL((u) => u.pathname === `/auth/${code}/login` && u.searchParams.get('return') === '/users/ptolkien');
  // Next time the browser goes straight to that login page.
  await page.goto(`${base}/users`);
  await page.waitForURL((u) => u.pathname === `/auth/${code}/login` && u.searchParams.get('return') === '/users');
  await context.close();
});

test('signing out ends the session and shows the login page', async () => {
  const { page, context } = admin;
  await page.goto(`${base}/users`);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/auth\/.*\/login/);
  // The login page's own CSP allows no fetch: ask with the browser context's cookies instead.
  assert.equal((await context.request.get(`${base}/api/v1/session`)).status(), 400);
  await page.goto(`${base}/users/ptolkien`);
  await page.waitForURL(/\/auth\/.*\/login\?return=%2Fusers%2Fptolkien/);
  await context.close();
});
