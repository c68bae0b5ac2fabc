// The job queue is generic: a kind registered here, in the test ('test.count', with its own
// payload schema, counters and a permission SIS actors lack), goes through enqueue (refused for
// a bad payload, an unknown kind, or an actor without its permission), claim (a stored payload its
// schema refuses fails the job cleanly), progress, cancel and finish, and reads through
// /api/v1/jobs like an SIS job. SIS jobs keep their JSON. A database made by the migrations
// before counters became one JSON object keeps its jobs' counters.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Type } from 'typebox';
import { migrate } from '../src/db/migrate.js';
import { addJobCounters, findJob, insertJob } from '../src/db/queries/jobs.js';
import type { Actor } from '../src/domain/access/actor.js';
import { defineJobKind, type JobContext } from '../src/domain/jobs/job.js';
import { createWorker } from '../src/domain/jobs/worker.js';
import { AppError } from '../src/errors.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { createTestDb } from './helpers/db.js';
import { api } from './helpers/sis.js';

const MIGRATIONS = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

let ctx: TestContext;
let inst: { id: string; key: string; readOnlyKey: string };
/** What the handler saw of each run: its typed payload, and whether it was called at all. */
const runs: { n: number; from: number }[] = [];

const CountPayload = Type.Object({ n: Type.Integer({ minimum: 1, maximum: 100_000 }), label: Type.Optional(Type.String({ maxLength: 20 })) }, { additionalProperties: false });

// Counts to n, one unit per progress report, resuming after its checkpoint; stops when asked to.
const countKind = defineJobKind({
  kind: 'test.count',
  payload: CountPayload,
  permission: 'config:manage',
  counters: ['counted', 'skipped'],
  async handler(c: JobContext<{ n: number; label?: string }>) {
    const from = Number(c.job.checkpoint.at ?? 0);
    runs.push({ n: c.payload.n, from });
    for (let i = from + 1; i <= c.payload.n; i++) {
      const now = await c.report({ counters: { counted: i }, checkpoint: { at: i }, total: c.payload.n });
      if (now.cancelRequested) return { status: 'cancelled', result: { at: i } };
    }
    return { status: 'succeeded', result: { sum: (c.payload.n * (c.payload.n + 1)) / 2 } };
  },
});

const staff = (roleType: string): Actor => ({
  kind: 'staff', userId: '00000000-0000-0000-0000-000000000001', institutionId: inst.id, primaryId: 'librarian', roles: [{ roleType, scope: 'x' }], sessionId: 's',
});
// A General System Administrator holds config:manage; a User Administrator sis:manage but not config:manage.
const admin = () => staff('26');
const userAdmin = () => staff('50');

const refusal = (code: string, re?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof AppError, String(err));
  assert.equal(err.code, code);
  assert.equal(err.status, ({ NOT_FOUND: 404, JOB_NOT_CANCELLABLE: 409 } as Record<string, number>)[code] ?? 400);
  if (re) assert.match(err.message, re);
  return true;
};

before(async () => {
  ctx = await createTestContext();
  ctx.app.jobKinds.register(countKind);
  inst = await ctx.institution();
});
after(() => ctx.close());

describe('a kind of job registered by a test', () => {
  test('enqueue refuses an unknown kind, a payload its schema refuses, and an actor without its permission', async () => {
    const jobs = ctx.app.services.jobs;
    await assert.rejects(jobs.enqueue(admin(), inst.id, { kind: 'test.nope', payload: {} }), refusal('JOB_KIND_UNKNOWN', /no job kind test\.nope/));
    await assert.rejects(jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 'ten' } }), refusal('JOB_PAYLOAD_INVALID', /test\.count.*\/n must be integer/));
    await assert.rejects(jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 3, sql: 'drop' } }), refusal('JOB_PAYLOAD_INVALID', /additional properties \(sql\)/));
    await assert.rejects(jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: null }), refusal('JOB_PAYLOAD_INVALID'));
    await assert.rejects(jobs.enqueue(userAdmin(), inst.id, { kind: 'test.count', payload: { n: 3 } }), refusal('UNAUTHORIZED'));
    // The kind's permission is checked before its payload: no schema detail for someone who may not start it.
    await assert.rejects(jobs.enqueue(userAdmin(), inst.id, { kind: 'test.count', payload: { n: 'x' } }), refusal('UNAUTHORIZED'));
    const rows = await ctx.app.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM job WHERE kind LIKE 'test.%'`);
    assert.equal(rows.n, 0, 'nothing was enqueued');
  });

  test('claim, progress and finish: counters are the kind\'s, listeners see each report, the API shows them', async () => {
    const jobs = ctx.app.services.jobs;
    const job = await jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 5, label: 'five' } });
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.counters, { counted: 0, skipped: 0 });
    const seen: number[] = [];
    const worker = createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds });
    assert.ok(await worker.runJobById(job.id, (j) => void seen.push(j.counters.counted ?? -1)));
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.deepEqual(runs.at(-1), { n: 5, from: 0 });
    const done = await jobs.get(admin(), inst.id, job.id);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.counters, { counted: 5, skipped: 0 });
    assert.deepEqual(done.checkpoint, { at: 5 });
    assert.equal(done.total, 5);
    assert.deepEqual(done.result, { sum: 15 });
    assert.equal(done.lockedBy, null);

    // Read as any job: the kind's permission, its counters in the JSON.
    await assert.rejects(jobs.get(userAdmin(), inst.id, job.id), refusal('UNAUTHORIZED'));
    assert.ok(!(await jobs.list(userAdmin(), inst.id)).some((j) => j.id === job.id), 'listed only to who may read the kind');
    assert.ok((await jobs.list(admin(), inst.id, { kind: 'test.count' })).some((j) => j.id === job.id));
    const body = await api(ctx.server, inst.key).job(job.id);
    assert.equal(body.kind, 'test.count');
    assert.deepEqual(body.progress, { counted: 5, skipped: 0, percent: 100 });
    assert.equal(body.links.result, undefined, 'no result file for this kind');
    const ro = await ctx.server.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}`, headers: { authorization: `apikey ${inst.readOnlyKey}`, accept: 'application/json' } });
    assert.equal(ro.statusCode, 400, 'a read-only key reads no kind of job');
    assert.equal(ro.json().errorList.error[0].errorCode, 'UNAUTHORIZED');
  });

  test('cancel: a queued job at once; a running one at its next report, keeping what it counted', async () => {
    const jobs = ctx.app.services.jobs;
    const queued = await jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 3 } });
    assert.equal((await jobs.cancel(admin(), inst.id, queued.id)).status, 'cancelled');
    await assert.rejects(jobs.cancel(admin(), inst.id, queued.id), refusal('JOB_NOT_CANCELLABLE'));

    const job = await jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 1000 } });
    await assert.rejects(jobs.cancel(userAdmin(), inst.id, job.id), refusal('UNAUTHORIZED'));
    const worker = createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds });
    let asked = false;
    await worker.runJobById(job.id, async (j) => {
      if (!asked && (j.counters.counted ?? 0) >= 3) {
        asked = true;
        await jobs.cancel(admin(), inst.id, j.id);
      }
    });
    const now = (await findJob(ctx.app.db, job.id))!;
    assert.equal(now.status, 'cancelled');
    assert.equal(now.counters.counted, 4, 'stopped at the report after the cancel');
    assert.deepEqual(now.result, { at: 4 });
  });

  test('a job resumes after its checkpoint when its worker died (its lease ran out)', async () => {
    const job = await ctx.app.services.jobs.enqueue(admin(), inst.id, { kind: 'test.count', payload: { n: 4 } });
    // A worker that claimed it, reported twice, and died.
    await ctx.app.db.query(
      `UPDATE job SET status = 'running', locked_by = 'elsewhere:1:x', locked_until = now() - interval '1 second', attempts = 1,
         counters = '{"counted": 2, "skipped": 0}', checkpoint = '{"at": 2}' WHERE id = $1`,
      [job.id],
    );
    const worker = createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds });
    assert.equal(await worker.runOnce(), true);
    assert.deepEqual(runs.at(-1), { n: 4, from: 2 });
    const now = (await findJob(ctx.app.db, job.id))!;
    assert.equal(now.status, 'succeeded');
    assert.equal(now.attempts, 2);
    assert.deepEqual(now.counters, { counted: 4, skipped: 0 });
  });

  test('at claim, a stored payload its schema refuses, or a kind nobody registered, fails the job cleanly', async () => {
    const db = ctx.app.db;
    const before = runs.length;
    const bad = await insertJob(db, { institutionId: inst.id, kind: 'test.count', payload: { n: -1 }, dryRun: false, createdBy: 'test' });
    const worker = createWorker({ db, kinds: ctx.app.jobKinds });
    assert.equal(await worker.runOnce(), true);
    const failed = (await findJob(db, bad.id))!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /the payload does not match the test\.count schema: \/n must be >= 1/);
    assert.equal(runs.length, before, 'the handler never saw it');

    const stray = await insertJob(db, { institutionId: inst.id, kind: 'test.gone', payload: {}, dryRun: false, createdBy: 'test' });
    assert.equal(await worker.runOnce(), false, 'a worker claims only the kinds it knows');
    await worker.runJobById(stray.id);
    const gone = (await findJob(db, stray.id))!;
    assert.equal(gone.status, 'failed');
    assert.match(gone.error ?? '', /no handler for job kind test\.gone/);
    // Nobody was given its permission: it is as absent as a job that never was.
    await assert.rejects(ctx.app.services.jobs.get(admin(), inst.id, stray.id), refusal('NOT_FOUND'));
  });

  test('counters added by transactions side by side all count', async () => {
    const db = ctx.app.db;
    const job = await insertJob(db, { institutionId: inst.id, kind: 'test.count', payload: { n: 1 }, dryRun: false, createdBy: 'test', claimedBy: { workerId: 'w', leaseSeconds: 60 } });
    await Promise.all(Array.from({ length: 20 }, (_, i) =>
      db.transaction((tx) => addJobCounters(tx, job.id, 'w', i % 2 ? { counted: 1 } : { counted: 1, skipped: 2 }, 60)),
    ));
    assert.deepEqual((await findJob(db, job.id))!.counters, { counted: 20, skipped: 20 });
    assert.equal(await db.transaction((tx) => addJobCounters(tx, job.id, 'someone-else', { counted: 1 }, 60)), false, 'only the holder counts');
  });
});

test('SIS jobs keep their JSON: the six counters, the export its result link', async () => {
  const system: Actor = { kind: 'system', label: 'test' };
  const job = await ctx.app.services.sis.startExport(system, inst.id, { format: 'csv' });
  const body = await api(ctx.server, inst.key).job(job.id);
  assert.deepEqual(Object.keys(body.progress), ['read', 'created', 'updated', 'unchanged', 'skipped', 'failed', 'percent']);
  assert.equal(body.links.result, `/api/v1/jobs/${job.id}/result`);
  assert.deepEqual(body.filters, { format: 'csv', zip: false });
  // An export refused by the kind's schema at enqueue, even when a caller skips the service's own checks.
  await assert.rejects(
    ctx.app.services.jobs.enqueue(system, inst.id, { kind: 'sis.export', payload: { format: 'pdf', zip: false } }),
    refusal('JOB_PAYLOAD_INVALID', /sis\.export/),
  );
});

test("a database of the previous migrations keeps its jobs' counters", async () => {
  const { db, drop } = await createTestDb({ migrate: false });
  const old = `${mkdtempSync(join(tmpdir(), 'carrel-mig-'))}/`;
  try {
    cpSync(MIGRATIONS, old, { recursive: true, filter: (f) => !/000[5-9]_|00[1-9]\d_/.test(f) });
    await migrate(db, old);
    const i = await db.one<{ id: string }>(`INSERT INTO institution (code, name) VALUES ('OLD', 'Old') RETURNING id`);
    const j = await db.one<{ id: string }>(
      `INSERT INTO job (institution_id, kind, status, payload, total, records_read, created, updated, unchanged, skipped, failed, finished_at)
       VALUES ($1, 'sis.load', 'succeeded', '{}', 10, 10, 4, 3, 1, 1, 1, now()) RETURNING id`,
      [i.id],
    );
    const { applied } = await migrate(db, MIGRATIONS);
    assert.ok(applied.includes('0005_job_counters.sql'), applied.join());
    const job = (await findJob(db, j.id))!;
    assert.deepEqual(job.counters, { read: 10, created: 4, updated: 3, unchanged: 1, skipped: 1, failed: 1 });
    assert.equal(job.total, 10);
  } finally {
    rmSync(old, { recursive: true, force: true });
    await drop();
  }
});
