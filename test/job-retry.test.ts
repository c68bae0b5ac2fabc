// The worker's rule for a job whose attempt lost the database: back to the queue with a delay
// (1 s, then 2 s), the attempt counted, until max_attempts (3); any other error fails the job at
// once. carrel import's in-process run waits and tries again itself. Both engines: the lost
// connection is the seam's own DatabaseUnavailableError (the PostgreSQL-only tests in
// fault-injection*.test.ts cut real connections).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DatabaseUnavailableError, type Db } from '../src/db/database.js';
import { findJob, insertJob } from '../src/db/queries/jobs.js';
import type { JobHandler } from '../src/domain/jobs/worker.js';
import { createWorker } from '../src/domain/jobs/worker.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { waitFor } from './helpers/faults.js';
import { kindsOf } from './helpers/jobs.js';

let ctx: TestContext;
let db: Db;
let institutionId: string;
before(async () => {
  ctx = await createTestContext();
  db = ctx.app.db;
  institutionId = (await ctx.institution()).id;
});
after(() => ctx.close());

const lost = () => new DatabaseUnavailableError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
const newJob = (kind: string) => insertJob(db, { institutionId, kind, payload: {}, dryRun: false, createdBy: 'test' });
const secondsUntil = async (id: string) =>
  (await db.one<{ s: number }>('SELECT extract(epoch FROM run_after - now())::float8 AS s FROM job WHERE id = $1', [id])).s;

test('a job that loses the database is requeued with backoff, and fails only after max_attempts', async () => {
  let calls = 0;
  const handlers: Record<string, JobHandler> = { 'test.lost': async () => (calls++, Promise.reject(lost())) };
  const worker = createWorker({ db, kinds: kindsOf(handlers), log: () => {} });
  const job = await newJob('test.lost');

  assert.equal(await worker.runOnce(), true);
  let now = (await findJob(db, job.id))!;
  assert.equal(now.status, 'queued', 'back in the queue, not failed');
  assert.equal(now.attempts, 1);
  assert.match(now.error ?? '', /attempt 1 lost the database/);
  const first = await secondsUntil(job.id);
  assert.ok(first > 0 && first <= 1.01, `first delay ${first}`);
  assert.equal(await worker.runOnce(), false, 'not claimed before its delay');

  await waitFor('the second attempt', () => worker.runOnce(), 10_000);
  now = (await findJob(db, job.id))!;
  assert.equal(now.status, 'queued');
  assert.equal(now.attempts, 2);
  const second = await secondsUntil(job.id);
  assert.ok(second > 1 && second <= 2.01, `second delay ${second}`);

  await waitFor('the third attempt', () => worker.runOnce(), 10_000);
  now = (await findJob(db, job.id))!;
  assert.equal(now.status, 'failed');
  assert.equal(now.attempts, 3);
  assert.match(now.error ?? '', /gave up after 3 attempts; the last lost the database/);
  assert.equal(calls, 3);
});

test('any other error fails the job at its first attempt', async () => {
  const worker = createWorker({ db, kinds: kindsOf({ 'test.bug': async () => Promise.reject(new TypeError('a bug')) }), log: () => {} });
  const job = await newJob('test.bug');
  assert.equal(await worker.runOnce(), true);
  const now = (await findJob(db, job.id))!;
  assert.equal(now.status, 'failed');
  assert.equal(now.attempts, 1);
  assert.equal(now.error, 'a bug');
});

test('a job run in this process (carrel import) waits out its delay and tries again itself', async () => {
  let calls = 0;
  const handlers: Record<string, JobHandler> = {
    'test.flaky': async () => (++calls === 1 ? Promise.reject(lost()) : { status: 'succeeded', result: { calls } }),
  };
  const worker = createWorker({ db, kinds: kindsOf(handlers), log: () => {} });
  const job = await newJob('test.flaky');
  assert.ok(await worker.runJobById(job.id));
  const now = (await findJob(db, job.id))!;
  assert.equal(now.status, 'succeeded');
  assert.equal(now.attempts, 2);
  assert.deepEqual(now.result, { calls: 2 });
});
