// The SSO outage end to end (issue 9, scope 7): the back-up admin, signed in on the login page,
// toggles 20 EXTERNAL staff to INTERNAL in one job (set-password links, received by a real SMTP
// server), and reverts exactly them in one action: a user toggled by hand in between is left
// alone. Temporary passwords: sealed, downloadable once as CSV, never stored raw; a worker
// stopped mid-job leaves the rest to the next, and nobody is toggled twice.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newSealingKeys } from '../src/domain/identity/outage-seal.js';
import { createWorker } from '../src/domain/jobs/worker.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, opAuth, staffUser, startSmtpCatcher, v1, type SmtpCatcher } from './helpers/identity.js';

let ctx: TestContext;
let smtp: SmtpCatcher;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;
const PASSWORD = 'Backup admin outage 2026';
const pad = (i: number) => String(i).padStart(2, '0');
const STAFF = Array.from({ length: 20 }, (_, i) => `staff${pad(i + 1)}`);
const TMP = Array.from({ length: 10 }, (_, i) => `tmp${pad(i + 1)}`);

const external = (id: string, extra: Record<string, unknown> = {}) =>
  staffUser(id, { account_type: { value: 'EXTERNAL' }, external_id: 'SIS_STAFF', ...extra });

before(async () => {
  smtp = await startSmtpCatcher();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, smtpUrl: smtp.url } });
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
  const users = [
    staffUser('backup_admin', { password: PASSWORD, user_role: [role('50', inst.code)] }),
    ...STAFF.map((id) => external(id)),
    ...TMP.map((id) => external(id, { user_group: { value: 'FACULTY' } })),
    // Not staff of the group: a query must not pick them.
    external('patron01', { record_type: { value: 'PUBLIC' }, user_group: { value: 'LIBSTAFF' } }),
  ];
  for (const u of users) {
    const res = await api.post('/users', u);
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(async () => {
  await ctx.close();
  await smtp.close();
});

const worker = () => createWorker({ db: ctx.app.db, kinds: ctx.app.jobKinds, leaseSeconds: 30, log: () => {} });
const runAll = async () => {
  const w = worker();
  while (await w.runOnce());
};
const accountOf = async (id: string) => {
  const u = (await api.get(`/users/${id}`)).json();
  return [u.account_type.value, u.external_id] as [string, string];
};
const jobOf = async (id: string) => (await v1(ctx.server, inst.key).get(`/jobs/${id}`)).json();

describe('set-password links, a query, and the revert', () => {
  let jobId: string;
  const admin = () => browser(ctx.server, inst.code);

  test('the back-up admin signs in with a local password and toggles 20 staff in one job', async () => {
    const b = admin();
    assert.equal((await b.signIn('backup_admin', PASSWORD)).statusCode, 303);
    const res = await b.api('POST', '/outage/toggle', { query: { record_type: 'STAFF', user_group: 'LIBSTAFF' }, method: 'link' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().download_token, undefined, 'links need no download');
    jobId = res.json().id;
    assert.equal(res.json().kind, 'account-type-toggle');
    await runAll();
    const job = await jobOf(jobId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.total, 20);
    assert.deepEqual(job.progress, { done: 20, toggled: 20, skipped: 0, failed: 0, percent: 100 });
    for (const id of STAFF) assert.deepEqual(await accountOf(id), ['INTERNAL', '']);
    assert.deepEqual(await accountOf('patron01'), ['EXTERNAL', 'SIS_STAFF'], 'a PUBLIC user is not staff');
    assert.deepEqual(await accountOf('tmp01'), ['EXTERNAL', 'SIS_STAFF'], 'another group is not picked');

    await ctx.app.services.mail.deliverPendingMail();
    const links = smtp.messages.filter((m) => /staff\d\d@/.test(String((m.to as { text: string }).text)));
    assert.equal(links.length, 20);
    const token = /token=([A-Za-z0-9_-]{43})/.exec(links[0]!.text ?? '')![1]!;
    const who = String((links[0]!.to as { text: string }).text).split('@')[0]!;
    await ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'My own outage phrase 7');
    assert.equal((await opAuth(ctx.server, inst.key, who, 'My own outage phrase 7')).statusCode, 204);
  });

  test('the revert toggles back exactly those users; a user toggled by hand in between is left alone', async () => {
    const keyApi = v1(ctx.server, inst.key);
    // staff05 back by hand; staff06 back and INTERNAL again by hand: neither is the job's any more.
    assert.equal((await keyApi.post('/users/staff05/account-type', { account_type: 'EXTERNAL' })).statusCode, 200);
    assert.equal((await keyApi.post('/users/staff06/account-type', { account_type: 'EXTERNAL' })).statusCode, 200);
    const again = await keyApi.post('/users/staff06/account-type', { account_type: 'INTERNAL', password: 'Hand toggled pass 2026', force_change: false });
    assert.equal(again.statusCode, 200, again.body);

    const b = admin();
    await b.signIn('backup_admin', PASSWORD);
    assert.equal((await b.api('POST', `/jobs/${jobId}/revert`, undefined, { csrf: false })).statusCode, 403, 'CSRF applies');
    const res = await b.api('POST', `/jobs/${jobId}/revert`);
    assert.equal(res.statusCode, 202, res.body);
    const revertId = res.json().id as string;
    assert.equal((await b.api('POST', `/jobs/${jobId}/revert`)).statusCode, 409, 'one revert per job');
    await runAll();
    const job = await jobOf(revertId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.progress, { done: 20, reverted: 18, left_alone: 2, failed: 0, percent: 100 });
    for (const id of STAFF.filter((s) => s !== 'staff06')) assert.deepEqual(await accountOf(id), ['EXTERNAL', 'SIS_STAFF'], id);
    assert.deepEqual(await accountOf('staff06'), ['INTERNAL', ''], 'toggled by hand: left alone');
    assert.equal((await opAuth(ctx.server, inst.key, 'staff06', 'Hand toggled pass 2026')).statusCode, 204);
    const report = await keyApi.get(`/jobs/${revertId}/errors`);
    assert.match(report.body, /staff05,skipped,Left alone: staff05 was toggled by hand/);
    assert.match(report.body, /staff06,skipped,Left alone: staff06 was toggled by hand/);

    // Revert of a revert, or of another kind of job: no such toggle job.
    assert.equal((await b.api('POST', `/jobs/${revertId}/revert`)).statusCode, 404);
    assert.equal((await b.api('POST', `/jobs/${jobId}/revert`)).statusCode, 409, 'never twice');
  });
});

describe('temporary passwords, a list, and a worker stopped mid-job', () => {
  let jobId: string;
  let token: string;
  let csv: string;

  test('a worker stopped after a few users leaves the rest to the next; nobody is toggled twice', async () => {
    const res = await v1(ctx.server, inst.key).post('/outage/toggle', { user_ids: [...TMP, 'nobody', 'backup_admin', 'tmp01'], method: 'temporary_password' });
    assert.equal(res.statusCode, 202, res.body);
    jobId = res.json().id;
    token = res.json().download_token;
    assert.match(token, /^[A-Za-z0-9_-]{60,}$/);
    const stored = await ctx.app.db.one<{ payload: string }>('SELECT payload::text FROM job WHERE id = $1', [jobId]);
    assert.ok(!stored.payload.includes(token), 'the token is not stored');

    const first = worker();
    let stopped = false;
    await first.runJobById(jobId, (job) => {
      if (!stopped && (job.counters.toggled ?? 0) >= 4) {
        stopped = true;
        void first.stop();
      }
    });
    let job = await jobOf(jobId);
    assert.equal(job.status, 'queued', 'handed back to the queue');
    assert.ok(job.progress.toggled >= 4 && job.progress.toggled < 10, JSON.stringify(job.progress));
    const early = await v1(ctx.server, inst.key).post(`/jobs/${jobId}/temporary-passwords`, { download_token: token });
    assert.equal(early.statusCode, 409, 'not before the job has finished');

    await runAll();
    job = await jobOf(jobId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.progress, { done: 12, toggled: 10, skipped: 1, failed: 1, percent: 100 });
    const toggles = await ctx.app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM audit_event WHERE action = 'user.account_type' AND context ->> 'job' = $1 GROUP BY entity_id`,
      [jobId],
    );
    assert.equal(toggles.length, 10);
    assert.ok(toggles.every((t) => t.n === 1), 'each user toggled once');
    const report = (await v1(ctx.server, inst.key).get(`/jobs/${jobId}/errors`)).body;
    assert.match(report, /nobody,failed,User with identifier nobody was not found/);
    assert.match(report, /backup_admin,skipped,Skipped: backup_admin is already INTERNAL/);
  });

  test('the CSV comes once, to the token given at the start; the passwords work, with a forced change', async () => {
    const keyApi = v1(ctx.server, inst.key);
    const wrong = await keyApi.post(`/jobs/${jobId}/temporary-passwords`, { download_token: newSealingKeys().downloadToken });
    assert.equal(wrong.statusCode, 403);
    assert.equal(errorCode(await keyApi.post(`/jobs/${jobId}/temporary-passwords`, { download_token: 'garbage' })), 'CARREL_DOWNLOAD_TOKEN_INVALID');
    assert.equal(errorCode(await v1(ctx.server, inst.readOnlyKey).post(`/jobs/${jobId}/temporary-passwords`, { download_token: token })), 'UNAUTHORIZED');
    const other = await ctx.institution();
    assert.equal((await v1(ctx.server, other.key).post(`/jobs/${jobId}/temporary-passwords`, { download_token: token })).statusCode, 404);

    const res = await keyApi.post(`/jobs/${jobId}/temporary-passwords`, { download_token: token });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /text\/csv/);
    assert.equal(res.headers['cache-control'], 'no-store');
    csv = res.body;
    const lines = csv.trim().split('\n');
    assert.equal(lines[0], 'primary_id,temporary_password');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), TMP);
    const again = await keyApi.post(`/jobs/${jobId}/temporary-passwords`, { download_token: token });
    assert.equal(again.statusCode, 410, 'once');

    const [id, password] = lines[1]!.split(',') as [string, string];
    const auth = await opAuth(ctx.server, inst.key, id, password);
    assert.equal(auth.statusCode, 204);
    assert.equal(auth.headers['x-carrel-password-change-required'], 'true');

    // Nowhere raw: not in the job, its report, the audit trail or the outage rows.
    const leaks = await ctx.app.db.one<{ n: number }>(
      `SELECT (SELECT count(*) FROM job WHERE payload::text || checkpoint::text || coalesce(result::text, '') LIKE '%' || $1 || '%')
            + (SELECT count(*) FROM job_error WHERE reason LIKE '%' || $1 || '%')
            + (SELECT count(*) FROM audit_event WHERE context::text || changes::text LIKE '%' || $1 || '%')
            + (SELECT count(*) FROM identity.outage_toggle WHERE sealed_password IS NOT NULL) AS n`,
      [password],
    );
    assert.equal(Number(leaks.n), 0);
  });

  test('the revert removes the temporary passwords and restores the external ids', async () => {
    const res = await v1(ctx.server, inst.key).post(`/jobs/${jobId}/revert`);
    assert.equal(res.statusCode, 202, res.body);
    await runAll();
    assert.deepEqual((await jobOf(res.json().id)).progress, { done: 10, reverted: 10, left_alone: 0, failed: 0, percent: 100 });
    const [id, password] = csv.trim().split('\n')[1]!.split(',') as [string, string];
    assert.equal((await opAuth(ctx.server, inst.key, id, password)).statusCode, 400);
    for (const t of TMP) assert.deepEqual(await accountOf(t), ['EXTERNAL', 'SIS_STAFF']);
    const hashes = await ctx.app.db.one<{ n: number }>(
      `SELECT count(*)::int AS n FROM identity.credential c JOIN app_user u ON u.id = c.user_id
       WHERE u.institution_id = $1 AND u.primary_id LIKE 'tmp%' AND c.hash IS NOT NULL`,
      [inst.id],
    );
    assert.equal(hashes.n, 0);
  });
});
