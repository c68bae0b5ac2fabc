// A load's work folder (a copy of the file and its spool: patron data) lives under
// <dataDir>/spool while the load runs, and nothing of it outlives the load: removed when the
// load succeeds, is refused or is cancelled; left by a process killed with SIGKILL and removed
// by the next process to start; never removed from under a live process.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createWorker } from '../src/domain/jobs/worker.js';
import { createTestContext } from './helpers/app.js';
import { almaXml, campusUser, range, writeXmlZip } from './helpers/campus-file.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';
import { waitFor } from './helpers/faults.js';
import { api } from './helpers/sis.js';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'carrel-spool-'));
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
  rmSync(work, { recursive: true, force: true });
});

/** The pid of a process that has just ended. */
function deadPid(): number {
  const res = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(res.stdout);
}

test('at start, the work folders of dead processes are removed and a live process\'s are kept', async () => {
  const dataDir = join(work, 'sweep');
  const spool = join(dataDir, 'spool');
  const dead = join(spool, `job-${deadPid()}-abc123`);
  const live = join(spool, `job-${process.ppid}-def456`); // the test runner: alive
  const mine = join(spool, `job-${process.pid}-old999`); // this pid in an earlier life (a restarted container)
  const other = join(spool, 'not-a-work-folder');
  for (const dir of [dead, live, mine, other]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'records.jsonl'), '{"n":1}\n');
  }
  const testDb = await createTestDb();
  cleanups.push(() => testDb.drop().catch(() => {}));
  const app = await createApp(loadConfig({}, { logLevel: 'silent', dataDir }), { db: testDb.db, migrate: false });
  try {
    assert.equal(existsSync(dead), false, 'a dead process\'s folder is swept');
    assert.equal(existsSync(mine), false, 'a folder of this pid that this process does not hold is swept');
    assert.equal(existsSync(live), true, 'a live process\'s folder is kept');
    assert.equal(existsSync(other), true, 'what is not a work folder is left alone');
    // A long-running server sweeps again in its worker's housekeeping (the first idle round, then hourly).
    const later = join(spool, `job-${deadPid()}-ghi789`);
    mkdirSync(later);
    await app.workerIdle();
    assert.equal(existsSync(later), false, 'swept by the worker\'s housekeeping');
    assert.equal(existsSync(live), true);
  } finally {
    await app.close();
  }
});

test('a load\'s work folder is under <dataDir>/spool while it runs, and gone after success, refusal and cancellation', async () => {
  const dataDir = join(work, 'loads');
  const spool = join(dataDir, 'spool');
  const ctx = await createTestContext({ config: { dataDir, sisBatchSize: 100 } });
  cleanups.push(() => ctx.close());
  const inst = await ctx.institution();
  const a = api(ctx.server, inst.key);
  assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' })).status, 201);
  const worker = createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds });
  const folders = () => (existsSync(spool) ? readdirSync(spool) : []);

  // Succeeded: the folder is there during the load (seen at each committed batch), gone after.
  const ok = await a.upload('CAMPUS', almaXml(range(0, 500, (i) => campusUser(i))), 'application/xml');
  assert.equal(ok.status, 202);
  const seen = new Set<string>();
  await worker.runJobById(ok.body.id, () => {
    for (const f of folders()) seen.add(f);
  });
  assert.equal((await a.job(ok.body.id)).status, 'succeeded');
  assert.equal(seen.size, 1, `one work folder during the load: ${[...seen].join(', ')}`);
  assert.match([...seen][0]!, new RegExp(`^job-${process.pid}-`));
  assert.deepEqual(folders(), []);

  // Refused (status failed): a file that is not XML.
  const bad = await a.upload('CAMPUS', '<users><user><primary_id>x</user></users>', 'application/xml');
  await worker.runJobById(bad.body.id);
  const refused = await a.job(bad.body.id);
  assert.equal(refused.status, 'failed');
  assert.deepEqual(folders(), []);

  // Cancelled mid-load.
  const big = await a.upload('CAMPUS', almaXml(range(1000, 1600, (i) => campusUser(i))), 'application/xml');
  let cancelled = false;
  await worker.runJobById(big.body.id, async (job) => {
    if (!cancelled && (job.counters.read ?? 0) > 0) {
      cancelled = true;
      await ctx.app.services.jobs.cancel({ kind: 'system', label: 'test' }, inst.id, big.body.id);
    }
  });
  assert.equal((await a.job(big.body.id)).status, 'cancelled');
  assert.deepEqual(folders(), []);
});

test('carrel import killed with SIGKILL leaves its work folder, and the next start removes it', { timeout: 120_000 }, async () => {
  const dataDir = join(work, 'killed');
  const spool = join(dataDir, 'spool');
  let testDb: TestDb | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn', CARREL_SIS_BATCH_SIZE: '100' };
  if (ENGINE === 'postgres') {
    testDb = await createTestDb({ migrate: false });
    await testDb.db.close();
    env.DATABASE_URL = testDb.url!;
    cleanups.push(() => testDb!.drop().catch(() => {}));
  }
  const open = () => createApp(loadConfig({}, { logLevel: 'silent', dataDir, databaseUrl: testDb?.url }));
  const setup = await open();
  try {
    const inst = await setup.services.institutions.create({ code: '01SPOOL', name: 'Spool University' });
    await setup.services.profiles.create({ kind: 'system', label: 'test' }, inst.id, { code: 'CAMPUS', matchBy: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' });
  } finally {
    await setup.close();
  }
  const file = join(work, 'campus.zip');
  await writeXmlZip(file, 3000, (i) => campusUser(i));

  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'import', file, '--institution', '01SPOOL', '--profile', 'CAMPUS'], { cwd: root, env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  const prefix = `job-${child.pid}-`;
  let folder: string;
  try {
    // Killed while its spool is being written.
    folder = await waitFor('the import\'s work folder with its spool', () => {
      assert.equal(child.exitCode, null, `the import ended before it was killed:\n${out}`);
      const f = (existsSync(spool) ? readdirSync(spool) : []).find((n) => n.startsWith(prefix));
      return f && existsSync(join(spool, f, 'records.jsonl')) ? f : undefined;
    }, 60_000, 10);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  assert.equal(existsSync(join(spool, folder)), true, 'SIGKILL leaves the folder behind');

  const next = await open();
  try {
    assert.deepEqual(readdirSync(spool), [], 'the next start removed it');
  } finally {
    await next.close();
  }
});
