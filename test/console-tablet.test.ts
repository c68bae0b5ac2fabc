// The staff console on a tablet, in a real browser against a real server on the test database: at
// 768x1024 (portrait) and 1024x768 (landscape) the main pages (Find users, a user's page, Register
// patron, SSO outage, Code tables) scroll only vertically, the navigation is reachable (behind an
// accessible menu button where the side navigation would crowd the page out), the controls a
// finger presses are at least 40 px high, and axe finds no serious violation. At 1280 px the
// side navigation stays as it was, with no menu button.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';

const PASSWORD = 'Console tablet pass 2026';
const TOUCH_PX = 40;

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let admin: { context: BrowserContext; page: Page };

before(async () => {
  web = await buildConsole();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: base, consoleDir: web.dir } });
  await ctx.server.listen({ port, host: '127.0.0.1' });
  const inst = await ctx.institution();
  const api = client(ctx.server, inst.key);
  const users: [string, Record<string, unknown>][] = [
    // A User Administrator who is also a General System Administrator: every page of the menu.
    ['uadmin', { password: PASSWORD, first_name: 'Ursula', last_name: 'Admin', user_role: [role('50', inst.code), role('26', inst.code)] }],
    ['ptolkien', { record_type: { value: 'PUBLIC' }, first_name: 'Priscilla', last_name: 'Tolkien-Featherstonehaugh', user_group: { value: 'UNDERGRAD' },
      user_identifier: [{ id_type: { value: 'BARCODE' }, value: '31234000555' }] }],
    ['ctolkien', { record_type: { value: 'PUBLIC' }, first_name: 'Christopher', last_name: 'Tolkien' }],
  ];
  for (const [id, extra] of users) {
    const res = await api.post('/users', staffUser(id, extra));
    assert.equal(res.statusCode, 200, res.body);
  }
  browser = await launchChromium();
  admin = await consoleSignIn(browser, base, inst.code, 'uadmin', PASSWORD);
});

after(async () => {
  await browser?.close();
  await ctx?.close();
  web?.remove();
});

const PAGES = [
  { name: 'Find users', path: '/users?q=tolk', ready: (p: Page) => p.getByRole('link', { name: /Tolkien/ }).first().waitFor() },
  { name: 'User page', path: '/users/ptolkien', ready: (p: Page) => p.getByRole('tab', { name: 'General' }).waitFor() },
  { name: 'Register patron', path: '/register', ready: (p: Page) => p.getByRole('heading', { name: 'Register patron' }).waitFor() },
  { name: 'SSO outage', path: '/outage', ready: (p: Page) => p.getByRole('heading', { name: 'SSO outage' }).waitFor() },
  { name: 'Code tables', path: '/settings/code-tables', ready: (p: Page) => p.getByRole('link', { name: 'UserGroups' }).waitFor() },
];

const VIEWPORTS = [
  { width: 768, height: 1024 },
  { width: 1024, height: 768 },
];

/** The document's width beyond the window, and the elements that stick out (for the message). */
function overflow(page: Page) {
  return page.evaluate(() => {
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > innerWidth + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} (${Math.round(e.getBoundingClientRect().right)})`);
    return { scrollWidth: document.scrollingElement!.scrollWidth, innerWidth, wide };
  });
}

/** Visible buttons, text inputs and selects lower than a fingertip. */
function smallControls(page: Page, min: number) {
  return page.evaluate((min) => {
    const controls = [...document.querySelectorAll('button, select, textarea, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), .side a')];
    return controls
      .filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden' && r.height < min - 0.5;
      })
      .map((e) => `${e.tagName.toLowerCase()} "${(e.textContent || e.getAttribute('aria-label') || e.id).trim().slice(0, 30)}" ${Math.round(e.getBoundingClientRect().height)} px`);
  }, min);
}

/** The navigation's links, through the menu button when the side navigation is folded away. */
async function reachNavigation(page: Page): Promise<'side' | 'menu'> {
  const nav = page.getByRole('navigation', { name: 'Console', includeHidden: true });
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await nav.getByRole('link', { name: 'Find users' }).isVisible()) {
    assert.equal(await menu.isVisible(), false, 'a menu button beside a visible side navigation');
    return 'side';
  }
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await menu.getAttribute('aria-controls'), await nav.getAttribute('id'));
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await nav.getByRole('link', { name: 'Register patron' }).waitFor();
  // Escape folds it again and gives the focus back to the button.
  await page.keyboard.press('Escape');
  assert.equal(await nav.getByRole('link', { name: 'Register patron' }).isVisible(), false);
  assert.equal(await menu.evaluate((b) => b === document.activeElement), true);
  return 'menu';
}

for (const viewport of VIEWPORTS) {
  test(`at ${viewport.width}x${viewport.height} the main pages fit the width, the navigation is reachable, controls are touch-sized, axe passes`, async () => {
    const { page } = admin;
    await page.setViewportSize(viewport);
    for (const p of PAGES) {
      await page.goto(`${base}${p.path}`);
      await p.ready(page);
      const o = await overflow(page);
      assert.ok(o.scrollWidth <= o.innerWidth, `${p.name}: the page scrolls sideways (${o.scrollWidth} > ${o.innerWidth}): ${o.wide.join(', ')}`);
      await reachNavigation(page);
      assert.deepEqual(await smallControls(page, TOUCH_PX), [], `${p.name}: controls under ${TOUCH_PX} px high`);
      await assertAccessible(page, `${p.name} at ${viewport.width} px`);
    }
  });
}

test('on a portrait tablet the menu opens the navigation, a link goes to its page and folds the menu', async () => {
  const { page } = admin;
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(`${base}/users`);
  const menu = page.getByRole('button', { name: 'Menu' });
  const nav = page.getByRole('navigation', { name: 'Console', includeHidden: true });
  await menu.click();
  await nav.getByRole('link', { name: 'SSO outage' }).click();
  await page.getByRole('heading', { name: 'SSO outage' }).waitFor();
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await nav.getByRole('link', { name: 'SSO outage' }).isVisible(), false);
  await assertAccessible(page, 'SSO outage, menu folded');
});

test('at 1280 px the side navigation shows as before, with no menu button', async () => {
  const { page } = admin;
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}/users`);
  await page.getByRole('heading', { name: 'Find users' }).waitFor();
  assert.equal(await reachNavigation(page), 'side');
  const box = await page.getByRole('navigation', { name: 'Console', includeHidden: true }).boundingBox();
  assert.ok(box && box.x === 0 && box.width > 150, `side navigation at ${JSON.stringify(box)}`);
});
