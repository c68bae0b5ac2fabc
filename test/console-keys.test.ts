// Settings → API keys and the break-glass list in a real browser against a real server on the test
// database (issue 10): a General System Administrator creates a key, reads its secret once (copy
// button, clipboard), calls the Alma API with it over HTTP; after a reload, or leaving the page,
// the secret is nowhere (page, storage); a label refused at its field, then changed; rotation asks
// first, shows the new secret once, the old one is refused and the new one works; revocation asks
// first and the key is refused. A User Administrator marks a break-glass account on the SSO outage
// page (a refusal at the field), the page and GET /api/v1/break-glass list it, and unmarks it. A
// desk operator (32) sees neither, and the API refuses its session both. axe on each page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser, v1 } from './helpers/identity.js';

const PASSWORD = 'Console keys pass 2026';
const KEY_SHAPE = /^carrel_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/;

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let code: string;
let apiV1: ReturnType<typeof v1>;
/** The key the browser made, and its secrets as they change. */
let made: { id: string; prefix: string; first: string; rotated?: string };

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  code = inst.code;
  apiV1 = v1(ctx.server, inst.key);
  const api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    ['desk', { password: PASSWORD, first_name: 'Dana', last_name: 'Desk', user_role: [role('32', code)] }],
    ['sysadmin', { password: PASSWORD, first_name: 'Sam', last_name: 'Sysadmin', user_role: [role('26', code)] }],
    ['uadmin', { password: PASSWORD, first_name: 'Ursula', last_name: 'Admin', user_role: [role('50', code)] }],
    ['backup', { password: PASSWORD, first_name: 'Bea', last_name: 'Backup', user_role: [role('50', code)] }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

const signIn = (id: string, path: string) => consoleSignIn(browser, base, code, id, PASSWORD, path);

/** The Alma API over HTTP, as an application holding the key would call it. */
const almaStatus = async (key: string) =>
  (await fetch(`${base}/almaws/v1/users?limit=1`, { headers: { authorization: `apikey ${key}`, accept: 'application/json' } })).status;

type Listed = { id: string; prefix: string; label: string | null; read_only: boolean; last_used_at: string | null; revoked_at: string | null };
const listedKeys = async () => ((await apiV1.get('/api-keys')).json() as { api_key: Listed[] }).api_key;

/** Neither the page nor the browser's storage holds the secret. */
async function secretNowhere(page: Page, key: string) {
  const secret = key.split('_').slice(2).join('_');
  assert.equal(await page.getByTestId('new-secret').count(), 0);
  assert.doesNotMatch(await page.content(), new RegExp(secret.replace(/[-_]/g, '\\$&')));
  const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, location.href]));
  assert.ok(!stored.includes(secret), 'not in storage or the address');
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an administrator creates a key, reads its secret once, uses it on the Alma API; after a reload the secret is nowhere', async () => {
  const { context, page } = await signIn('sysadmin', '/users');
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.getByRole('cell', { name: 'test-ro', exact: true }).waitFor();
  await assertAccessible(page, 'API keys');

  // A label the server refuses: said at the field, nothing created.
  const before = (await listedKeys()).length;
  await page.getByLabel('Label', { exact: true }).fill('x'.repeat(201));
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.locator('#label-error').waitFor();
  assert.match(await page.locator('#label-error').innerText(), /at most 200 characters/);
  assert.equal(await page.getByLabel('Label', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.equal((await listedKeys()).length, before);
  assert.equal(await page.getByTestId('new-secret').count(), 0);

  await page.getByLabel('Label', { exact: true }).fill('discovery layer');
  await page.getByRole('checkbox', { name: /Read-only/ }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByRole('region', { name: 'Key created: discovery layer' });
  await shown.waitFor();
  assert.match(await shown.innerText(), /only time it is shown/);
  const key = (await page.getByTestId('new-secret').innerText()).trim();
  assert.match(key, KEY_SHAPE);
  await shown.getByRole('button', { name: 'Copy key' }).click();
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), key, 'the copy button copies the key');
  await assertAccessible(page, 'API keys, a new key shown');

  const listing = (await listedKeys()).find((k) => k.label === 'discovery layer');
  assert.ok(listing && key.startsWith(`carrel_${listing.prefix}_`) && listing.read_only);
  assert.ok(!JSON.stringify(await listedKeys()).includes(key.split('_')[2]!), 'the API listing holds no secret');
  made = { id: listing.id, prefix: listing.prefix, first: key };
  const row = page.getByRole('row', { name: /discovery layer/ });
  await row.getByText('Read-only').waitFor();
  await row.getByText('Active').waitFor();

  assert.equal(await almaStatus(key), 200, 'the key works on the Alma API');
  await eventually('last used recorded', async () => (await listedKeys()).find((k) => k.id === listing.id)!.last_used_at !== null);

  await page.reload();
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  await page.getByRole('row', { name: /discovery layer/ }).waitFor();
  assert.notEqual(await page.getByRole('row', { name: /discovery layer/ }).getByRole('cell').nth(4).innerText(), 'Never', 'last used is shown');
  await secretNowhere(page, key);
  await context.close();
});

test('the label is changed (a refusal at its field); rotation asks first, shows the new secret once, and only the new one works', async () => {
  const { context, page } = await signIn('sysadmin', '/settings/api-keys');
  await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();

  await page.getByRole('button', { name: 'Edit label of discovery layer' }).click();
  const input = page.getByLabel(`Label of key ${made.prefix}`);
  await input.fill('bad \u0001 label');
  await page.getByRole('button', { name: 'Save label' }).click();
  await page.locator('.field-error').getByText(/control characters/).waitFor();
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  await input.fill('catalogue');
  await input.press('Enter');
  // The field's value counts in the row's name while it is open: wait for the save to close it.
  await input.waitFor({ state: 'detached' });
  await page.getByRole('row', { name: /catalogue/ }).waitFor();
  assert.equal((await listedKeys()).find((k) => k.id === made.id)?.label, 'catalogue');

  // Cancel changes nothing.
  await page.getByRole('button', { name: 'Rotate catalogue' }).click();
  const dialog = page.getByRole('dialog', { name: 'Rotate catalogue?' });
  await dialog.waitFor();
  await assertAccessible(page, 'API keys, rotate dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await almaStatus(made.first), 200);

  await page.getByRole('button', { name: 'Rotate catalogue' }).click();
  await dialog.getByRole('button', { name: 'Rotate key' }).click();
  const shown = page.getByRole('region', { name: 'New secret for catalogue' });
  await shown.waitFor();
  const rotated = (await page.getByTestId('new-secret').innerText()).trim();
  assert.match(rotated, KEY_SHAPE);
  assert.notEqual(rotated, made.first);
  assert.ok(rotated.startsWith(`carrel_${(await listedKeys()).find((k) => k.id === made.id)!.prefix}_`), 'the same key, a new prefix and secret');
  made.rotated = rotated;
  assert.equal(await almaStatus(made.first), 400, 'the old secret is refused at once');
  assert.equal(await almaStatus(rotated), 200, 'the new one works');
  await page.getByRole('row', { name: /catalogue/ }).getByText(/^Rotated /).waitFor();

  // Leaving the page (within the console) and coming back: gone.
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'Login methods' }).click();
  await page.getByRole('heading', { name: 'Login methods' }).waitFor();
  await nav.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('row', { name: /catalogue/ }).waitFor();
  await secretNowhere(page, rotated);
  await context.close();
});

test('revocation asks first; the key is refused from then on and shown as revoked', async () => {
  const { context, page } = await signIn('sysadmin', '/settings/api-keys');
  await page.getByRole('button', { name: 'Revoke catalogue' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke catalogue?' });
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /cannot be undone/);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await almaStatus(made.rotated!), 200, 'Esc cancels');

  await page.getByRole('button', { name: 'Revoke catalogue' }).click();
  await dialog.getByRole('button', { name: 'Revoke key' }).click();
  const row = page.getByRole('row', { name: /catalogue/ });
  await row.getByText('Revoked').waitFor();
  assert.equal(await row.getByRole('button').count(), 0, 'a revoked key has no actions');
  assert.equal(await almaStatus(made.rotated!), 400);
  assert.ok((await listedKeys()).find((k) => k.id === made.id)?.revoked_at, 'the API lists it revoked');
  await assertAccessible(page, 'API keys, a key revoked');
  await context.close();
});

test('a User Administrator marks a break-glass account on the SSO outage page; the page and the API list it; unmarked', async () => {
  type Account = { primary_id: string; usable_password: boolean };
  const listed = async () => ((await apiV1.get('/break-glass')).json() as { break_glass_account: Account[] }).break_glass_account;
  const { context, page } = await signIn('uadmin', '/outage');
  const section = page.getByRole('region', { name: 'Break-glass accounts' });
  await section.getByText('No break-glass accounts yet').waitFor();
  await assertAccessible(page, 'SSO outage, no break-glass accounts');

  const field = section.getByLabel('Primary ID to mark');
  await field.fill('nobody_here');
  await section.getByRole('button', { name: 'Mark as break-glass' }).click();
  await section.locator('#break_glass_id-error').getByText(/nobody_here was not found/).waitFor();
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await listed(), []);

  await field.fill('backup');
  await field.press('Enter');
  const row = section.getByRole('row', { name: /backup/ });
  await row.waitFor();
  await row.getByText('Bea Backup').waitFor();
  await row.getByText('Usable').waitFor();
  assert.deepEqual(await listed(), [{ primary_id: 'backup', first_name: 'Bea', last_name: 'Backup', usable_password: true, last_sign_in: null }]);
  assert.equal(await field.inputValue(), '');
  await assertAccessible(page, 'SSO outage, a break-glass account');

  await section.getByRole('button', { name: 'Unmark backup' }).click();
  await section.getByText('No break-glass accounts yet').waitFor();
  assert.deepEqual(await listed(), []);
  await context.close();
});

test('a desk operator sees neither API keys nor the break-glass list, and the API refuses its session both', async () => {
  const { context, page } = await signIn('desk', '/users');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: 'SSO outage' }).count(), 0);
  for (const path of ['/settings/api-keys', '/outage']) {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
    assert.equal(await page.getByText('Break-glass accounts').count(), 0);
  }
  const refused = await page.evaluate(async () =>
    Promise.all(
      ['/api/v1/api-keys', '/api/v1/break-glass'].map(async (p) => {
        const res = await fetch(p, { credentials: 'same-origin', headers: { accept: 'application/json' } });
        return [res.status, ((await res.json()) as { errorList: { error: { errorCode: string }[] } }).errorList.error[0]!.errorCode];
      }),
    ),
  );
  assert.deepEqual(refused, [
    [400, 'UNAUTHORIZED'],
    [400, 'UNAUTHORIZED'],
  ]);
  await context.close();
});
