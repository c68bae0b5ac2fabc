// The staff console built for a test (Vite, into a temporary folder): what `npm run build`
// writes to dist/web, without the rest of the build. About a second.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

export async function buildConsole(): Promise<{ dir: string; remove(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'carrel-web-'));
  const root = resolve(import.meta.dirname, '..', '..');
  await build({ configFile: join(root, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

// What a browser test file needs around the build: a port (the one free-port helper, kept with
// slapd's), one Chromium, signing in through the login page, and axe.
export { freePort } from './slapd.js';

export function launchChromium(): Promise<Browser> {
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: flags });
}

/** Opens the console at path with ?institution=, signs in on the login page and waits for the frame. */
export async function consoleSignIn(browser: Browser, base: string, institution: string, id: string, password: string, path = '/users') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${base}${path}?institution=${institution}`);
  await page.waitForURL(/\/auth\/.*\/login\?return=/);
  await page.getByLabel('User name or library card number').fill(id);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === path);
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link').first().waitFor();
  return { context, page };
}

export async function assertAccessible(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${what}: accessibility violations`);
}
