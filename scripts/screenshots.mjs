// `npm run screenshots`: pictures of the staff console's main pages for the README, taken from
// the built program (`npm run build` first; npm's script does) running the demo on a fresh
// embedded database. Chromium from the system (/usr/bin/chromium, or CHROMIUM_PATH), 1280 px wide.
//   node scripts/screenshots.mjs [--out docs/screenshots] [--base http://host:port --password P]
// With --base it photographs a running demo instead of starting one.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'docs', 'screenshots') }, base: { type: 'string' }, password: { type: 'string' } } });
const out = resolve(values.out);
mkdirSync(out, { recursive: true });

let child;
let dataDir;
let base = values.base;
let password = values.password;
if (!base) {
  dataDir = mkdtempSync(join(tmpdir(), 'carrel-shots-'));
  child = spawn(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'serve', '--demo', '--no-worker'], {
    env: { ...process.env, PORT: '0', CARREL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  const deadline = Date.now() + 180_000;
  while (!/serving on (http:\/\/\S+)/.test(text) || !/Demo staff user.*: \S+ \/ (\S+)/.test(text)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`carrel serve did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  base = /serving on (http:\/\/\S+)/.exec(text)[1];
  password = /Demo staff user.*: \S+ \/ (\S+)/.exec(text)[1];
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shot = async (name) => {
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
    console.log(`wrote ${join(out, `${name}.png`)}`);
  };
  await page.goto(`${base}/?institution=01DEMO_NORTH`);
  await page.getByLabel('User name or library card number').fill('nbackup_admin');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Find users' }).waitFor();
  await page.getByRole('searchbox', { name: 'Search' }).fill('smith');
  await page.getByRole('link', { name: 'Jane Smith' }).waitFor();
  await shot('find-users');
  await page.getByRole('link', { name: 'Jane Smith' }).click();
  await page.getByRole('tab', { name: 'General' }).waitFor();
  await shot('user-general');
  await page.getByRole('tab', { name: 'Roles' }).click();
  await page.getByRole('button', { name: 'Edit' }).click();
  await shot('user-roles-editing');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('tab', { name: 'History' }).click();
  await page.getByRole('table').waitFor();
  await shot('user-history');
  await page.getByRole('link', { name: 'Add staff user' }).click();
  await page.getByRole('heading', { name: 'Add staff user' }).waitFor();
  await shot('add-staff-user');
} finally {
  await browser.close();
  if (child) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
