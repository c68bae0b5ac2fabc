// The user page's editing in a real browser against a real server (issue 10): every code is a
// select fed by the code tables, a disabled code is not offered but stays shown where it is held,
// roles (scope, parameters) and blocks are added, edited and removed and read back through the
// Alma API, the Sign-in tab tells whether there is a password, and a role that may only read
// users sees the values without any edit control. axe on each state of the page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';

const PASSWORD = 'User edit e2e pass 2026';
// 26, General System Administrator: of the user permissions it has users:read only (src/domain/access/actor.ts).
const READ_ONLY_ROLE = '26';

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let code: string;
let key: string;
let api: ReturnType<typeof client>;
let admin: { context: BrowserContext; page: Page };

const patron = (first: string, extra: Record<string, unknown> = {}) => ({
  record_type: { value: 'PUBLIC' },
  first_name: first,
  last_name: 'Reader',
  user_group: { value: 'UNDERGRAD' },
  ...extra,
});

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  code = inst.code;
  key = inst.key;
  api = client(ctx.server, key);
  const users: [string, Record<string, unknown>][] = [
    ['uadmin', { password: PASSWORD, first_name: 'Ursula', last_name: 'Admin', user_role: [role('50', code)] }],
    ['sysadmin', { password: PASSWORD, first_name: 'Sam', last_name: 'Sysadmin', user_role: [role(READ_ONLY_ROLE, code)] }],
    ['grouped', patron('Gina')],
    ['alumna', patron('Alma', { user_group: { value: 'ALUMNI' } })],
    ['blocked', patron('Bea')],
    ['staffer', { first_name: 'Stan', last_name: 'Staffer', user_role: [role('221', code), role('21', code)] }],
    ['nopw', { first_name: 'Nora', last_name: 'Nopassword' }],
    ['extern', { first_name: 'Ezra', last_name: 'External', account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  // ALUMNI is disabled after alumna got it: no one new may be given it, alumna keeps it.
  const v1 = { authorization: `apikey ${key}`, 'content-type': 'application/json' };
  const groups = (await ctx.server.inject({ method: 'GET', url: '/api/v1/code-tables/UserGroups', headers: v1 })).json() as { row: { code: string; enabled: boolean }[] };
  const rows = groups.row.map((r) => (r.code === 'ALUMNI' ? { ...r, enabled: false } : r));
  const put = await ctx.server.inject({ method: 'PUT', url: '/api/v1/code-tables/UserGroups', headers: v1, payload: JSON.stringify({ row: rows }) });
  assert.equal(put.statusCode, 200, put.body);
  browser = await launchChromium();
  admin = await consoleSignIn(browser, base, code, 'uadmin', PASSWORD);
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

const almaUser = async (id: string) => {
  const res = await api.get(`/users/${id}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Record<string, any>;
};

async function openEditing(page: Page, id: string) {
  await page.goto(`${base}/users/${id}`);
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('button', { name: 'Save' }).waitFor();
}

async function save(page: Page) {
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
}

const optionValues = (page: Page, label: string) => page.getByLabel(label, { exact: true }).locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));

test("the user group is a select of the institution's groups; a change saves", async () => {
  const { page } = admin;
  await openEditing(page, 'grouped');
  const group = page.getByLabel('User group', { exact: true });
  assert.equal(await group.evaluate((e) => e.tagName), 'SELECT');
  await page.locator('#user_group option[value="GRAD"]').waitFor({ state: 'attached' });
  assert.equal(await group.inputValue(), 'UNDERGRAD');
  // Other code fields are selects too.
  for (const label of ['Campus', 'Job category', 'Status', 'Record type', 'Preferred language', 'Title', 'Gender']) {
    assert.equal(await page.getByLabel(label, { exact: true }).evaluate((e) => e.tagName), 'SELECT', label);
  }
  await group.selectOption('GRAD');
  await page.getByLabel('Preferred language', { exact: true }).selectOption('fr');
  await assertAccessible(page, 'User page, editing the general tab');
  await save(page);
  const saved = await almaUser('grouped');
  assert.equal(saved.user_group.value, 'GRAD');
  assert.equal(saved.preferred_language.value, 'fr');
  await page.getByText('Graduate (GRAD)').waitFor();
});

test('a disabled group is not offered, but a user holding it still shows it and keeps it on save', async () => {
  const { page } = admin;
  await openEditing(page, 'grouped');
  await page.locator('#user_group option[value="COMMUNITY"]').waitFor({ state: 'attached' });
  const offered = await optionValues(page, 'User group');
  assert.ok(offered.includes('COMMUNITY'));
  assert.ok(!offered.includes('ALUMNI'), `ALUMNI offered: ${offered.join(',')}`);
  await page.getByRole('button', { name: 'Cancel' }).click();

  await openEditing(page, 'alumna');
  const group = page.getByLabel('User group', { exact: true });
  await page.locator('#user_group option[value="COMMUNITY"]').waitFor({ state: 'attached' });
  assert.equal(await group.inputValue(), 'ALUMNI');
  assert.match(await group.locator('option:checked').innerText(), /ALUMNI.*disabled/);
  await page.getByLabel('Last name').fill('Reader-Smith');
  await save(page);
  const saved = await almaUser('alumna');
  assert.equal(saved.user_group.value, 'ALUMNI', 'the held disabled group stays');
  assert.equal(saved.last_name, 'Reader-Smith');
});

test('add a role with a library scope and a parameter, remove another; the Alma API reads them back', async () => {
  const { page } = admin;
  await openEditing(page, 'staffer');
  await page.getByRole('tab', { name: 'Roles' }).click();
  assert.equal(await page.getByLabel('Role 1 type').inputValue(), '221');
  // The second role (21, User Manager) goes.
  await page.getByRole('button', { name: 'Remove role 2' }).click();
  await page.getByRole('button', { name: 'Add role' }).click();
  const type = page.getByLabel('Role 2 type');
  await type.locator('option[value="32"]').waitFor({ state: 'attached' });
  await type.selectOption('32');
  const scope = page.getByLabel('Role 2 scope');
  assert.equal(await scope.inputValue(), code, 'a new role is the institution’s');
  await scope.locator('option[value="MAIN"]').waitFor({ state: 'attached' });
  await scope.selectOption('MAIN');
  await page.getByLabel('Role 2 expiry date').fill('2031-06-30');
  await page.getByRole('button', { name: 'Add parameter to role 2' }).click();
  const paramType = page.getByLabel('Role 2 parameter 1 type');
  await paramType.locator('option[value="CirculationDesk"]').waitFor({ state: 'attached' });
  await paramType.selectOption('CirculationDesk');
  // A CirculationDesk names a desk of the CirculationDesks code table: a select, not free text.
  const desk = page.getByLabel('Role 2 parameter 1 value');
  await desk.locator('option[value="DEFAULT_CIRC_DESK"]').waitFor({ state: 'attached' });
  await desk.selectOption('DEFAULT_CIRC_DESK');
  await page.getByLabel('Role 2 parameter 1 library').selectOption('MAIN');
  await assertAccessible(page, 'User page, editing roles');
  await save(page);

  const roles = (await almaUser('staffer')).user_role as Record<string, any>[];
  assert.deepEqual(roles.map((r) => [r.role_type.value, r.scope.value]), [['221', code], ['32', 'MAIN']]);
  const added = roles[1]!;
  assert.equal(added.expiry_date, '2031-06-30Z');
  assert.equal(added.status.value, 'ACTIVE');
  assert.deepEqual(added.parameter.map((p: any) => [p.type.value, p.value.value, p.scope.value]), [['CirculationDesk', 'DEFAULT_CIRC_DESK', 'MAIN']]);
  await page.getByRole('cell', { name: /CirculationDesk|Circulation desk/ }).waitFor();
});

test("a role saved without its type is refused, and the message shows on the Roles tab", async () => {
  const { page } = admin;
  await openEditing(page, 'staffer');
  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByRole('button', { name: 'Add role' }).click();
  await page.getByRole('tab', { name: 'General' }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  const alert = page.getByRole('tabpanel').getByRole('alert');
  await alert.waitFor();
  assert.equal(await page.getByRole('tab', { name: 'Roles' }).getAttribute('aria-selected'), 'true', 'the tab of the refused field opens');
  assert.match(await alert.innerText(), /role_type/);
  await page.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(((await almaUser('staffer')).user_role as unknown[]).length, 2, 'nothing saved');
});

test('add a block, edit it, and it is in the Alma API user; removing it removes it', async () => {
  const { page } = admin;
  await openEditing(page, 'blocked');
  await page.getByRole('tab', { name: 'Notes and blocks' }).click();
  await page.getByRole('button', { name: 'Add block' }).click();
  const block = page.getByLabel('Block 1 block');
  await block.locator('option[value="LOST_CARD"]').waitFor({ state: 'attached' });
  assert.equal(await page.getByLabel('Block 1 type').inputValue(), 'GENERAL');
  await block.selectOption('LOST_CARD');
  await page.getByLabel('Block 1 note').fill('Reported lost at the desk');
  await page.getByLabel('Block 1 expiry date').fill('2030-01-31');
  await assertAccessible(page, 'User page, editing blocks');
  await save(page);
  let blocks = (await almaUser('blocked')).user_block as Record<string, any>[];
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0]!.block_type.value, 'GENERAL');
  assert.equal(blocks[0]!.block_description.value, 'LOST_CARD');
  assert.equal(blocks[0]!.block_status, 'ACTIVE');
  assert.equal(blocks[0]!.block_note, 'Reported lost at the desk');
  assert.match(blocks[0]!.expiry_date, /^2030-01-31/);

  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByLabel('Block 1 status').selectOption('INACTIVE');
  await save(page);
  blocks = (await almaUser('blocked')).user_block as Record<string, any>[];
  assert.equal(blocks[0]!.block_status, 'INACTIVE');

  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('button', { name: 'Remove block 1' }).click();
  await save(page);
  assert.deepEqual((await almaUser('blocked')).user_block ?? [], []);
});

test('the Sign-in tab tells whether there is a password: none, then set; none for an EXTERNAL user', async () => {
  const { page } = admin;
  await page.goto(`${base}/users/nopw`);
  await page.getByRole('tab', { name: 'Sign-in' }).click();
  const password = page.locator('#si-password');
  await password.waitFor();
  assert.match(await password.innerText(), /^No password/);
  await page.getByLabel('New password').fill('Chosen by staff 2026');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('status').filter({ hasText: /^Password set\./ }).waitFor();
  await page.locator('#si-password', { hasText: 'Has a password' }).waitFor();
  assert.equal(await page.locator('#si-must-change').innerText(), 'Yes');
  assert.equal(await page.locator('#si-locked').innerText(), 'No');
  await assertAccessible(page, 'Sign-in tab with its status');

  await page.goto(`${base}/users/extern`);
  await page.getByRole('tab', { name: 'Sign-in' }).click();
  await page.locator('#si-password').waitFor();
  assert.match(await page.locator('#si-password').innerText(), /^No password \(signs in through the institution/);
});

test('a role that may only read users sees the values as text, with no edit control anywhere', async () => {
  const { context, page } = await consoleSignIn(browser, base, code, 'sysadmin', PASSWORD, '/users/staffer');
  await page.getByRole('tab', { name: 'General' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Edit' }).count(), 0);
  assert.match(await page.locator('#user_group').innerText(), /LIBSTAFF/);
  for (const tab of ['General', 'Identifiers', 'Roles', 'Contact', 'Notes and blocks']) {
    await page.getByRole('tab', { name: tab }).click();
    await page.getByRole('tabpanel').waitFor();
    assert.equal(await page.getByRole('tabpanel').locator('select, input, textarea').count(), 0, `${tab}: no inputs`);
    assert.equal(await page.getByRole('tabpanel').getByRole('button').count(), 0, `${tab}: no buttons`);
  }
  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByRole('cell', { name: /Circulation Desk Operator \(32\)/ }).waitFor();
  await page.getByRole('cell', { name: /DEFAULT_CIRC_DESK/ }).waitFor();
  await assertAccessible(page, 'User page, read only');
  await page.getByRole('tab', { name: 'Sign-in' }).click();
  await page.locator('#si-password', { hasText: 'No password' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Set password' }).count(), 0);
  await assertAccessible(page, 'Sign-in tab, read only');
  await context.close();
});

test('a hand edit of a protected field is shown with who and when, and restored to the SIS in one click; a reader sees it without the button', async () => {
  const { page } = admin;
  await openEditing(page, 'extern');
  await page.locator('#user_group option[value="FACULTY"]').waitFor({ state: 'attached' });
  await page.getByLabel('User group', { exact: true }).selectOption('FACULTY');
  await save(page);
  const section = page.getByRole('region', { name: 'Edited by hand' });
  const row = section.getByRole('row', { name: /user_group/ });
  await row.waitFor();
  assert.match(await row.innerText(), /FACULTY[\s\S]*Staff uadmin[\s\S]*Keeps it/);
  await assertAccessible(page, 'User page, edited by hand');

  // A reader sees the marks and no way to restore them.
  const reader = await consoleSignIn(browser, base, code, 'sysadmin', PASSWORD, '/users/extern');
  await reader.page.getByRole('region', { name: 'Edited by hand' }).getByRole('row', { name: /user_group/ }).waitFor();
  assert.equal(await reader.page.getByRole('button', { name: /Restore/ }).count(), 0);
  await reader.context.close();

  await section.getByRole('button', { name: 'Restore to SIS user_group' }).click();
  await page.getByText('user_group is the SIS’s again: the next load sets it.').waitFor();
  const listed = await ctx.server.inject({ method: 'GET', url: '/api/v1/users/extern/manual-edits', headers: { authorization: `apikey ${key}` } });
  assert.deepEqual(listed.json().manual_edits, []);
  assert.equal((await almaUser('extern')).user_group.value, 'FACULTY', 'restoring hands the field back; the value stays until the next load');
});
