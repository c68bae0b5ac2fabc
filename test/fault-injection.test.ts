// Database faults on PostgreSQL: connections terminated by an administrator (pg_terminate_backend)
// and the database turned away (ALLOW_CONNECTIONS false), under API requests, the job worker's
// claims and the mail sender. Promises checked: the process stays up; the API answers only
// successes or 503 in the Alma envelope (never 500), /healthz 503; everything works again within
// 5 s of the database coming back; the worker keeps polling and logs the outage once; no queued
// mail is lost or sent twice. PGlite has no connections to cut: skipped there.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { insertJob } from '../src/db/queries/jobs.js';
import { createWorker } from '../src/domain/jobs/worker.js';
import { client, jsonUser } from './helpers/alma.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { ENGINE } from './helpers/db.js';
import { saboteur, waitFor, type DbSaboteur } from './helpers/faults.js';
import { kindsOf } from './helpers/jobs.js';

const skip = ENGINE !== 'postgres' ? 'PGlite has no connections to terminate' : false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let ctx: TestContext;
let sab: DbSaboteur;
let inst: Awaited<ReturnType<TestContext['institution']>>;

before(async () => {
  if (skip) return;
  ctx = await createTestContext();
  sab = await saboteur(ctx.testDb.url!);
  inst = await ctx.institution();
});
after(async () => {
  if (skip) return;
  await sab.close();
  await ctx.close();
});

/** A 503 in Alma's envelope, with Retry-After. */
function assertUnavailable(res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  assert.equal(res.statusCode, 503, res.body);
  const body = JSON.parse(res.body) as { errorsExist: boolean; errorList: { error: { errorCode: string }[] } };
  assert.equal(body.errorsExist, true);
  assert.equal(body.errorList.error[0]!.errorCode, 'CARREL_DATABASE_UNAVAILABLE');
  assert.match(String(res.headers['retry-after']), /^\d+$/);
}

test('connections terminated again and again during API reads and writes: no crash, no 500, all well within 5 s', { skip }, async () => {
  const alma = client(ctx.server, inst.key);
  const LOOPS = 4;
  for (let k = 0; k < LOOPS; k++) assert.equal((await alma.post('/users', jsonUser(`cut${k}`))).statusCode, 200);

  const statuses = new Map<number, number>();
  let stop = false;
  const requests = async (k: number) => {
    const id = `cut${k}`;
    for (let n = 0; !stop; n++) {
      const res = n % 2 ? await alma.get(`/users/${id}`) : await alma.put(`/users/${id}`, jsonUser(id, { last_name: `Cut ${n}` }));
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 503) assertUnavailable(res);
      else assert.equal(res.statusCode, 200, res.body);
    }
  };
  let terminated = 0;
  const terminator = async () => {
    for (let round = 0; round < 20; round++) {
      await sleep(100);
      terminated += await sab.terminate();
    }
    stop = true;
  };
  await Promise.all([terminator(), ...Array.from({ length: LOOPS }, (_, k) => requests(k))]);
  assert.ok(terminated > 0, 'connections were terminated');
  assert.ok((statuses.get(200) ?? 0) > 0, `statuses ${JSON.stringify([...statuses])}`);

  // The database is there again: within 5 s a read and a write succeed, and every request after.
  const back = Date.now();
  await waitFor('a read and a write to succeed', async () =>
    (await alma.get('/users/cut0')).statusCode === 200 && (await alma.put('/users/cut0', jsonUser('cut0'))).statusCode === 200,
  5_000);
  assert.ok(Date.now() - back <= 5_000);
  for (let n = 0; n < 20; n++) {
    const res = n % 2 ? await alma.get(`/users/cut${n % LOOPS}`) : await alma.put(`/users/cut${n % LOOPS}`, jsonUser(`cut${n % LOOPS}`));
    assert.equal(res.statusCode, 200, res.body);
  }
  // A write cut mid-transaction left nothing behind: each version of a user has its audit event.
  const rows = await ctx.app.db.query<{ primary_id: string; version: number; events: number }>(
    `SELECT u.primary_id, u.version, (SELECT count(*)::int FROM audit_event a WHERE a.entity_id = u.id) AS events
     FROM app_user u WHERE u.institution_id = $1 AND u.primary_id LIKE 'cut%'`,
    [inst.id],
  );
  assert.equal(rows.length, LOOPS);
  for (const r of rows) assert.equal(r.events, r.version, `${r.primary_id}: one audit event per version (no partial write)`);
});

test('the database away: 503 in the envelope (JSON and XML), /healthz 503 at once, recovery within 5 s', { skip }, async () => {
  const alma = client(ctx.server, inst.key);
  assert.equal((await alma.post('/users', jsonUser('away1'))).statusCode, 200);
  await sab.block();
  try {
    assertUnavailable(await alma.get('/users/away1'));
    assertUnavailable(await alma.put('/users/away1', jsonUser('away1', { last_name: 'Away' })));
    const xml = await ctx.server.inject({ method: 'GET', url: '/almaws/v1/users/away1', headers: { authorization: `apikey ${inst.key}` } });
    assert.equal(xml.statusCode, 503);
    assert.match(xml.body, /<errorCode>CARREL_DATABASE_UNAVAILABLE<\/errorCode>/);
    const started = Date.now();
    const health = await ctx.server.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 503);
    assert.equal(health.json().status, 'unavailable');
    assert.ok(Date.now() - started < 4_000, `healthz took ${Date.now() - started} ms`);
  } finally {
    await sab.allow();
  }
  const back = Date.now();
  await waitFor('the API to answer again', async () => (await alma.get('/users/away1')).statusCode === 200, 5_000);
  assert.ok(Date.now() - back <= 5_000);
  assert.equal((await ctx.server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  // The write refused while the database was away changed nothing.
  assert.equal((await alma.get('/users/away1')).json().last_name, 'Lovelace');
});

test('the job worker outlasts the database being away: one warning, then it claims the job', { skip }, async () => {
  const logs: { msg: string; level: string }[] = [];
  let ran = 0;
  const worker = createWorker({
    db: ctx.app.db,
    kinds: kindsOf({ 'test.noop': async () => (ran++, { status: 'succeeded' }) }),
    pollMs: 50,
    log: (msg, _extra, level = 'info') => logs.push({ msg, level }),
  });
  worker.start();
  try {
    await sab.block();
    try {
      await waitFor('the worker to warn', () => logs.some((l) => l.level === 'warn'), 10_000);
      await sleep(2_500); // a dozen polls at pollMs, were they not backed off
    } finally {
      await sab.allow();
    }
    const warnings = logs.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, JSON.stringify(logs));
    assert.match(warnings[0]!.msg, /database is unavailable/);
    const job = await insertJob(ctx.app.db, { institutionId: inst.id, kind: 'test.noop', payload: {}, dryRun: false, createdBy: 'test' });
    await waitFor('the job to be claimed and run', async () =>
      (await ctx.app.db.one<{ status: string }>('SELECT status FROM job WHERE id = $1', [job.id])).status === 'succeeded', 30_000);
    assert.equal(ran, 1);
  } finally {
    await worker.stop();
  }
});

test('mail sent while the database goes away: every message arrives once, and each is marked sent', { skip }, async () => {
  const received: string[] = [];
  let mailSab: DbSaboteur | undefined;
  let pulled = false;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (parsed) => {
          received.push(parsed.subject ?? '');
          // The third message has left when the database goes away; it comes back 1.5 s later.
          if (parsed.subject === 'fault 3' && !pulled && mailSab) {
            pulled = true;
            const s = mailSab;
            await s.block();
            setTimeout(() => void s.allow(), 1_500);
          }
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as { port: number }).port;
  const mailCtx = await createTestContext({ config: { smtpUrl: `smtp://127.0.0.1:${port}`, mailFrom: 'Library <library@example.edu>' } });
  mailSab = await saboteur(mailCtx.testDb.url!);
  const { mail } = mailCtx.app.services;
  const N = 6;
  try {
    const ids: number[] = [];
    for (let i = 1; i <= N; i++) {
      ids.push(await mailCtx.app.db.transaction((tx) => mail.enqueue(tx, null, { to: `reader${i}@example.org`, subject: `fault ${i}`, text: `message ${i}`, html: null })));
    }
    const sender = mail.start({ intervalMs: 100 });
    try {
      await waitFor('every message to be marked sent', async () => {
        const rows = await mailCtx.app.db.query<{ status: string }>('SELECT status FROM mail_outbox WHERE id = ANY($1::bigint[])', [ids]);
        return rows.length === N && rows.every((r) => r.status === 'sent');
      }, 30_000, 200);
    } finally {
      await sender.stop();
    }
    assert.ok(pulled, 'the database went away during sending');
    assert.deepEqual([...received].sort(), Array.from({ length: N }, (_, i) => `fault ${i + 1}`), 'each message exactly once');
  } finally {
    await mailSab.close();
    await mailCtx.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});
