// Crash safety: `carrel import` of a 10,000-user file in a child process is killed with SIGKILL
// mid-load (after its first progress output), twice; running the same command again resumes
// the unfinished job where its last batch committed. In the end exactly the file's users exist,
// with the right data, no duplicate, and exactly one audit event each. On PGlite the child
// uses a data directory (one process at a time may open it); on PostgreSQL a new database.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { campusUser, primaryIdOf, univId, writeXmlZip } from './helpers/campus-file.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';

const root = new URL('..', import.meta.url).pathname;
const N = 10_000;
const work = mkdtempSync(join(tmpdir(), 'carrel-crash-'));
const file = join(work, 'campus.zip');
let env: NodeJS.ProcessEnv;
let testDb: TestDb | undefined;

async function openApp() {
  return createApp(loadConfig({}, { logLevel: 'silent', dataDir: join(work, 'data'), databaseUrl: testDb?.url }));
}

before(async () => {
  env = { ...process.env, CARREL_DATA_DIR: join(work, 'data'), DATABASE_URL: '', LOG_LEVEL: 'warn', CARREL_SIS_BATCH_SIZE: '250' };
  if (ENGINE === 'postgres') {
    testDb = await createTestDb({ migrate: false });
    await testDb.db.close();
    env.DATABASE_URL = testDb.url!;
  }
  const app = await openApp();
  try {
    const inst = await app.services.institutions.create({ code: '01CRASH', name: 'Crash University' });
    await app.services.profiles.create({ kind: 'system', label: 'test' }, inst.id, { code: 'CAMPUS', matchBy: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' });
  } finally {
    await app.close();
  }
  await writeXmlZip(file, N, (i) => campusUser(i));
});
after(async () => {
  await testDb?.drop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

const importOf = (f: string) => ['--import', 'tsx', 'src/cli/main.ts', 'import', f, '--institution', '01CRASH', '--profile', 'CAMPUS'];
const IMPORT = importOf(file);

/** Runs the import; kills it with SIGKILL once it has committed at least one more batch than `after`. */
function importKilledAfterProgress(afterRecords: number, args = IMPORT): Promise<{ killedAt: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env });
    let out = '';
    let killedAt: number | null = null;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (killedAt !== null) return;
      const done = [...out.matchAll(/\| \d+% (\d+)\/10000 records/g)].map((m) => Number(m[1]));
      const progress = Math.max(0, ...done);
      if (progress > afterRecords) {
        killedAt = progress;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', () => resolve({ killedAt, out }));
  });
}

test('an import killed twice mid-load resumes each time and ends with exactly the file\'s users', async () => {
  const first = await importKilledAfterProgress(0);
  assert.ok(first.killedAt !== null, `the first run was not killed mid-load:\n${first.out}`);
  assert.match(first.out, /^job [0-9a-f-]{36}$/m);
  const jobId = /^job ([0-9a-f-]{36})$/m.exec(first.out)![1]!;

  const second = await importKilledAfterProgress(first.killedAt!);
  assert.match(second.out, new RegExp(`resuming job ${jobId}: \\d+ of 10000 records already applied`), second.out);
  const resumedAt = Number(/: (\d+) of 10000 records already applied/.exec(second.out)![1]);
  assert.ok(resumedAt > 0 && resumedAt < N, `resumed after ${resumedAt}`);

  const last = spawnSync(process.execPath, IMPORT, { cwd: root, env, encoding: 'utf8' });
  assert.equal(last.status, 0, `${last.stdout}\n${last.stderr}`);
  assert.match(last.stdout, new RegExp(`job ${jobId} succeeded`));
  assert.match(last.stdout, /records 10000\/10000: created \d+, updated 0, unchanged 0, skipped 0, failed 0/);

  const app = await openApp();
  try {
    const db = app.db;
    const inst = await app.services.institutions.byCode('01CRASH');
    const counts = await db.one<{ users: number; ids: number; distinct_ids: number; distinct_values: number }>(
      `SELECT (SELECT count(*)::int FROM app_user WHERE institution_id = $1) AS users,
              (SELECT count(DISTINCT lower(primary_id))::int FROM app_user WHERE institution_id = $1) AS distinct_ids,
              (SELECT count(*)::int FROM user_identifier WHERE institution_id = $1) AS ids,
              (SELECT count(DISTINCT lower(value))::int FROM user_identifier WHERE institution_id = $1) AS distinct_values`,
      [inst.id],
    );
    assert.deepEqual(counts, { users: N, distinct_ids: N, ids: 2 * N, distinct_values: 2 * N });
    const job = await app.services.jobs.get({ kind: 'system', label: 't' }, inst.id, jobId);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.counters, { read: N, created: N, updated: 0, unchanged: 0, skipped: 0, failed: 0 });
    assert.ok(job.attempts >= 3, `attempts ${job.attempts}`);
    const jobs = await db.one<{ n: number }>('SELECT count(*)::int AS n FROM job WHERE institution_id = $1', [inst.id]);
    assert.equal(jobs.n, 1, 'the reruns resumed the job instead of starting others');
    const audit = await db.one<{ n: number; users: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT entity_id)::int AS users FROM audit_event WHERE context->>'jobId' = $1`, [jobId]);
    assert.deepEqual(audit, { n: N, users: N }, 'one audit event per created user, none lost or doubled');
    for (const i of [0, 1, first.killedAt! - 1, first.killedAt!, resumedAt, resumedAt + 1, N - 1]) {
      const u = await app.services.users.get({ kind: 'system', label: 't' }, inst.id, univId(i));
      const src = campusUser(i);
      assert.equal(u.primaryId, primaryIdOf(i));
      assert.equal(u.lastName, src.last_name);
      assert.equal(u.userGroup, src.user_group);
      assert.equal(u.contactInfo.emails[0]?.address, `s${i}@campus.example.edu`);
      assert.equal(u.version, 1);
    }
  } finally {
    await app.close();
  }
});

test('a re-sync killed mid-load, of a file half unchanged and half changed here and there, resumes and counts every record once', async () => {
  // Pass one spools the unchanged users as runs (a batch of them only counts, another mixes them
  // with updates); the resumed job must count each record once and update each changed user once.
  const changed = (i: number) => i >= N / 2 && i % 3 !== 0;
  const file2 = join(work, 'campus-2.zip');
  await writeXmlZip(file2, N, (i) => campusUser(i, { variant: changed(i) ? 1 : 0 }));
  const updates = Array.from({ length: N }, (_, i) => i).filter(changed).length;

  const first = await importKilledAfterProgress(0, importOf(file2));
  assert.ok(first.killedAt !== null, `the re-sync was not killed mid-load:\n${first.out}`);
  const jobId = /^job ([0-9a-f-]{36})$/m.exec(first.out)![1]!;
  const last = spawnSync(process.execPath, importOf(file2), { cwd: root, env, encoding: 'utf8' });
  assert.equal(last.status, 0, `${last.stdout}\n${last.stderr}`);
  assert.match(last.stdout, new RegExp(`resuming job ${jobId}: \\d+ of 10000 records already applied`));
  assert.match(last.stdout, new RegExp(`records 10000/10000: created 0, updated ${updates}, unchanged ${N - updates}, skipped 0, failed 0`));

  const app = await openApp();
  try {
    const inst = await app.services.institutions.byCode('01CRASH');
    const job = await app.services.jobs.get({ kind: 'system', label: 't' }, inst.id, jobId);
    assert.deepEqual(job.counters, { read: N, created: 0, updated: updates, unchanged: N - updates, skipped: 0, failed: 0 });
    const audit = await app.db.one<{ n: number; users: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT entity_id)::int AS users FROM audit_event WHERE context->>'jobId' = $1`, [jobId]);
    assert.deepEqual(audit, { n: updates, users: updates }, 'one audit event per changed user, none lost or doubled');
    for (const i of [0, N / 2 - 1, N / 2, N / 2 + 1, N / 2 + 2, N - 2, N - 1]) {
      const u = await app.services.users.get({ kind: 'system', label: 't' }, inst.id, univId(i));
      assert.equal(u.lastName, campusUser(i, { variant: changed(i) ? 1 : 0 }).last_name, `user ${i}`);
      assert.equal(u.version, changed(i) ? 2 : 1, `user ${i}`);
    }
  } finally {
    await app.close();
  }
});

test('carrel export writes the loaded users to a file (CSV)', () => {
  const out = join(work, 'export.csv');
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'export', '--institution', '01CRASH', '--format', 'csv', '--out', out], { cwd: root, env, encoding: 'utf8' });
  assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /exported 10000 users/);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, N + 1);
  assert.match(lines[0]!, /^primary_id,first_name/);
});
