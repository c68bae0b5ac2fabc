// The console's settings pages (issue 10) in a real browser against a real server on the test
// database: a General System Administrator sets a card number rule and a mandatory identifier on
// Settings → Identifiers (a padding out of range refused at its field, nothing stored), and a
// patron registered afterwards gets the number the page showed as the rule's next (showing it
// takes none: after a reload the page shows the one after); on Passwords and sessions a
// minimum length below the floor is refused at its field, 12 is saved and the login pages' hint
// says 12; the network zone's administrator changes the network's settings (a bad address
// refused at its field), a member's administrator only reads them; each save sends only what
// changed and reads back equal through the API; a desk operator sees no Settings. axe on each page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser, v1 } from './helpers/identity.js';
import { formatIdentifier } from '../src/domain/users/identifier-generation.js';

const PASSWORD = 'Console settings pass 2026';

type Inst = Awaited<ReturnType<TestContext['institution']>>;
let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let zone: Inst;
let member: Inst;

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  zone = await ctx.institution({ networkZone: true });
  member = await ctx.institution({ network: zone.code });
  const users: [Inst, string, string][] = [
    [zone, 'sysadmin', '26'],
    [zone, 'desk', '32'],
    [member, 'memberadmin', '26'],
  ];
  for (const [i, id, roleType] of users) {
    const res = await client(ctx.server, i.key).post('/users', staffUser(id, { password: PASSWORD, first_name: 'Sam', last_name: 'Staff', user_role: [role(roleType, i.code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

const signIn = (i: Inst, id: string, path: string) => consoleSignIn(browser, base, i.code, id, PASSWORD, path);
const settingsOf = async (i: Inst, which: 'institution' | 'network') => (await v1(ctx.server, i.key).get(`/${which}/settings`)).json() as Record<string, unknown>;

/** The bodies of the PATCHes the page sends, as the server gets them. */
function patches(page: Page): unknown[] {
  const sent: unknown[] = [];
  page.on('request', (r) => {
    if (r.method() === 'PATCH') sent.push(r.postDataJSON());
  });
  return sent;
}

test('identifiers: a padding out of range is refused at its field; the saved rule numbers the next patron; a mandatory identifier is saved alone', async () => {
  const { context, page } = await signIn(zone, 'sysadmin', '/settings/identifiers');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.deepEqual(await nav.getByRole('link').allInnerTexts(), ['Find users', 'Named users', 'SIS loads', 'Code tables', 'Login methods', 'Identifiers', 'Passwords and sessions', 'API keys']);
  await page.getByRole('heading', { name: 'Identifiers', level: 1 }).waitFor();
  const sent = patches(page);
  const publicRule = page.getByRole('group', { name: 'Public users' });
  await page.getByRole('option', { name: /Barcode/ }).first().waitFor({ state: 'attached' });
  await publicRule.getByLabel('Identifier type').selectOption('BARCODE');
  await publicRule.getByLabel('Prefix').fill('LIB');
  await publicRule.getByLabel('Padding (digits)').fill('19');
  await publicRule.getByLabel('Check digit').selectOption('luhn');
  await assertAccessible(page, 'Identifiers, editing');
  await page.getByRole('button', { name: 'Save' }).click();
  const paddingError = page.locator('#identifier_generation-PUBLIC-padding-error');
  await paddingError.waitFor();
  assert.match(await paddingError.innerText(), /1 to 18/);
  assert.equal(await publicRule.getByLabel('Padding (digits)').getAttribute('aria-invalid'), 'true');
  assert.deepEqual((await settingsOf(zone, 'institution')).identifier_generation, {}, 'a refused save stores nothing');
  await assertAccessible(page, 'Identifiers, refused');

  await publicRule.getByLabel('Padding (digits)').fill('6');
  assert.match(await publicRule.getByTestId('generation-preview').innerText(), /LIB000001 followed by a Luhn check digit/);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Saved.').waitFor();
  assert.equal(await paddingError.count(), 0);
  const rule = { identifier_type: 'BARCODE', prefix: 'LIB', padding: 6, check_digit: 'luhn' };
  assert.deepEqual(sent.at(-1), { identifier_generation: { PUBLIC: rule } }, 'only the changed rule is sent');
  // The saved rule's next value, from the server: the first number with its Luhn check digit.
  const domainRule = { identifierType: 'BARCODE', prefix: 'LIB', padding: 6, checkDigit: 'luhn' } as const;
  const next = publicRule.getByTestId('generation-next');
  await next.getByText(formatIdentifier(domainRule, 1n)).waitFor();
  assert.equal(await next.innerText(), `Next: ${formatIdentifier(domainRule, 1n)}`);
  // Edited and not saved, the rule says so instead.
  await publicRule.getByLabel('Prefix').fill('LIX');
  await publicRule.getByText('Save the rule to see the next value it gives.').waitFor();
  await publicRule.getByLabel('Prefix').fill('LIB');
  await next.waitFor();

  await page.getByRole('combobox', { name: 'Public users' }).selectOption('BARCODE');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual(sent.at(-1), { mandatory_identifier: { PUBLIC: 'BARCODE' } });
  const stored = await settingsOf(zone, 'institution');
  assert.deepEqual([stored.identifier_generation, stored.mandatory_identifier], [{ PUBLIC: rule }, { PUBLIC: 'BARCODE' }]);

  // A walk-in patron registered now gets the rule's number: the prefix, six digits, a check digit.
  const res = await v1(ctx.server, zone.key).post('/registrations', { first_name: 'Ada', last_name: 'Lovelace', user_group: 'COMMUNITY', email: 'ada@example.org' });
  assert.equal(res.statusCode, 201, res.body);
  const ids = (res.json() as { user_identifier: { id_type: { value: string }; value: string }[] }).user_identifier;
  const barcode = ids.find((i) => i.id_type.value === 'BARCODE')?.value ?? '';
  assert.match(barcode, /^LIB\d{7}$/);
  assert.equal(barcode, formatIdentifier(domainRule, 1n), 'the number the page showed as next');

  // Reloaded, the page shows what was saved.
  await page.reload();
  await page.getByRole('heading', { name: 'Identifiers', level: 1 }).waitFor();
  await page.getByRole('option', { name: /Barcode/ }).first().waitFor({ state: 'attached' });
  assert.equal(await page.getByRole('group', { name: 'Public users' }).getByLabel('Prefix').inputValue(), 'LIB');
  assert.equal(await page.getByRole('combobox', { name: 'Public users' }).inputValue(), 'BARCODE');
  // The page's previews took no number: the next is the one after the patron's.
  await next.getByText(formatIdentifier(domainRule, 2n)).waitFor();
  await assertAccessible(page, 'Identifiers');
  await context.close();
});

test('passwords: a minimum below the floor is refused at its field; 12 is saved, and the login pages hint says 12', async () => {
  const { context, page } = await signIn(zone, 'sysadmin', '/settings/security');
  await page.getByRole('heading', { name: 'Passwords and sessions', level: 1 }).waitFor();
  await page.getByRole('heading', { name: new RegExp(`Network`) }).waitFor();
  await assertAccessible(page, 'Passwords and sessions');
  const sent = patches(page);
  const policy = page.getByRole('form', { name: 'Password policy and lockout' });
  await policy.getByLabel('Minimum length').fill('6');
  await policy.getByRole('button', { name: 'Save' }).click();
  const error = page.locator('#password_min_length-error');
  await error.waitFor();
  assert.match(await error.innerText(), /8 to 256/);
  assert.equal(await policy.getByLabel('Minimum length').getAttribute('aria-invalid'), 'true');
  assert.equal((await settingsOf(zone, 'institution')).password_min_length, 8);

  await policy.getByLabel('Minimum length').fill('12');
  await policy.getByRole('checkbox', { name: 'A digit' }).check();
  await policy.getByLabel('Lockout (minutes)').fill('45');
  await policy.getByRole('button', { name: 'Save' }).click();
  await policy.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual(sent.at(-1), { password_min_length: 12, password_required_classes: ['digit'], login_lock_minutes: 45 });
  const stored = await settingsOf(zone, 'institution');
  assert.deepEqual(
    [stored.password_min_length, stored.password_required_classes, stored.login_lock_minutes, stored.login_max_failures],
    [12, ['digit'], 45, 15],
  );

  // The network zone's administrator changes the network's settings; a bad address is refused at its field.
  const network = page.getByRole('form', { name: /^Network/ });
  await network.getByLabel('Named-user licence').fill('500');
  await network.getByLabel('Break-glass notices to').fill('office@example.org\nnot an address');
  await network.getByRole('button', { name: 'Save network settings' }).click();
  const bgError = page.locator('#break_glass_notify-error');
  await bgError.waitFor();
  assert.match(await bgError.innerText(), /e-mail address/);
  assert.equal((await settingsOf(zone, 'network')).named_user_license, null);
  await assertAccessible(page, 'Passwords and sessions, refused');
  await network.getByLabel('Break-glass notices to').fill('office@example.org');
  await network.getByRole('button', { name: 'Save network settings' }).click();
  await network.getByRole('status').getByText('Saved.').waitFor();
  assert.deepEqual(sent.at(-1), { named_user_license: 500, break_glass_notify: ['office@example.org'] });
  const net = await settingsOf(zone, 'network');
  assert.deepEqual([net.named_user_license, net.break_glass_notify], [500, ['office@example.org']]);

  // The login pages' hint follows the saved policy.
  await page.goto(`${base}/auth/${zone.code}/change-password`);
  assert.match(await page.locator('#hint').innerText(), /^At least 12 characters long, with a digit;/);
  await context.close();
});

test("a member institution's administrator reads the network's settings but has nothing to change them with", async () => {
  const { context, page } = await signIn(member, 'memberadmin', '/settings/security');
  const network = page.getByRole('form', { name: /^Network/ });
  await network.getByText(/Set by the administrators of the network zone/).waitFor();
  assert.equal(await network.getByRole('button').count(), 0);
  assert.equal(await network.getByRole('textbox').count(), 0);
  await assertAccessible(page, 'Passwords and sessions, network member');
  await context.close();
});

test('a desk operator sees no Settings entries, and the settings pages say not available', async () => {
  const { context, page } = await signIn(zone, 'desk', '/users');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('heading', { name: 'Settings' }).count(), 0);
  assert.equal(await nav.getByRole('link', { name: /Identifiers|Passwords/ }).count(), 0);
  for (const path of ['/settings/identifiers', '/settings/security']) {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
  }
  await context.close();
});
