// The console's SIS pages in a real browser against a real server with a job worker running: a
// User Administrator creates an integration profile (a refusal shown at its field), dry-runs a
// campus file with a bad record (the changes shown a page at a time, nothing written), loads it
// for real (counts as the API has them, the users there, the error report naming the bad record),
// and cancels a queued load; deletes the profile after confirming (refused while a load of it is
// queued). A desk operator sees no SIS entry. axe on every page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Download, Page } from 'playwright-core';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { role } from './helpers/browser.js';
import { almaXml, campusUser, primaryIdOf, range, univId } from './helpers/campus-file.js';
import { assertAccessible, buildConsole, consoleSignIn, freePort, launchChromium } from './helpers/console.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';
import { api as sisApi, parseCsvLine } from './helpers/sis.js';
import { createWorker } from '../src/domain/jobs/worker.js';

const PASSWORD = 'Console SIS pass 2026';
const GOOD = 12;
/** Records on one page of a dry run's changes (web/src/pages/SisJob.tsx). */
const PAGE = 10;
const BAD = 99;
// Twelve campus users and one whose user group does not exist: more changes than one page shows.
const FILE = Buffer.from(almaXml([...range(0, GOOD, (i) => campusUser(i)), campusUser(BAD, { group: 'ASTRONAUT' })]));

let ctx: TestContext;
let web: Awaited<ReturnType<typeof buildConsole>>;
let browser: Browser;
let base: string;
let code: string;
let api: ReturnType<typeof client>;
let sis: ReturnType<typeof sisApi>;
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
  sis = sisApi(ctx.server, inst.key);
  for (const [id, roleType] of [['uadmin', '50'], ['desk', '32']] as const) {
    const res = await api.post('/users', staffUser(id, { password: PASSWORD, user_role: [role(roleType, code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
  // The loads the pages start run here, as `carrel serve`'s worker would run them.
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

async function textOf(download: Download): Promise<string> {
  const stream = await download.createReadStream();
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** Uploads FILE from the profile page and answers the job page's job id. */
async function startLoad(page: Page, what: 'Dry run' | 'Load', file = { name: 'campus.xml', mimeType: 'application/xml', buffer: FILE }): Promise<string> {
  await page.getByLabel('SIS file').setInputFiles(file);
  await page.getByRole('radio', { name: new RegExp(`^${what}:`) }).check();
  await page.getByRole('button', { name: what === 'Dry run' ? 'Start dry run' : 'Start load' }).click();
  await page.waitForURL(/\/sis\/CAMPUS\/loads\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

/** A job's counters as the API has them (without its percent). */
const countsOf = (job: { progress: Record<string, number | null> }) => Object.fromEntries(Object.entries(job.progress).filter(([k]) => k !== 'percent'));

/** The counts table as shown, by counter. */
async function shownCounts(page: Page): Promise<Record<string, number>> {
  const cells = page.locator('table.counts td');
  const out: Record<string, number> = {};
  for (const cell of await cells.all()) out[(await cell.getAttribute('data-counter'))!] = Number(await cell.innerText());
  return out;
}

test('a User Administrator creates a profile, dry-runs a file (nothing written), loads it and downloads the error report', async () => {
  const { context, page } = await signIn('uadmin');
  const nav = page.getByRole('navigation', { name: 'Console' });
  await nav.getByRole('link', { name: 'SIS loads' }).click();
  await page.getByRole('heading', { name: 'SIS loads' }).waitFor();
  await page.getByText('No integration profiles yet.').waitFor();
  await assertAccessible(page, 'SIS loads');

  // A refusal is said at its field, and nothing is created.
  await page.getByRole('link', { name: 'New integration profile' }).click();
  await page.getByRole('heading', { name: 'New integration profile' }).waitFor();
  await assertAccessible(page, 'New integration profile');
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill('CAMPUS');
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Nightly campus feed');
  await page.getByLabel('Match users by').fill('SHOE_SIZE');
  await page.getByRole('button', { name: 'Create profile' }).click();
  await page.locator('#match_by-error').waitFor();
  assert.match(await page.locator('#match_by-error').innerText(), /match_by identifier type \(SHOE_SIZE\) is invalid/);
  assert.equal(await page.getByLabel('Match users by').getAttribute('aria-invalid'), 'true');
  assert.equal((await sis.json('GET', '/integration-profiles')).body.integration_profile.length, 0);
  await assertAccessible(page, 'New integration profile, refused');

  await page.getByLabel('Match users by').fill('UNIV_ID');
  await page.getByRole('button', { name: 'Create profile' }).click();
  await page.getByRole('heading', { name: 'Integration profile CAMPUS' }).waitFor();
  const created = (await sis.json('GET', '/integration-profiles/CAMPUS')).body;
  assert.deepEqual([created.name, created.match_by, created.mode, created.format], ['Nightly campus feed', 'UNIV_ID', 'synchronize', 'alma_xml']);
  await page.getByText('No loads yet.').waitFor();
  await assertAccessible(page, 'Integration profile');

  // A change is saved with the fields the form has.
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Campus feed');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  assert.equal((await sis.json('GET', '/integration-profiles/CAMPUS')).body.name, 'Campus feed');

  // A file of a type the load cannot read is refused at the file field.
  await page.getByLabel('SIS file').setInputFiles({ name: 'campus.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4') });
  await page.getByRole('button', { name: 'Start dry run' }).click();
  await page.locator('#sis_file-error').waitFor();
  assert.match(await page.locator('#sis_file-error').innerText(), /application\/pdf/);

  // The dry run: counts as the job has them, the changes a page at a time, nothing written.
  const dryId = await startLoad(page, 'Dry run');
  await page.getByRole('status').getByText('succeeded').waitFor();
  const dry = await sis.job(dryId);
  assert.equal(dry.dry_run, true);
  assert.deepEqual(await shownCounts(page), countsOf(dry));
  assert.deepEqual(countsOf(dry), { read: GOOD + 1, created: GOOD, updated: 0, unchanged: 0, skipped: 0, failed: 1 });
  const changes = page.getByRole('table', { name: 'Changes' });
  await changes.waitFor();
  const identifiersShown = () => changes.locator('tbody td.mono[rowspan]').allInnerTexts();
  assert.deepEqual(await identifiersShown(), [...Array(PAGE).keys()].map(univId));
  const firstChanges = (await sis.json('GET', `/jobs/${dryId}/changes?limit=1`)).body.change[0];
  const lastName = firstChanges.changes.lastName;
  assert.ok(lastName, JSON.stringify(firstChanges));
  await changes.getByRole('cell', { name: lastName.after, exact: true }).first().waitFor();
  await assertAccessible(page, 'Dry run');
  await page.getByRole('button', { name: 'Next' }).click();
  await changes.locator('tbody td.mono[rowspan]', { hasText: univId(GOOD - 1) }).waitFor();
  assert.deepEqual(await identifiersShown(), [...Array(GOOD - PAGE).keys()].map((i) => univId(PAGE + i)));
  assert.equal(await page.getByRole('button', { name: 'Next' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Previous' }).click();
  await changes.locator('tbody td.mono[rowspan]', { hasText: univId(0) }).waitFor();
  for (const i of [0, GOOD - 1]) assert.equal(await sis.almaUser(primaryIdOf(i)), undefined, 'a dry run writes nothing');

  // The real load, from the profile page, where the dry run is listed.
  await page.locator('.crumbs').getByRole('link', { name: 'CAMPUS' }).click();
  const recent = page.getByRole('table', { name: 'Recent loads' });
  await recent.getByRole('cell', { name: 'Dry run' }).waitFor();
  const loadId = await startLoad(page, 'Load');
  await page.getByRole('status').getByText('succeeded').waitFor();
  const job = await sis.job(loadId);
  assert.equal(job.dry_run, false);
  assert.deepEqual(await shownCounts(page), countsOf(job));
  assert.equal(job.progress.created, GOOD);
  assert.equal(job.progress.failed, 1);
  const bar = page.getByRole('progressbar', { name: /progress/ });
  assert.equal(Number(await bar.getAttribute('value')), job.total);
  assert.equal(Number(await bar.getAttribute('max')), job.total);
  for (const i of [0, GOOD - 1]) assert.equal((await sis.almaUser(primaryIdOf(i)))?.primary_id, primaryIdOf(i));
  assert.equal(await sis.almaUser(primaryIdOf(BAD)), undefined);
  assert.equal(await page.getByRole('table', { name: 'Changes' }).count(), 0, 'a real load has no diff');
  await assertAccessible(page, 'Load');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download the error report/ }).click()]);
  const rows = (await textOf(download)).trim().split(/\r?\n/).map(parseCsvLine);
  assert.deepEqual(rows[0], ['record_number', 'line', 'identifier', 'outcome', 'reason']);
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.equal(rows[1]![2], univId(BAD));
  assert.equal(rows[1]![3], 'failed');
  assert.match(rows[1]![4]!, /ASTRONAUT/);

  // Both loads are listed on the profile page, newest first, with a link to each.
  await page.locator('.crumbs').getByRole('link', { name: 'CAMPUS' }).click();
  await recent.getByRole('cell', { name: 'Load', exact: true }).waitFor();
  assert.deepEqual(await recent.locator('tbody tr td:nth-child(3)').allInnerTexts(), ['Load', 'Dry run']);
  await context.close();
});

test('a queued load is cancelled from its page', async () => {
  // No worker takes it: the load stays queued until cancelled.
  await worker.stop();
  const { context, page } = await signIn('uadmin', '/sis/CAMPUS');
  await page.getByRole('heading', { name: 'Integration profile CAMPUS' }).waitFor();
  const id = await startLoad(page, 'Load');
  await page.getByRole('status').getByText('queued').waitFor();
  await page.getByRole('button', { name: 'Cancel load' }).click();
  await page.getByRole('status').getByText('cancelled').waitFor();
  assert.equal((await sis.job(id)).status, 'cancelled');
  assert.equal(await page.getByRole('button', { name: 'Cancel load' }).count(), 0);
  await assertAccessible(page, 'Cancelled load');
  await context.close();
});

test('a profile is deleted after confirming, not while a load of it is queued, and the list says so', async () => {
  // The worker is still stopped (above): the load started here stays queued.
  const { context, page } = await signIn('uadmin', '/sis/CAMPUS');
  await page.getByRole('heading', { name: 'Integration profile CAMPUS' }).waitFor();
  const queued = await startLoad(page, 'Load');
  await page.locator('.crumbs').getByRole('link', { name: 'CAMPUS' }).click();
  await page.getByRole('heading', { name: 'Integration profile CAMPUS' }).waitFor();

  // Asked first: Cancel (focused, as Esc would) deletes nothing.
  await page.getByRole('button', { name: 'Delete profile' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete integration profile CAMPUS?' });
  await dialog.waitFor();
  await assertAccessible(page, 'Delete profile, asked');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await sis.json('GET', '/integration-profiles/CAMPUS')).status, 200);

  // Confirmed while the load is queued: the server's refusal is shown, and the profile stays.
  await page.getByRole('button', { name: 'Delete profile' }).click();
  await dialog.getByRole('button', { name: 'Delete profile' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), new RegExp(`load that is queued \\(job ${queued}\\)`));
  assert.equal((await sis.json('GET', '/integration-profiles/CAMPUS')).status, 200);
  assert.equal(page.url(), `${base}/sis/CAMPUS`);

  // Once the load is cancelled, deleting goes through and the list says so.
  assert.equal((await sis.json('POST', `/jobs/${queued}/cancel`)).status, 202);
  await page.getByRole('button', { name: 'Delete profile' }).click();
  await dialog.getByRole('button', { name: 'Delete profile' }).click();
  await page.waitForURL(`${base}/sis?deleted=CAMPUS`);
  await page.getByRole('status').getByText('Integration profile CAMPUS was deleted.').waitFor();
  await page.getByText('No integration profiles yet.').waitFor();
  assert.equal((await sis.json('GET', '/integration-profiles/CAMPUS')).status, 404);
  await assertAccessible(page, 'SIS loads, profile deleted');
  await context.close();
});

test('a desk operator sees no SIS loads, and the pages say not available', async () => {
  const { context, page } = await signIn('desk');
  const nav = page.getByRole('navigation', { name: 'Console' });
  assert.equal(await nav.getByRole('link', { name: 'SIS loads' }).count(), 0);
  for (const path of ['/sis', '/sis/new', '/sis/CAMPUS']) {
    await page.goto(`${base}${path}`);
    await page.getByRole('heading', { name: 'Not available' }).waitFor();
  }
  await context.close();
});
