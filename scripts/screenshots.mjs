// `npm run screenshots`: pictures of the staff console's main pages for the README, taken from
// the built program (`npm run build` first; npm's script does) running the demo on a fresh
// embedded database. Chromium from the system (/usr/bin/chromium, or CHROMIUM_PATH), 1280 px wide, and
// three at tablet sizes (768x1024, 1024x768).
//   node scripts/screenshots.mjs [--out docs/screenshots] [--base http://host:port --password P]
// With --base it photographs a running demo instead of starting one.
import { spawn, spawnSync } from 'node:child_process';
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
let demoKey;
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const env = () => ({ ...process.env, PORT: '0', CARREL_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });

async function serve() {
  child = spawn(process.execPath, [cli, 'serve', '--demo'], { env: env(), stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  const deadline = Date.now() + 180_000;
  while (!/serving on (http:\/\/\S+)/.test(text) || !/Demo staff user.*: \S+ \/ (\S+)/.test(text) || !/01DEMO_NORTH +\S+/.test(text)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`carrel serve did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  base = /serving on (http:\/\/\S+)/.exec(text)[1];
  password = /Demo staff user.*: \S+ \/ (\S+)/.exec(text)[1];
  demoKey = /01DEMO_NORTH +(\S+)/.exec(text)[1];
}

async function stop() {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

if (!base) {
  dataDir = mkdtempSync(join(tmpdir(), 'carrel-shots-'));
  // The first start seeds the demo; between starts, North gets a card-number rule (the CLI, as an
  // administrator would), so desk registration shows a generated barcode.
  await serve();
  await stop();
  const rule = spawnSync(process.execPath, [cli, 'institution', 'settings', '01DEMO_NORTH', '--generate-identifier', 'PUBLIC=BARCODE:2:8:luhn'], { env: env(), encoding: 'utf8' });
  if (rule.status !== 0) throw new Error(`institution settings failed:\n${rule.stderr}`);
  await serve();
  // A General System Administrator for the settings pages, and EXTERNAL staff for the outage page.
  const almaws = (body) =>
    fetch(`${base}/almaws/v1/users`, { method: 'POST', headers: { authorization: `apikey ${demoKey}`, accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const staff = (id, first, last, extra) => ({
    record_type: { value: 'STAFF' }, primary_id: id, first_name: first, last_name: last, status: { value: 'ACTIVE' }, user_group: { value: 'LIBSTAFF' },
    contact_info: { email: [{ email_address: `${id}@north.example.edu`, email_type: [{ value: 'work' }], preferred: true }] }, ...extra,
  });
  for (const body of [
    staff('nsysadmin', 'Sam', 'Sysadmin', { account_type: { value: 'INTERNAL' }, password, user_role: [{ role_type: { value: '26' }, scope: { value: '01DEMO_NORTH' }, status: { value: 'ACTIVE' } }] }),
    staff('ncirc01', 'Cora', 'Circulation', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }),
    staff('ncat02', 'Carl', 'Cataloguer', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }),
  ]) {
    const res = await almaws(body);
    if (!res.ok) throw new Error(`creating ${body.primary_id}: ${res.status} ${await res.text()}`);
  }
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
  // The list that answers "smith" (everyone's, before it, holds Jane Smith too).
  await page.locator('table[data-q="smith"]').waitFor();
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

  await page.getByRole('link', { name: 'Register patron' }).click();
  await page.getByRole('heading', { name: 'Register patron' }).waitFor();
  await page.getByLabel('First name').fill('Hedy');
  await page.getByLabel('Last name').fill('Lamarr');
  await page.getByLabel('E-mail').fill('hedy@example.org');
  await page.getByLabel('User group').selectOption('COMMUNITY');
  await shot('register-patron');
  await page.getByLabel('Last name').press('Enter');
  await page.getByRole('heading', { name: 'Patron registered' }).waitFor();
  await shot('patron-registered');

  await page.getByRole('link', { name: 'SSO outage' }).click();
  await page.getByRole('heading', { name: 'SSO outage' }).waitFor();
  await page.getByLabel(/^Users/).fill('ncirc01\nncat02');
  await page.getByRole('button', { name: 'Switch to local passwords' }).click();
  await page.getByText('Download temporary passwords (once)').waitFor();
  await shot('sso-outage');

  // Tablets: portrait, where the navigation folds behind the menu button, and landscape.
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(`${base}/users?q=smith`);
  await page.locator('table[data-q="smith"]').waitFor();
  await shot('tablet-find-users');
  await page.getByRole('button', { name: 'Menu' }).click();
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Register patron' }).waitFor();
  await shot('tablet-menu');
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.goto(`${base}/users?q=smith`);
  await page.getByRole('link', { name: 'Jane Smith' }).click();
  await page.getByRole('tab', { name: 'General' }).waitFor();
  await shot('tablet-user-landscape');
  await page.setViewportSize({ width: 1280, height: 800 });

  if (!values.base) {
    // Settings need config:manage: the General System Administrator made above.
    const admin = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await admin.goto(`${base}/settings/code-tables?institution=01DEMO_NORTH`);
    await admin.getByLabel('User name or library card number').fill('nsysadmin');
    await admin.getByLabel('Password', { exact: true }).fill(password);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.getByRole('link', { name: 'UserGroups' }).click();
    await admin.getByRole('button', { name: 'Edit' }).click();
    await admin.screenshot({ path: join(out, 'code-table-editing.png') });
    console.log(`wrote ${join(out, 'code-table-editing.png')}`);
    await admin.goto(`${base}/settings/login-methods/new`);
    await admin.getByLabel('Code').fill('campus');
    await admin.getByLabel('Button label').fill('Campus account');
    await admin.getByLabel('Matches on').fill('UNIV_ID');
    await admin.getByLabel('Settings (JSON)').fill(JSON.stringify({ issuer: 'https://idp.north.example.edu', client_id: 'carrel', client_secret: 'demo-secret' }, null, 2));
    await admin.getByRole('button', { name: 'Create login method' }).click();
    await admin.getByRole('heading', { name: 'campus', exact: true }).waitFor();
    await admin.screenshot({ path: join(out, 'login-method.png') });
    console.log(`wrote ${join(out, 'login-method.png')}`);
  }
} finally {
  await browser.close();
  if (child) {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
