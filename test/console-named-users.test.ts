// The console's Named users page in a real browser against a real server on the test database: a
// member of a network with a licence of 5 (warning from 4) and four named users shows the warning
// in words, the numbers the API gives (network, institution, by role, the users with their last
// sign-in); a snapshot adds today's history row; the CSV download holds the users; a failed call
// is said; a fifth named user brings it to the limit (in refuse mode, said so). A desk operator
// sees no entry and the page says not available. The network zone sees each member's count, and
// past the licence says so. axe on the page, before and after the history.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';
import { parseCsvLine } from './helpers/sis.js';

const PASSWORD = 'Named users page 2026';

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let member: Awaited<ReturnType<TestContext['institution']>>;
let zoneCode: string;
let zoneApiKey: string;

interface Report {
  institution: { count: number };
  network: { name: string; count: number; licence: number; warn_line: number; at_limit: string; state: string };
  roles: { role_type: string; count: number }[];
}
interface Users {
  total_record_count: number;
  users: { primary_id: string; last_name: string; named_roles: string[]; last_sign_in: string | null }[];
}

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const zone = await ctx.institution({ networkZone: true });
  member = await ctx.institution({ network: zone.code });
  zoneCode = zone.code;
  zoneApiKey = zone.key;
  await ctx.app.services.institutions.updateNetworkSettings(zone.code, { namedUserLicense: 5, namedUserWarnPercent: 80 });
  // Four named users (roles 50, 26, 32, and 21 with 32), one patron who is none.
  const users: [string, string, string[]][] = [
    ['uadmin', 'Adams', ['50']],
    ['sysadmin', 'Baker', ['26']],
    ['desk', 'Cole', ['32']],
    ['manager', 'Dunn', ['21', '32']],
    ['patron', 'Evans', ['200']],
  ];
  for (const [id, last, roles] of users) {
    const res = await post(staffUser(id, { password: PASSWORD, last_name: last, user_role: roles.map((r) => role(r, member.code)) }));
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

const post = (body: Record<string, unknown>) => client(ctx.server, member.key).post('/users', body);
const get = async <T>(url: string, key = member.key): Promise<T> => {
  const res = await ctx.server.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `apikey ${key}` } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as T;
};
const signIn = (id: string, path = '/named-users') => consoleSignIn(browser, base, member.code, id, PASSWORD, path);
const text = async (page: Page, testId: string) => (await page.getByTestId(testId).innerText()).replace(/\s+/g, ' ').trim();
const cells = (page: Page, testId: string) =>
  page.getByTestId(testId).locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent!.trim())));

/** The licence panel says what the API says, in words. */
async function assertLicence(page: Page, state: RegExp) {
  const r = await get<Report>('/named-users');
  await page.getByTestId('network-count').filter({ hasText: `${r.network.count} of ${r.network.licence}` }).waitFor();
  assert.match(await text(page, 'licence-state'), state);
  assert.match(await text(page, 'institution-count'), new RegExp(`Of these, ${r.institution.count} at this institution`));
  assert.match(await text(page, 'licence-detail'), new RegExp(`The warning line is ${r.network.warn_line}\\.`));
  assert.match(await text(page, 'licence-mode'), r.network.at_limit === 'refuse' ? /^Refuse mode: at the licence, new named users are refused/ : /^Warn mode: at the licence, new named users are still accepted/);
  return r;
}

test('a user administrator sees the licence, by role, the users, the history after a snapshot, and downloads the CSV', async () => {
  const { context, page } = await signIn('uadmin');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('link', { name: 'Named users' }).getAttribute('aria-current'), 'page');
  await page.getByRole('heading', { name: 'Named users', level: 1 }).waitFor();

  // Four of five, the warning line at four: a warning, said in words.
  const r = await assertLicence(page, /^Warning: near the licence$/);
  assert.deepEqual([r.network.count, r.network.licence, r.network.warn_line, r.network.state], [4, 5, 4, 'warning']);
  assert.match(await text(page, 'licence-detail'), /^1 licensed place free\./);

  // By role: the API's counts, with the roles' names.
  await page.getByTestId('by-role').getByRole('cell', { name: 'User Administrator (50)' }).waitFor();
  const byRole = await cells(page, 'by-role');
  assert.deepEqual(byRole.map((row) => row[1]), r.roles.map((x) => String(x.count)));
  assert.ok(byRole.some(([name, n]) => name === 'Circulation Desk Operator (32)' && n === '2'), JSON.stringify(byRole));

  // The users, by name, as the API lists them; the one signed in has a last sign-in.
  const users = await get<Users>('/named-users/users');
  await page.getByTestId('named-user-list').getByRole('cell', { name: 'manager', exact: true }).waitFor();
  const rows = await cells(page, 'named-user-list');
  assert.deepEqual(rows.map((row) => row[1]), users.users.map((u) => u.primary_id));
  assert.deepEqual(rows.map((row) => row[4] !== 'Never'), users.users.map((u) => u.last_sign_in !== null));
  assert.ok(users.users.find((u) => u.primary_id === 'uadmin')!.last_sign_in, 'signing in to the console is a sign-in');
  assert.equal(rows.find((row) => row[1] === 'manager')![3], 'User Manager (21); Circulation Desk Operator (32)');
  await page.getByText(`1–${users.total_record_count} of ${users.total_record_count} named users`).waitFor();
  await assertAccessible(page, 'Named users');

  // Filtered by role, as the API filters.
  await page.getByLabel('Role', { exact: true }).selectOption('32');
  const desk = await get<Users>('/named-users/users?role=32');
  await page.getByText(`1–${desk.total_record_count} of ${desk.total_record_count} named users`).waitFor();
  assert.deepEqual((await cells(page, 'named-user-list')).map((row) => row[1]), desk.users.map((u) => u.primary_id));
  await page.getByLabel('Role', { exact: true }).selectOption('');

  // No history yet; a snapshot adds today's row with the API's numbers.
  await page.getByText('No snapshot in this period yet.', { exact: false }).waitFor();
  await page.getByRole('button', { name: "Take today's snapshot" }).click();
  await page.getByRole('status').filter({ hasText: /^Snapshot taken for/ }).waitFor();
  const history = (await get<{ days: { day: string; count: number; network_count: number }[] }>('/named-users/history')).days;
  assert.equal(history.length, 1);
  await page.getByTestId('history').locator('tbody tr').first().waitFor();
  assert.deepEqual(await cells(page, 'history'), history.map((d) => [d.day, String(d.count), String(d.network_count)]));
  assert.match(await text(page, 'history-summary'), new RegExp(`1 day from ${history[0]!.day} to ${history[0]!.day}: ${history[0]!.network_count} on the last day.*the licence is 5`));
  await assertAccessible(page, 'Named users with history');

  // The CSV holds every named user.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as CSV' }).click()]);
  const csv = (await readFile((await download.path())!, 'utf8')).trim().split('\n').map(parseCsvLine);
  assert.deepEqual(csv[0]!.slice(0, 2), ['primary_id', 'first_name']);
  assert.deepEqual(csv.slice(1).map((row) => row[0]), users.users.map((u) => u.primary_id));

  // A call that fails is said (the browser offline: the request never reaches Carrel).
  await context.setOffline(true);
  await page.getByRole('button', { name: "Take today's snapshot" }).click();
  await page.getByRole('alert').filter({ hasText: 'Carrel could not be reached.' }).waitFor();
  await context.setOffline(false);

  // Refuse mode, and a fifth named user: at the limit (the fifth still fits).
  await ctx.app.services.institutions.updateNetworkSettings(zoneCode, { namedUserAtLimit: 'refuse' });
  assert.equal((await post(staffUser('fifth', { last_name: 'Fox', user_role: [role('21', member.code)] }))).statusCode, 200);
  await page.reload();
  const at = await assertLicence(page, /^At the licence limit$/);
  assert.deepEqual([at.network.count, at.network.state, at.network.at_limit], [5, 'at_limit', 'refuse']);
  assert.match(await text(page, 'licence-detail'), /^Every licensed place is taken\./);
  await page.getByTestId('named-user-list').getByRole('cell', { name: 'fifth', exact: true }).waitFor();
  await context.close();
});

test('a desk operator (role 32) has no Named users entry, and the page says not available', async () => {
  const { context, page } = await signIn('desk', '/users');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.ok((await nav.getByRole('link').allInnerTexts()).length > 0);
  assert.equal(await nav.getByRole('link', { name: 'Named users' }).count(), 0);
  await page.goto(`${base}/named-users`);
  await page.getByRole('heading', { name: 'Not available' }).waitFor();
  assert.equal(await page.getByTestId('network-count').count(), 0);
  await context.close();
});

test("the consortium office (the network zone) sees every member's count, and a sixth named user is over the licence", async () => {
  // The office's own administrator is a named user of the network too: six of five (warn mode again).
  await ctx.app.services.institutions.updateNetworkSettings(zoneCode, { namedUserAtLimit: 'warn' });
  const res = await client(ctx.server, zoneApiKey).post('/users', staffUser('office', { password: PASSWORD, last_name: 'Office', user_role: [role('50', zoneCode)] }));
  assert.equal(res.statusCode, 200, res.body);
  const { context, page } = await consoleSignIn(browser, base, zoneCode, 'office', PASSWORD, '/named-users');
  const r = await get<Report & { institutions: { code: string; count: number }[] }>('/named-users', zoneApiKey);
  assert.deepEqual([r.network.count, r.network.licence, r.network.state], [6, 5, 'over']);
  await page.getByTestId('network-count').filter({ hasText: '6 of 5' }).waitFor();
  assert.equal(await text(page, 'licence-state'), 'Over the licence');
  assert.match(await text(page, 'licence-detail'), /^1 more named user than the licence allows\./);
  const members = await page.getByRole('table', { name: 'Named users per member institution' }).locator('tbody tr').allInnerTexts();
  const counts = Object.fromEntries(members.map((row) => row.split('\t').slice(1).map((c) => c.trim()) as [string, string]));
  assert.deepEqual(counts, Object.fromEntries(r.institutions.map((i) => [i.code, String(i.count)])));
  assert.deepEqual(counts, { [zoneCode]: '1', [member.code]: '5' });
  // Its list of people is its own institution's.
  await page.getByText('1–1 of 1 named users').waitFor();
  await assertAccessible(page, 'Named users (network zone)');
  await context.close();
});
