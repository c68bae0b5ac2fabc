// The SIS surface of /api/v1: integration profiles, jobs (status, report, cancel), dry runs with
// their diff, deactivating users missing from a full file, exports, and drop folders.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, staffUser } from './helpers/identity.js';
import { almaXml, campusUser, CSV_MAPPING, primaryIdOf, range, univId, zipOf } from './helpers/campus-file.js';
import { api, countUsers, parseCsvLine, runQueue } from './helpers/sis.js';

let ctx: TestContext;
const dirs: string[] = [];
before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
});
after(async () => {
  await ctx.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const PROFILE = { code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'alma_xml' };
const system = { kind: 'system' as const, label: 't' };

async function withProfile(extra: Record<string, unknown> = {}) {
  const inst = await ctx.institution();
  const a = api(ctx.server, inst.key);
  assert.equal((await a.createProfile({ ...PROFILE, ...extra })).status, 201);
  return { inst, a };
}

async function loadNow(a: ReturnType<typeof api>, xml: string, query = '') {
  const up = await a.upload('CAMPUS', xml, 'application/xml', query);
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await runQueue(ctx.app);
  return a.job(up.body.id);
}

describe('integration profiles', () => {
  test('create, read, list, change and delete; the code cannot change', async () => {
    const inst = await ctx.institution();
    const a = api(ctx.server, inst.key);
    const created = await a.createProfile({ code: 'STUDENTS', name: 'Nightly students', record_type: 'public', match_by: 'univ_id', mode: 'import', format: 'csv', csv_mapping: CSV_MAPPING });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.record_type, 'PUBLIC');
    assert.equal(created.body.match_by, 'UNIV_ID', 'identifier types in their stored spelling');
    assert.equal(created.body.deactivate_missing, false);
    assert.equal((await a.json('GET', '/integration-profiles/students')).body.name, 'Nightly students');
    const changed = await a.json('PATCH', '/integration-profiles/STUDENTS', { mode: 'synchronize', deactivate_missing: true });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.mode, 'synchronize');
    assert.equal(changed.body.format, 'csv', 'fields not given stay');
    assert.equal((await a.json('PATCH', '/integration-profiles/STUDENTS', { code: 'RENAMED' })).body.errorList.error[0].errorCode, '401858');
    assert.equal((await a.json('GET', '/integration-profiles')).body.integration_profile.length, 1);
    assert.equal((await a.json('DELETE', '/integration-profiles/STUDENTS')).status, 204);
    assert.equal((await a.json('GET', '/integration-profiles/STUDENTS')).status, 404);
  });

  test('invalid profiles are refused with the reason', async () => {
    const inst = await ctx.institution();
    const a = api(ctx.server, inst.key);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...PROFILE, match_by: 'SHOE_SIZE' }, /match_by identifier type \(SHOE_SIZE\) is invalid/],
      [{ ...PROFILE, format: 'csv' }, /csv_mapping/],
      [{ ...PROFILE, format: 'csv', csv_mapping: { A: 'shoe_size' } }, /not a field Carrel can load/],
      [{ ...PROFILE, format: 'csv', csv_mapping: { A: 'identifier:SHOE' } }, /identifier type \(SHOE\) is invalid/],
      [{ ...PROFILE, mode: 'merge' }, /use one of import, synchronize/],
      [{ ...PROFILE, code: 'has space' }, /code/],
      [{ ...PROFILE, drop_folder: 'relative/path' }, /absolute path/],
    ];
    for (const [body, reason] of cases) {
      const res = await a.createProfile(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.errorList.error[0].errorMessage, reason);
    }
    assert.equal((await a.createProfile(PROFILE)).status, 201);
    assert.equal((await a.createProfile({ ...PROFILE, code: 'campus' })).status, 409);
  });

  test('read-only keys and other institutions reach no profile or job', async () => {
    const { inst, a } = await withProfile();
    const job = await loadNow(a, almaXml([campusUser(1)]));
    const ro = api(ctx.server, inst.readOnlyKey);
    assert.equal((await ro.json('GET', '/integration-profiles')).body.errorList.error[0].errorCode, 'UNAUTHORIZED');
    assert.equal((await ro.upload('CAMPUS', almaXml([campusUser(2)]), 'application/xml')).status, 400);
    const other = api(ctx.server, (await ctx.institution()).key);
    assert.equal((await other.json('GET', '/integration-profiles/CAMPUS')).status, 404);
    assert.equal((await other.json('GET', `/jobs/${job.id}`)).status, 404);
    assert.equal((await other.json('GET', `/jobs/${job.id}/errors`)).status, 404);
  });
});

describe('deleting an integration profile', () => {
  test('refused while a load of it is queued or running; once it ended, deleted and audited, its users kept', async () => {
    const { inst, a } = await withProfile();
    await loadNow(a, almaXml([campusUser(1)]));
    const queued = await a.upload('CAMPUS', almaXml([campusUser(2)]), 'application/xml');
    assert.equal(queued.status, 202);
    const refused = await a.json('DELETE', '/integration-profiles/CAMPUS');
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    const error = refused.body.errorList.error[0];
    assert.equal(error.errorCode, 'CARREL_CONFLICT');
    assert.match(error.errorMessage, new RegExp(`CAMPUS has a load that is queued \\(job ${queued.body.id}\\)`));
    assert.equal((await a.json('GET', '/integration-profiles/CAMPUS')).status, 200, 'nothing was deleted');

    // Running (claimed by a worker, not yet ended) is refused the same way.
    await ctx.app.db.query(`UPDATE job SET status = 'running', locked_by = 'w', locked_until = now() + interval '1 minute' WHERE id = $1`, [queued.body.id]);
    assert.match((await a.json('DELETE', '/integration-profiles/CAMPUS')).body.errorList.error[0].errorMessage, /load that is running/);
    await ctx.app.db.query(`UPDATE job SET status = 'queued', locked_by = NULL, locked_until = NULL WHERE id = $1`, [queued.body.id]);

    assert.equal((await a.json('POST', `/jobs/${queued.body.id}/cancel`)).body.status, 'cancelled');
    assert.equal((await a.json('DELETE', '/integration-profiles/CAMPUS')).status, 204);
    assert.equal((await a.json('GET', '/integration-profiles/CAMPUS')).status, 404);
    assert.equal((await a.almaUser(primaryIdOf(1)))?.external_id, 'CAMPUS', "the profile's users stay");
    const audit = await ctx.app.db.query<{ actor_label: string; changes: Record<string, { before: unknown; after: unknown }> }>(
      `SELECT actor_label, changes FROM audit_event WHERE institution_id = $1 AND action = 'integration_profile.delete'`,
      [inst.id],
    );
    assert.equal(audit.length, 1);
    assert.deepEqual(audit[0]!.changes.code, { before: 'CAMPUS', after: null });
  });

  test("another institution's key or session, a read-only key and a staff user without sis:manage cannot delete it", async () => {
    const { inst, a } = await withProfile();
    const other = await ctx.institution();
    const PASSWORD = 'Profile delete pass 2026';
    for (const [i, id, roleType] of [[inst, 'desk', '32'], [inst, 'uadmin', '50'], [other, 'stranger', '50']] as const) {
      const res = await client(ctx.server, i.key).post('/users', staffUser(id, { password: PASSWORD, user_role: [role(roleType, i.code)] }));
      assert.equal(res.statusCode, 200, res.body);
    }
    const session = async (i: typeof inst, id: string) => {
      const b = browser(ctx.server, i.code);
      assert.equal((await b.signIn(id, PASSWORD)).statusCode, 303);
      return b;
    };
    const refusal = (res: { statusCode: number; body: string }) => [res.statusCode, JSON.parse(res.body).errorList.error[0].errorCode];

    // Another institution finds no such profile, by key or by session.
    assert.equal((await api(ctx.server, other.key).json('DELETE', '/integration-profiles/CAMPUS')).status, 404);
    assert.deepEqual(refusal(await (await session(other, 'stranger')).api('DELETE', '/integration-profiles/CAMPUS')), [404, 'CARREL_NOT_FOUND']);
    // The caller's own institution, without sis:manage: refused as every permission is (Alma's UNAUTHORIZED envelope).
    const ro = await api(ctx.server, inst.readOnlyKey).json('DELETE', '/integration-profiles/CAMPUS');
    assert.deepEqual([ro.status, ro.body.errorList.error[0].errorCode], [400, 'UNAUTHORIZED']);
    const desk = await session(inst, 'desk');
    assert.deepEqual(refusal(await desk.api('DELETE', '/integration-profiles/CAMPUS')), [400, 'UNAUTHORIZED']);
    // Without the session's CSRF token, not even a User Administrator.
    const uadmin = await session(inst, 'uadmin');
    assert.equal((await uadmin.api('DELETE', '/integration-profiles/CAMPUS', undefined, { csrf: false })).statusCode, 403);
    assert.equal((await a.json('GET', '/integration-profiles/CAMPUS')).status, 200, 'still there');

    assert.equal((await uadmin.api('DELETE', '/integration-profiles/CAMPUS')).statusCode, 204);
    assert.equal((await a.json('GET', '/integration-profiles/CAMPUS')).status, 404);
  });
});

describe('jobs', () => {
  test('list and read jobs; cancel a queued job; an ended job cannot be cancelled', async () => {
    const { a } = await withProfile();
    const done = await loadNow(a, almaXml([campusUser(1), campusUser(2)]));
    assert.equal(done.status, 'succeeded');
    assert.equal(done.file_name, 'upload.xml');
    assert.equal(done.created_by, 'test');
    assert.ok(done.started_at && done.finished_at);
    const queued = await a.upload('CAMPUS', almaXml([campusUser(3)]), 'application/xml', 'file_name=nightly.xml');
    const cancelled = await a.json('POST', `/jobs/${queued.body.id}/cancel`);
    assert.equal(cancelled.status, 202);
    assert.equal(cancelled.body.status, 'cancelled');
    await runQueue(ctx.app);
    assert.equal((await a.job(queued.body.id)).status, 'cancelled', 'a cancelled job is not run');
    assert.equal((await a.json('POST', `/jobs/${done.id}/cancel`)).status, 409);
    const list = (await a.json('GET', '/jobs?kind=sis.load')).body.job;
    assert.deepEqual(list.map((j: { file_name: string; status: string }) => [j.file_name, j.status]), [['nightly.xml', 'cancelled'], ['upload.xml', 'succeeded']]);
    assert.equal((await a.json('GET', '/jobs?status=running')).body.job.length, 0);
    assert.equal((await a.json('GET', '/jobs?status=bogus')).status, 400);
  });

  test("a profile's loads are listed newest first, without another profile's", async () => {
    const { a } = await withProfile();
    assert.equal((await a.createProfile({ ...PROFILE, code: 'OTHER' })).status, 201);
    const first = await loadNow(a, almaXml([campusUser(1)]));
    const dry = await loadNow(a, almaXml([campusUser(2)]), 'dry_run=true&file_name=second.xml');
    assert.equal((await a.upload('OTHER', almaXml([campusUser(3)]), 'application/xml')).status, 202);
    const list = (await a.json('GET', '/integration-profiles/CAMPUS/imports')).body.job;
    assert.deepEqual(list.map((j: { id: string; dry_run: boolean; file_name: string }) => [j.id, j.dry_run, j.file_name]), [
      [dry.id, true, 'second.xml'],
      [first.id, false, 'upload.xml'],
    ]);
    assert.equal((await a.json('GET', '/integration-profiles/CAMPUS/imports?limit=1')).body.job.length, 1);
    assert.equal((await a.json('GET', '/integration-profiles/OTHER/imports')).body.job.length, 1);
    assert.equal((await a.json('GET', '/integration-profiles/NOPE/imports')).status, 404);
    await runQueue(ctx.app);
  });

  test('a running load stops at its next batch when cancelled; what committed stays', async () => {
    // Small batches, so that many are left when the cancel arrives.
    const small = await createTestContext({ config: { sisBatchSize: 100 } });
    try {
      const inst = await small.institution();
      const a = api(small.server, inst.key);
      await a.createProfile(PROFILE);
      const up = await a.upload('CAMPUS', almaXml(range(0, 3000, (i) => campusUser(i))), 'application/xml');
      const { createWorker } = await import('../src/domain/jobs/worker.js');
      const worker = createWorker({ db: small.app.db, kinds: small.app.jobKinds });
      let cancelled = false;
      // The handler awaits its progress listener, so the cancel is committed before the next batch.
      await worker.runJobById(up.body.id, async (job) => {
        if (!cancelled && (job.counters.created ?? 0) > 0) {
          cancelled = true;
          await small.app.services.jobs.cancel(system, inst.id, job.id);
        }
      });
      const job = await a.job(up.body.id);
      assert.equal(job.status, 'cancelled');
      assert.ok(job.progress.created > 0 && job.progress.created < 3000, JSON.stringify(job.progress));
      assert.equal(await countUsers(small.app, inst.id), job.progress.created);
    } finally {
      await small.close();
    }
  });
});

describe('the queue', () => {
  test('a job whose worker died (its lease ran out) is claimed again by another worker and finishes', async () => {
    const { inst, a } = await withProfile();
    const up = await a.upload('CAMPUS', almaXml(range(0, 5, (i) => campusUser(i))), 'application/xml');
    // A worker on another machine claimed it, then vanished: its lease ran out a minute ago.
    await ctx.app.db.query(
      `UPDATE job SET status = 'running', locked_by = 'elsewhere:1:dead', locked_until = now() - interval '1 minute', attempts = 1 WHERE id = $1`,
      [up.body.id],
    );
    await runQueue(ctx.app);
    const job = await a.job(up.body.id);
    assert.equal(job.status, 'succeeded');
    assert.equal(job.attempts, 2);
    assert.equal(await countUsers(ctx.app, inst.id), 5);
  });

  test('a job another live worker holds is left alone; one that failed every attempt gives up', async () => {
    const { a } = await withProfile();
    const held = await a.upload('CAMPUS', almaXml([campusUser(1)]), 'application/xml');
    await ctx.app.db.query(`UPDATE job SET status = 'running', locked_by = 'elsewhere:1:alive', locked_until = now() + interval '1 minute' WHERE id = $1`, [held.body.id]);
    const doomed = await a.upload('CAMPUS', almaXml([campusUser(2)]), 'application/xml');
    await ctx.app.db.query(`UPDATE job SET status = 'running', locked_by = 'elsewhere:1:dead', locked_until = now() - interval '1 minute', attempts = 3 WHERE id = $1`, [doomed.body.id]);
    await runQueue(ctx.app);
    assert.equal((await a.job(held.body.id)).status, 'running');
    const gaveUp = await a.job(doomed.body.id);
    assert.equal(gaveUp.status, 'failed');
    assert.match(gaveUp.error, /gave up after 3 attempts/);
    await ctx.app.db.query(`UPDATE job SET status = 'cancelled', locked_by = NULL WHERE id = $1`, [held.body.id]);
  });

  test('the OpenAPI document lists the SIS and job routes', async () => {
    const doc = (await ctx.server.inject({ method: 'GET', url: '/api/docs/json' })).json();
    for (const path of ['/api/v1/integration-profiles/{code}/imports', '/api/v1/jobs/{id}/errors', '/api/v1/exports', '/api/v1/users/{user_id}/manual-edits/restore']) {
      assert.ok(doc.paths[path], path);
    }
  });
});

describe('dry run and deactivation', () => {
  test('a dry run reports and diffs field by field, and writes nothing', async () => {
    const { inst, a } = await withProfile();
    await loadNow(a, almaXml(range(0, 5, (i) => campusUser(i))));
    const changed = [...range(0, 3, (i) => campusUser(i, { variant: 1 })), campusUser(3), campusUser(4), campusUser(9)];
    const job = await loadNow(a, almaXml(changed), 'dry_run=true');
    assert.equal(job.dry_run, true);
    assert.deepEqual({ ...job.progress, percent: undefined }, { read: 6, created: 1, updated: 3, unchanged: 2, skipped: 0, failed: 0, percent: undefined });
    const changes = (await a.json('GET', `/jobs/${job.id}/changes`)).body;
    assert.deepEqual(changes.change.map((c: { action: string; identifier: string }) => [c.action, c.identifier]), [
      ['update', univId(0)], ['update', univId(1)], ['update', univId(2)], ['create', univId(9)],
    ]);
    const c0 = changes.change[0].changes;
    assert.deepEqual(c0.lastName, { before: campusUser(0).last_name, after: campusUser(0, { variant: 1 }).last_name });
    assert.deepEqual(c0.expiryDate, { before: '2027-08-31', after: '2028-08-31' });
    assert.equal(await countUsers(ctx.app, inst.id), 5);
    assert.equal((await ctx.app.services.users.get(system, inst.id, univId(0))).lastName, campusUser(0).last_name);
  });

  test("deactivating the profile's users missing from a full file; refused when a record failed", async () => {
    const { inst, a } = await withProfile({ deactivate_missing: true });
    await loadNow(a, almaXml(range(0, 10, (i) => campusUser(i))));
    const withError = await loadNow(a, almaXml([...range(0, 7, (i) => campusUser(i)), campusUser(7, { group: 'ASTRONAUT' })]));
    assert.match(withError.result.deactivateRefused, /1 record\(s\) failed/);
    assert.equal((await ctx.app.services.users.get(system, inst.id, univId(9))).status, 'ACTIVE');

    const clean = await loadNow(a, almaXml(range(0, 8, (i) => campusUser(i))));
    assert.equal(clean.result.deactivated, 2);
    for (const i of [8, 9]) {
      const u = await ctx.app.services.users.get(system, inst.id, univId(i));
      assert.equal(u.status, 'INACTIVE');
      assert.equal(u.statusDate, new Date().toISOString().slice(0, 10));
    }
    assert.equal((await ctx.app.services.users.get(system, inst.id, univId(7))).status, 'ACTIVE');
    const events = await ctx.app.db.query(`SELECT actor_label, context FROM audit_event WHERE context->>'deactivatedMissing' = 'true' AND institution_id = $1`, [inst.id]);
    assert.equal(events.length, 2);
  });
});

describe('export', () => {
  test('Alma XML (zipped) and CSV exports stream out, without credentials, and load again elsewhere', async () => {
    const { inst, a } = await withProfile({ format: 'alma_xml' });
    await loadNow(a, almaXml(range(0, 25, (i) => campusUser(i, { group: i < 5 ? 'FACULTY' : 'UNDERGRAD' }))));
    const start = await a.json('POST', '/exports', { format: 'xml', zip: true, profile: 'CAMPUS' });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    await runQueue(ctx.app);
    const job = await a.job(start.body.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.result.users, 25);
    const res = await ctx.server.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}/result`, headers: { authorization: `apikey ${inst.key}` } });
    assert.equal(res.headers['content-type'], 'application/zip');
    assert.match(String(res.headers['content-disposition']), /attachment; filename=".*-users-\d{4}-\d{2}-\d{2}\.zip"/);
    const files = unzipSync(res.rawPayload);
    const xml = Buffer.from(Object.values(files)[0]!).toString('utf8');
    assert.equal(xml.match(/<user>/g)?.length, 25);
    assert.doesNotMatch(xml, /password|pin_number/);

    // The export is an SIS file: another institution loads it and gets the same users.
    const copy = await ctx.institution();
    const b = api(ctx.server, copy.key);
    await b.createProfile(PROFILE);
    const loaded = await b.upload('CAMPUS', Buffer.from(res.rawPayload), 'application/zip');
    await runQueue(ctx.app);
    assert.equal((await b.job(loaded.body.id)).progress.created, 25);
    const original = await a.almaUser(primaryIdOf(3));
    const copied = await b.almaUser(primaryIdOf(3));
    for (const k of ['last_name', 'user_group', 'expiry_date', 'contact_info', 'user_identifier', 'user_statistic']) assert.deepEqual(copied[k], original[k], k);

    const csvJob = await a.json('POST', '/exports', { format: 'csv', user_group: 'FACULTY' });
    await runQueue(ctx.app);
    const csv = await ctx.server.inject({ method: 'GET', url: `/api/v1/jobs/${csvJob.body.id}/result`, headers: { authorization: `apikey ${inst.key}` } });
    const rows = csv.body.trim().split('\n').map(parseCsvLine);
    assert.equal(rows.length, 6);
    assert.deepEqual(rows[0]!.slice(0, 3), ['primary_id', 'first_name', 'middle_name']);
    assert.ok(rows.slice(1).every((r) => r[4] === 'FACULTY'));
    assert.equal((await a.json('POST', '/exports', { format: 'xml', since: 'yesterday' })).status, 400);
  });
});

describe('drop folders', () => {
  test('a settled file is loaded and moved to processed/; a refused one to failed/; an upload in progress waits', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'carrel-drop-'));
    dirs.push(folder);
    const { inst, a } = await withProfile({ drop_folder: folder, poll_seconds: 1, settings: { settleSeconds: 5 } });
    const old = new Date(Date.now() - 60_000);
    writeFileSync(join(folder, 'nightly.zip'), zipOf({ 'users.xml': almaXml(range(0, 4, (i) => campusUser(i))) }));
    utimesSync(join(folder, 'nightly.zip'), old, old);
    writeFileSync(join(folder, 'broken.xml'), '<users><user>');
    utimesSync(join(folder, 'broken.xml'), old, old);
    writeFileSync(join(folder, 'still-copying.xml'), '<users>'); // modified just now: not settled
    writeFileSync(join(folder, 'partial.xml.part'), '<users>');

    await ctx.app.dropFolders.poll();
    await runQueue(ctx.app);
    assert.equal(await countUsers(ctx.app, inst.id), 4);
    assert.deepEqual(readdirSync(join(folder, 'processed')).map((n) => n.replace(/^[^_]*_/, '')), ['nightly.zip']);
    assert.deepEqual(readdirSync(join(folder, 'failed')).map((n) => n.replace(/^[^_]*_/, '')), ['broken.xml']);
    assert.ok(existsSync(join(folder, 'still-copying.xml')));
    assert.ok(existsSync(join(folder, 'partial.xml.part')));
    assert.deepEqual(readdirSync(join(folder, 'processing')), []);
    const jobs = (await a.json('GET', '/jobs')).body.job;
    assert.deepEqual(jobs.map((j: { status: string; created_by: string }) => [j.status, j.created_by]).sort(), [['failed', 'sis:CAMPUS drop folder'], ['succeeded', 'sis:CAMPUS drop folder']]);
  });
});
