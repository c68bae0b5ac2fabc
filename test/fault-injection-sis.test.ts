// A SIS load in `carrel serve` (a child process, as in production) while PostgreSQL terminates
// the server's connections, once while the load scans the file and once while it applies
// batches. Each cut is aimed: a lock held by the test stops the load on a statement (the scan's
// insert into job_seen_key, then a batch's read of app_user), and the connections are terminated
// while it waits. Promises: the server stays up; the job goes back to the queue after each cut
// and ends succeeded at attempt 3; every record is applied exactly once (users, one audit event
// each); the load's spool folder is gone. Then a full file with deactivate-missing is cut while
// it deactivates the users the file left out. PostgreSQL only (PGlite has no connections to cut).
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { almaXml, campusUser, range } from './helpers/campus-file.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';
import { saboteur, waitFor, type DbSaboteur } from './helpers/faults.js';

const skip = ENGINE !== 'postgres' ? 'PGlite has no connections to terminate' : false;
const root = new URL('..', import.meta.url).pathname;
const N = 4000;
const BATCH = 100;
const work = mkdtempSync(join(tmpdir(), 'carrel-faults-'));
const dataDir = join(work, 'data');
let testDb: TestDb;
let sab: DbSaboteur;
let key: string;
let institutionId: string;
let child: ChildProcessWithoutNullStreams | undefined;
let out = '';
const observers: pg.Client[] = [];
let base = '';
let observer: pg.Client;
let observerPid: number;
let locker: pg.Client;
let lockerPid: number;

/** A connection of the test's own to the test database (left alone by the terminations). */
async function connection(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: testDb.url });
  await client.connect();
  observers.push(client);
  return { client, pid: (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid };
}

before(async () => {
  if (skip) return;
  testDb = await createTestDb({ migrate: false });
  await testDb.db.close();
  const app = await createApp(loadConfig({}, { logLevel: 'silent', dataDir, databaseUrl: testDb.url }));
  try {
    const inst = await app.services.institutions.create({ code: '01FAULT', name: 'Fault University' });
    institutionId = inst.id;
    await app.services.profiles.create({ kind: 'system', label: 'test' }, inst.id, { code: 'CAMPUS', matchBy: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' });
    key = (await app.services.apiKeys.create(inst.id, { readOnly: false, label: 'test' })).key;
  } finally {
    await app.close();
  }
  sab = await saboteur(testDb.url!);
});

after(async () => {
  if (skip) return rmSync(work, { recursive: true, force: true });
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
  }
  for (const c of observers) await c.end().catch(() => {});
  await sab.close();
  await testDb.drop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

type JobRow = { status: string; attempts: number; records_read: number; total: number | null; error: string | null; phase: string | null };

const alive = () => assert.equal(child?.exitCode, null, `carrel serve exited:\n${out}`);
const jobRow = async (id: string) =>
  (await observer.query<JobRow>(
    `SELECT status, attempts, (counters->>'read')::int AS records_read, total, error, checkpoint->>'phase' AS phase FROM job WHERE id = $1`, [id])).rows[0]!;

async function upload(xml: string, query = ''): Promise<string> {
  const res = await fetch(`${base}/api/v1/integration-profiles/CAMPUS/imports${query}`, {
    method: 'POST',
    headers: { authorization: `apikey ${key}`, accept: 'application/json', 'content-type': 'application/xml' },
    body: xml,
  });
  const body = (await res.json()) as { id: string };
  assert.equal(res.status, 202, JSON.stringify(body));
  return body.id;
}

/**
 * Locks `table`, runs `meanwhile` (an upload), waits until a statement of the server whose text
 * contains `like` waits for the lock, runs `check`, then terminates the server's connections
 * (not the test's own) and lets go.
 */
async function cutWhileWaitingOn(table: string, o: { like?: string; meanwhile?: () => Promise<void>; check?: () => Promise<void> } = {}) {
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  try {
    await o.meanwhile?.();
    await waitFor(`the server to wait for ${table}`, async () => {
      alive();
      return (await observer.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1 AND query LIKE '%' || $2 || '%'`,
        [lockerPid, o.like ?? table],
      )).rows[0]!.n > 0;
    }, 30_000, 10);
    await o.check?.();
    assert.ok((await sab.terminate([observerPid, lockerPid])) > 0);
  } finally {
    await locker.query('ROLLBACK');
  }
}

async function ended(id: string): Promise<JobRow> {
  return waitFor('the job to end', async () => {
    alive();
    const j = await jobRow(id);
    return j.status !== 'running' && j.status !== 'queued' ? j : undefined;
  }, 60_000, 100);
}

test('a load in carrel serve survives connections terminated in its scan and in its apply phase, and ends exactly once', { skip, timeout: 120_000 }, async () => {
  const env = { ...process.env, DATABASE_URL: testDb.url!, CARREL_DATA_DIR: dataDir, LOG_LEVEL: 'warn', CARREL_SIS_BATCH_SIZE: String(BATCH), CARREL_WORKER_POLL_MS: '100' };
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0'], { cwd: root, env });
  child = proc;
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  base = await waitFor('carrel serve to listen', () => (alive(), /serving on (http:\/\/\S+)/.exec(out)?.[1]), 60_000, 100);
  // The worker's first idle round (housekeeping on job tables) is over before anything is locked.
  await new Promise((r) => setTimeout(r, 1_000));
  ({ client: observer, pid: observerPid } = await connection());
  ({ client: locker, pid: lockerPid } = await connection());

  // Cut 1: the scan (pass one) waits on job_seen_key, locked before the upload.
  let jobId = '';
  await cutWhileWaitingOn('job_seen_key', {
    meanwhile: async () => {
      jobId = await upload(almaXml(range(0, N, (i) => campusUser(i))));
    },
    check: async () => assert.equal((await jobRow(jobId)).total, null, 'the cut is in the scan'),
  });
  await waitFor('the job to be back in the queue and claimed again', async () => (alive(), (await jobRow(jobId)).attempts >= 2), 30_000);

  // Cut 2: a few batches into pass two, a batch waits on app_user.
  await waitFor('the second attempt to apply batches', async () => (alive(), (await jobRow(jobId)).records_read >= 3 * BATCH), 60_000, 20);
  assert.ok((await jobRow(jobId)).records_read < N, 'the load was still applying');
  await cutWhileWaitingOn('app_user');

  const done = await ended(jobId);
  assert.equal(done.status, 'succeeded', `${JSON.stringify(done)}\n${out}`);
  assert.equal(done.attempts, 3, 'one attempt per cut, and one that finished');

  const counts = (await observer.query<{ users: number; audit: number; audited_users: number; per_user_max: number }>(
    `SELECT (SELECT count(*)::int FROM app_user WHERE institution_id = $1) AS users,
            (SELECT count(*)::int FROM audit_event WHERE context->>'jobId' = $2) AS audit,
            (SELECT count(DISTINCT entity_id)::int FROM audit_event WHERE context->>'jobId' = $2) AS audited_users,
            (SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM audit_event WHERE context->>'jobId' = $2 GROUP BY entity_id) x) AS per_user_max`,
    [institutionId, jobId],
  )).rows[0]!;
  assert.deepEqual(counts, { users: N, audit: N, audited_users: N, per_user_max: 1 }, 'every record applied exactly once');
  const counters = (await observer.query(`SELECT (counters->>'read')::int AS records_read, (counters->>'created')::int AS created, (counters->>'updated')::int AS updated,
      (counters->>'failed')::int AS failed FROM job WHERE id = $1`, [jobId])).rows[0];
  assert.deepEqual(counters, { records_read: N, created: N, updated: 0, failed: 0 });
  assert.deepEqual(readdirSync(join(dataDir, 'spool')), [], 'no spool left behind');
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('deactivating the users a full file leaves out resumes after a cut, each user deactivated once', { skip, timeout: 120_000 }, async () => {
  assert.ok(base, 'the server of the previous test is running');
  const KEEP = 200;
  const jobId = await upload(almaXml(range(0, KEEP, (i) => campusUser(i))), '?deactivate_missing=true');
  await waitFor('the deactivation phase', async () => (alive(), (await jobRow(jobId)).phase === 'deactivate'), 60_000, 5);
  // The job table locked between two deactivation batches: the next batch waits for its job row.
  await cutWhileWaitingOn('job', { like: 'SELECT cancel_requested FROM job' });

  const done = await ended(jobId);
  assert.equal(done.status, 'succeeded', `${JSON.stringify(done)}\n${out}`);
  assert.equal(done.attempts, 2);
  alive();
  const counts = (await observer.query(
    `SELECT (SELECT count(*)::int FROM app_user WHERE institution_id = $1 AND status = 'INACTIVE') AS inactive,
            (SELECT count(*)::int FROM audit_event WHERE context->>'jobId' = $2) AS audit,
            (SELECT count(DISTINCT entity_id)::int FROM audit_event WHERE context->>'jobId' = $2) AS audited_users`,
    [institutionId, jobId],
  )).rows[0];
  assert.deepEqual(counts, { inactive: N - KEEP, audit: N - KEEP, audited_users: N - KEEP }, 'each missing user deactivated once');
  assert.deepEqual(readdirSync(join(dataDir, 'spool')), [], 'no spool left behind');
});
