// Issue 8: users have one write path (src/domain/users/write-users.ts). The API's single write is
// a batch of one through the module SIS batches go through, so the rules come out the same on
// both roads: an identifier clash (in an institution, and across a network that asks for unique
// ids) is refused with the same Alma error and message, and a write is one new version with one
// audit event whichever road it took.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';
import { campusUser, jsonlOf, univId, type AlmaJsonUser } from './helpers/campus-file.js';
import { api, runQueue } from './helpers/sis.js';

let ctx: TestContext;
before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

const system = { kind: 'system' as const, label: 'test' };
const barcode = (value: string) => ({ id_type: { value: 'BARCODE' }, value });
const withIds = (u: AlmaJsonUser, ids: Record<string, string>): AlmaJsonUser => ({
  ...u,
  user_identifier: Object.entries(ids).map(([id_type, value]) => ({ id_type, value, segment_type: 'External' })),
});

/** An institution with an SIS profile (JSON lines, matched by UNIV_ID) and both clients. */
async function institutionWithProfile(opts: { network?: string } = {}) {
  const inst = await ctx.institution(opts);
  const sis = api(ctx.server, inst.key);
  const profile = await sis.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl' });
  assert.equal(profile.status, 201, JSON.stringify(profile.body));
  return { inst, sis, alma: client(ctx.server, inst.key) };
}

/** Loads the users and returns the finished job and its report rows (without the header). */
async function load(sis: ReturnType<typeof api>, users: AlmaJsonUser[]) {
  const up = await sis.upload('CAMPUS', jsonlOf(users), 'application/x-ndjson');
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await runQueue(ctx.app);
  const job = await sis.job(up.body.id);
  assert.equal(job.status, 'succeeded', JSON.stringify(job));
  return { job, report: (await sis.errorsCsv(up.body.id)).slice(1) };
}

async function auditOf(entityId: string) {
  return ctx.app.db.query<{ action: string; context: Record<string, unknown> }>(
    'SELECT action, context FROM audit_event WHERE entity_id = $1 ORDER BY id',
    [entityId],
  );
}

async function auditCountOf(institutionId: string): Promise<number> {
  return (await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM audit_event WHERE institution_id = $1', [institutionId])).n;
}

describe('an identifier clash is refused the same way by the API and by an SIS load', () => {
  /** Both roads, in one institution, try to write `value` as a barcode another user holds. */
  async function bothRoads(target: Awaited<ReturnType<typeof institutionWithProfile>>, value: string, n: number) {
    const apiError = almaError(await target.alma.post('/users', jsonUser(`api-${n}`, { user_identifier: [barcode(value)] })));
    const { job, report } = await load(target.sis, [withIds(campusUser(n), { UNIV_ID: univId(n), BARCODE: value })]);
    return { apiError, job, report };
  }

  test('within an institution', async () => {
    const t = await institutionWithProfile();
    assert.equal((await t.alma.post('/users', jsonUser('holder', { user_identifier: [barcode('CLASH-1')] }))).statusCode, 200);
    const before = await auditCountOf(t.inst.id);

    const { apiError, job, report } = await bothRoads(t, 'clash-1', 1);
    assert.equal(apiError.status, 400);
    assert.equal(apiError.code, '401851');
    assert.equal(apiError.message, 'User with identifier clash-1 of type BARCODE already exists.');
    assert.deepEqual({ ...job.progress, percent: undefined }, { read: 1, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 1, percent: undefined });
    assert.deepEqual(report.map((r) => [r[2], r[3], r[4]]), [[univId(1), 'failed', apiError.message]]);
    assert.equal(await auditCountOf(t.inst.id), before, 'a refused write leaves no audit event on either road');
  });

  test('across a network that makes ids unique across it, and not outside it', async () => {
    const zone = await ctx.institution({ networkZone: true });
    const holder = await institutionWithProfile({ network: zone.code });
    const viaApi = await institutionWithProfile({ network: zone.code });
    const viaSis = await institutionWithProfile({ network: zone.code });
    assert.equal((await holder.alma.post('/users', jsonUser('netholder', { user_identifier: [barcode('NET-CLASH-1')] }))).statusCode, 200);

    // Until the network asks, the same value may live in another institution, on both roads.
    assert.equal((await viaApi.alma.post('/users', jsonUser('api-2', { user_identifier: [barcode('net-clash-1')] }))).statusCode, 200);
    const free = await load(viaSis.sis, [withIds(campusUser(2), { UNIV_ID: univId(2), BARCODE: 'net-clash-1' })]);
    assert.equal(free.job.progress.created, 1);
    assert.deepEqual(free.report, []);

    await ctx.app.services.institutions.updateNetworkSettings(zone.code, { uniqueIdsAcrossNetwork: true });
    const other = await institutionWithProfile({ network: zone.code });
    const before = await auditCountOf(other.inst.id);
    const { apiError, job, report } = await bothRoads(other, 'Net-Clash-1', 3);
    assert.equal(apiError.code, '401851');
    assert.equal(apiError.message, 'User with identifier Net-Clash-1 of type BARCODE already exists.');
    assert.equal(job.progress.failed, 1);
    assert.equal(job.progress.created, 0);
    assert.deepEqual(report.map((r) => [r[2], r[3], r[4]]), [[univId(3), 'failed', apiError.message]]);
    assert.equal(await auditCountOf(other.inst.id), before);
  });

  test('a write that clashes on two values is refused naming the same (its first) value on both roads', async () => {
    const t = await institutionWithProfile();
    // One value is another user's barcode, the other another user's primary id.
    assert.equal((await t.alma.post('/users', jsonUser('held-bar', { user_identifier: [barcode('TWO-BAR')] }))).statusCode, 200);
    assert.equal((await t.alma.post('/users', jsonUser('two-prim'))).statusCode, 200);
    const ids = [barcode('two-bar'), { id_type: { value: 'UNIV_ID' }, value: 'TWO-PRIM' }];
    const apiError = almaError(await t.alma.post('/users', jsonUser('api-two', { user_identifier: ids })));
    const { report } = await load(t.sis, [withIds(campusUser(12), { BARCODE: 'two-bar', UNIV_ID: 'TWO-PRIM' })]);
    assert.equal(apiError.message, 'User with identifier two-bar of type BARCODE already exists.');
    assert.deepEqual(report.map((r) => r[4]), [apiError.message]);
  });

  test('a value two records of one write claim: the batch refuses the second with the same message', async () => {
    const t = await institutionWithProfile();
    const { job, report } = await load(t.sis, [
      withIds(campusUser(10), { UNIV_ID: univId(10), BARCODE: 'TWICE-1' }),
      withIds(campusUser(11), { UNIV_ID: univId(11), BARCODE: 'twice-1' }),
    ]);
    assert.equal(job.progress.created, 1);
    assert.deepEqual(report.map((r) => [r[2], r[4]]), [[univId(11), 'User with identifier twice-1 of type BARCODE already exists.']]);
    const apiError = almaError(await t.alma.post('/users', jsonUser('api-twice', { user_identifier: [barcode('twice-1')] })));
    assert.equal(apiError.message, report[0]![4]);
  });
});

test('each write on either road is one new version with one audit event', async () => {
  const t = await institutionWithProfile();
  const n = 20;
  const version = async () => (await ctx.app.services.users.get(system, t.inst.id, univId(n))).version;

  // SIS creates the user: version 1, one user.create of the job.
  const first = await load(t.sis, [campusUser(n)]);
  assert.equal(first.job.progress.created, 1);
  const user = await ctx.app.services.users.get(system, t.inst.id, univId(n));
  assert.equal(user.version, 1);
  assert.deepEqual((await auditOf(user.id)).map((e) => [e.action, e.context.jobId]), [['user.create', first.job.id]]);

  // A script changes it through the API: version 2, one user.update without a job.
  const doc = (await t.alma.get(`/users/${encodeURIComponent(user.primaryId)}`)).json();
  const put = await t.alma.put(`/users/${encodeURIComponent(user.primaryId)}`, { ...doc, first_name: 'Changed' });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(await version(), 2);
  let events = await auditOf(user.id);
  assert.equal(events.length, 2);
  assert.equal(events[1]!.action, 'user.update');
  assert.equal(events[1]!.context.jobId, undefined);

  // A stale If-Match is refused and writes nothing.
  const stale = await t.alma.put(`/users/${encodeURIComponent(user.primaryId)}`, { ...doc, first_name: 'Stale' }, { 'if-match': '"1"' });
  assert.equal(stale.statusCode, 412, stale.body);
  assert.equal(await version(), 2);
  assert.equal((await auditOf(user.id)).length, 2);

  // The next load changes it back: version 3, one user.update of that job.
  const second = await load(t.sis, [{ ...campusUser(n), last_name: 'Reloaded' }]);
  assert.equal(second.job.progress.updated, 1);
  assert.equal(await version(), 3);
  events = await auditOf(user.id);
  assert.deepEqual(events.slice(2).map((e) => [e.action, e.context.jobId]), [['user.update', second.job.id]]);

  // An unchanged load writes nothing; a delete writes one user.delete.
  const third = await load(t.sis, [{ ...campusUser(n), last_name: 'Reloaded' }]);
  assert.equal(third.job.progress.unchanged, 1);
  assert.equal(await version(), 3);
  assert.equal((await auditOf(user.id)).length, 3);
  assert.equal((await t.alma.delete(`/users/${encodeURIComponent(user.primaryId)}`)).statusCode, 204);
  assert.deepEqual((await auditOf(user.id)).map((e) => e.action), ['user.create', 'user.update', 'user.update', 'user.delete']);
});

test('only db/queries/user-batches.ts holds SQL that writes app_user, user_identifier or user_role', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join, relative } = await import('node:path');
  const root = join(import.meta.dirname, '..');
  const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, 'src', f));
  assert.ok(files.length > 50);
  const writers = files
    .filter((f) => /\b(insert\s+into|update|delete\s+from|copy)\s+(app_user|user_identifier|user_role)\b/i.test(readFileSync(f, 'utf8')))
    .map((f) => relative(root, f).replaceAll('\\', '/'));
  assert.deepEqual(writers, ['src/db/queries/user-batches.ts']);
});
