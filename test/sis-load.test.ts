// Issue 4, "done when": a generated 10,000-user campus file in each format (Alma XML zip, CSV,
// JSON lines) is uploaded and loaded, librarians edit some users by hand, and a changed file is
// synchronized: every SIS rule is checked on the result, with exact counters, the report, the
// audit trail, and unchanged users left alone (no new version, no audit event).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { User, UserInput } from '../src/model/user.js';
import { forEachSettledSisHashPage, type SettledSisHash } from '../src/db/queries/settled-sis-hashes.js';
import { knownRecordsData, knownRecordsPacker } from '../src/domain/sis/parse/known-records.js';
import { nextPrimaryId, primaryIdBase } from '../src/domain/sis/match.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import {
  almaXml, barcode, campusUser, CSV_MAPPING, csvOf, jsonlOf, primaryIdOf, univId, zipOf, type AlmaJsonUser,
} from './helpers/campus-file.js';
import { api, auditCount, countUsers, runQueue, staffActor } from './helpers/sis.js';

const N = 10_000;
type Format = 'xml_zip' | 'csv' | 'jsonl';

let ctx: TestContext;
before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

function fileOf(format: Format, users: AlmaJsonUser[]): { body: Buffer | string; type: string } {
  if (format === 'xml_zip') return { body: zipOf({ 'campus/users.xml': almaXml(users) }), type: 'application/zip' };
  if (format === 'csv') return { body: csvOf(users), type: 'text/csv' };
  return { body: jsonlOf(users), type: 'application/x-ndjson' };
}

const withIds = (u: AlmaJsonUser, ids: Record<string, string>) => ({
  ...u,
  user_identifier: Object.entries(ids).map(([id_type, value]) => ({ id_type, value, segment_type: 'External' })),
});

/** The changed nightly file: 1,000 users changed, one protected field emptied, and the bad cases. */
function changedFile(format: Format): AlmaJsonUser[] {
  const users: AlmaJsonUser[] = [];
  for (let i = 0; i < N; i++) {
    if (i < 1000) users.push(i === 2 ? { ...campusUser(i, { variant: 1 }), preferred_language: '' } : campusUser(i, { variant: 1 }));
    else if (i === 1007) users.push({ ...campusUser(i), campus_code: '' });
    else users.push(campusUser(i));
  }
  users.push(withIds(campusUser(N), { UNIV_ID: 'UINT0001', BARCODE: 'BINT-X' })); // matches an INTERNAL user
  users.push(withIds(campusUser(N + 1), { UNIV_ID: 'UOTH0001', BARCODE: 'BOTH-X' })); // another profile's user
  for (let i = N + 2; i < N + 7; i++) users.push(campusUser(i)); // five new users
  users.push(campusUser(5)); // the same match id twice in one file
  users.push(withIds(campusUser(N + 7), { UNIV_ID: univId(N + 7), BARCODE: 'BTAKEN01' })); // barcode of another user
  users.push(campusUser(N + 8, { group: 'ASTRONAUT' })); // no such user group
  users.push({ ...campusUser(N + 9), primary_id: '' }); // no primary id: generated
  if (format !== 'csv') users.push(withIds(campusUser(N + 10), { UNIV_ID: univId(N + 10), SHOE_SIZE: '42' })); // no such identifier type
  return users;
}

async function userOf(institutionId: string, id: string): Promise<User> {
  return ctx.app.services.users.get({ kind: 'system', label: 'test' }, institutionId, id);
}

async function edit(institutionId: string, id: string, actor: Parameters<TestContext['app']['services']['users']['replace']>[0], change: (u: UserInput) => UserInput) {
  const u = await userOf(institutionId, id);
  const input: UserInput = { ...u, roles: undefined };
  await ctx.app.services.users.replace(actor, institutionId, id, change(input));
}

function scenario(format: Format) {
  let inst: Awaited<ReturnType<TestContext['institution']>>;
  let a: ReturnType<typeof api>;
  let firstJob: string;

  test(`loads ${N} new users from the file, each with its audit event`, async () => {
    inst = await ctx.institution();
    a = api(ctx.server, inst.key);
    const profile = await a.createProfile({
      code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize',
      format: format === 'xml_zip' ? 'alma_xml' : format, ...(format === 'csv' ? { csv_mapping: CSV_MAPPING } : {}),
    });
    assert.equal(profile.status, 201, JSON.stringify(profile.body));
    const users = Array.from({ length: N }, (_, i) => campusUser(i));
    const f = fileOf(format, users);
    const up = await a.upload('CAMPUS', f.body, f.type);
    assert.equal(up.status, 202, JSON.stringify(up.body));
    assert.equal(up.body.status, 'queued');
    firstJob = up.body.id;
    await runQueue(ctx.app);
    const job = await a.job(firstJob);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual({ ...job.progress, percent: undefined }, { read: N, created: N, updated: 0, unchanged: 0, skipped: 0, failed: 0, percent: undefined });
    assert.equal(job.total, N);
    assert.equal(job.progress.percent, 100);
    assert.ok(job.duration_ms > 0);
    assert.equal(await countUsers(ctx.app, inst.id), N);

    for (const i of [0, 4321, N - 1]) {
      const u = await a.almaUser(primaryIdOf(i));
      const src = campusUser(i);
      assert.equal(u.last_name, src.last_name);
      assert.equal(u.first_name, src.first_name);
      assert.equal(u.user_group.value, src.user_group);
      assert.equal(u.expiry_date, `${src.expiry_date}Z`);
      assert.equal(u.account_type.value, 'EXTERNAL');
      assert.equal(u.external_id, 'CAMPUS');
      assert.equal(u.record_type.value, 'PUBLIC');
      assert.deepEqual(u.user_identifier.map((x: { id_type: { value: string }; value: string; segment_type: string }) => [x.id_type.value, x.value, x.segment_type]),
        [['UNIV_ID', univId(i), 'External'], ['BARCODE', barcode(i), 'External']]);
      assert.equal(u.contact_info.email[0].email_address, `s${i}@campus.example.edu`);
      assert.equal(u.contact_info.address[0].city, 'Springfield');
      assert.deepEqual(u.user_role, [], 'roles are never loaded');
    }
    const audit = await auditCount(ctx.app, firstJob);
    assert.deepEqual(audit, { n: N, labels: ['sis:CAMPUS'] });
  });

  test('librarians edit some users by hand; other users exist that the load must not touch', async () => {
    const staff = staffActor(inst.id);
    const key = { kind: 'apiKey' as const, id: 'k', institutionId: inst.id, readOnly: false, label: 'script' };
    await edit(inst.id, primaryIdOf(1), staff, (u) => ({ ...u, userGroup: 'FACULTY' }));
    await edit(inst.id, primaryIdOf(2), staff, (u) => ({ ...u, preferredLanguage: 'fr' }));
    await edit(inst.id, primaryIdOf(3), staff, (u) => ({
      ...u,
      contactInfo: { ...u.contactInfo!, emails: [...u.contactInfo!.emails.map((e) => ({ ...e, preferred: false })), { address: 'home@example.org', description: null, types: ['personal'], preferred: true, segmentType: 'Internal' }] },
      notes: [{ noteType: 'CIRCULATION', noteText: 'keeps books too long', userViewable: false, popupNote: false, createdBy: null, createdDate: null, segmentType: 'Internal' }],
    }));
    // A script (not a person) moves user 4 to a group SIS does not manage.
    await edit(inst.id, primaryIdOf(4), key, (u) => ({ ...u, userGroup: 'ALUMNI' }));
    assert.deepEqual((await userOf(inst.id, primaryIdOf(1))).manualEdits, ['userGroup']);
    assert.deepEqual((await userOf(inst.id, primaryIdOf(2))).manualEdits, ['preferredLanguage']);
    assert.deepEqual((await userOf(inst.id, primaryIdOf(4))).manualEdits, ['userGroup'], "an API key's edit is a manual edit too");

    const system = { kind: 'system' as const, label: 'test' };
    const ident = (idType: string, value: string) => ({ idType, value, note: null, status: 'ACTIVE' as const, segmentType: 'Internal' as const });
    await ctx.app.services.users.create(system, inst.id, { primaryId: 'internal1', recordType: 'PUBLIC', accountType: 'INTERNAL', userGroup: 'COMMUNITY', lastName: 'Inside', identifiers: [ident('UNIV_ID', 'UINT0001')] });
    await ctx.app.services.users.create(system, inst.id, { primaryId: 'other1', recordType: 'PUBLIC', accountType: 'EXTERNAL', externalId: 'OTHER', userGroup: 'GRAD', lastName: 'Elsewhere', identifiers: [{ ...ident('UNIV_ID', 'UOTH0001'), segmentType: 'External' }] });
    await ctx.app.services.users.create(system, inst.id, { primaryId: 'holder1', recordType: 'PUBLIC', accountType: 'INTERNAL', userGroup: 'COMMUNITY', lastName: 'Holder', identifiers: [ident('BARCODE', 'BTAKEN01')] });
  });

  test('a changed file updates what changed and follows every rule; unchanged users are not rewritten', async () => {
    const before5000 = await userOf(inst.id, primaryIdOf(5000));
    const internalBefore = await userOf(inst.id, 'internal1');
    const f = fileOf(format, changedFile(format));
    const up = await a.upload('CAMPUS', f.body, f.type);
    assert.equal(up.status, 202);
    await runQueue(ctx.app);
    const job = await a.job(up.body.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    const failures = format === 'csv' ? 3 : 4;
    assert.deepEqual({ ...job.progress, percent: undefined }, {
      read: N + 11 + (format === 'csv' ? 0 : 1), created: 6, updated: 1001, unchanged: N - 1001, skipped: 2, failed: failures, percent: undefined,
    });

    // Core fields follow the file; protected fields edited by hand do not.
    const u1 = await userOf(inst.id, primaryIdOf(1));
    assert.equal(u1.userGroup, 'FACULTY', 'manual edit of user_group kept');
    assert.equal(u1.lastName, campusUser(1, { variant: 1 }).last_name);
    assert.equal(u1.expiryDate, '2028-08-31');
    const u2 = await userOf(inst.id, primaryIdOf(2));
    assert.equal(u2.preferredLanguage, 'fr', 'manual edit kept although the file left it empty');
    const u3 = await userOf(inst.id, primaryIdOf(3));
    assert.deepEqual(u3.contactInfo.emails.map((e) => [e.address, e.segmentType, e.preferred]),
      [['home@example.org', 'Internal', true], ['s3.v1@campus.example.edu', 'External', false]], 'internal segment kept, external replaced');
    assert.deepEqual(u3.notes.map((n) => n.noteText), ['keeps books too long']);
    assert.equal((await userOf(inst.id, primaryIdOf(4))).userGroup, 'ALUMNI', 'a group SIS does not manage is never changed');
    const u1007 = await userOf(inst.id, primaryIdOf(1007));
    assert.equal(u1007.campusCode, null, 'a protected field empty in the file is cleared');
    assert.equal(u1007.version, 2);

    // Unchanged users: same version, no audit event of this job; INTERNAL users untouched.
    const after5000 = await userOf(inst.id, primaryIdOf(5000));
    assert.equal(after5000.version, before5000.version);
    assert.equal(after5000.updatedAt.getTime(), before5000.updatedAt.getTime());
    assert.equal((await userOf(inst.id, 'internal1')).version, internalBefore.version);
    assert.equal((await userOf(inst.id, 'other1')).lastName, 'Elsewhere');
    const audit = await auditCount(ctx.app, up.body.id);
    assert.deepEqual(audit, { n: 1007, labels: ['sis:CAMPUS'] });

    // New users, one with a generated primary id (first + last name + counter).
    for (let i = N + 2; i < N + 7; i++) assert.equal((await userOf(inst.id, univId(i))).primaryId, primaryIdOf(i));
    const generated = await userOf(inst.id, univId(N + 9));
    const src = campusUser(N + 9);
    assert.equal(generated.primaryId, nextPrimaryId(primaryIdBase(src.first_name as string, src.last_name as string), new Set()));
    assert.equal(await countUsers(ctx.app, inst.id), N + 3 + 6);

    // The report: record number, identifier and reason of each record not applied.
    const report = await a.errorsCsv(up.body.id);
    assert.deepEqual(report[0], ['record_number', 'line', 'identifier', 'outcome', 'reason']);
    const rows = report.slice(1);
    const reasonOf = (identifier: string) => rows.filter((r) => r[2] === identifier).map((r) => `${r[3]}: ${r[4]}`);
    assert.match(reasonOf('UINT0001')[0]!, /^skipped: .*internal1 is an INTERNAL user/);
    assert.match(reasonOf('UOTH0001')[0]!, /^skipped: .*other1 belongs to SIS profile OTHER/);
    assert.deepEqual(reasonOf(univId(5)), ['failed: Duplicate in file: match id U0000005 was already read in record 6.']);
    assert.match(reasonOf(univId(N + 7))[0]!, /^failed: User with identifier BTAKEN01 of type BARCODE already exists/);
    assert.match(reasonOf(univId(N + 8))[0]!, /^failed: Given user group \(ASTRONAUT\) is not legal/);
    if (format !== 'csv') assert.match(reasonOf(univId(N + 10))[0]!, /^failed: .*SHOE_SIZE/);
    assert.equal(rows.length, 2 + failures);
    for (const r of rows) assert.ok(Number(r[0]) > N, 'record numbers point into the file');
    if (format !== 'xml_zip') for (const r of rows) assert.equal(Number(r[1]), Number(r[0]) + (format === 'csv' ? 1 : 0), 'line of the record');
  });

  test('restoring a protected field hands it back to the feed: the next load sets it', async () => {
    const res = await a.json('POST', `/users/${primaryIdOf(1)}/manual-edits/restore`, { fields: ['user_group'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.manual_edits, []);
    const f = fileOf(format, changedFile(format));
    const up = await a.upload('CAMPUS', f.body, f.type);
    await runQueue(ctx.app);
    const job = await a.job(up.body.id);
    assert.equal(job.progress.updated, 1, JSON.stringify(job.progress));
    assert.equal(job.progress.created, 0);
    assert.equal((await userOf(inst.id, primaryIdOf(1))).userGroup, 'GRAD');
    assert.equal((await userOf(inst.id, primaryIdOf(2))).preferredLanguage, 'fr', 'the other manual edit stays');
  });

  test('a user repeated at the end with other values: the repeat fails, the first (unchanged) stays', async () => {
    // In Alma XML the first is a known record (its text is what the last load stored: read
    // without parsing, its id recorded in the background); the repeat, changed, must still be
    // found a duplicate of it, though it comes batches later.
    const before7 = await userOf(inst.id, primaryIdOf(7));
    const f = fileOf(format, [...changedFile(format).slice(0, N), campusUser(7, { variant: 2 })]);
    const up = await a.upload('CAMPUS', f.body, f.type);
    await runQueue(ctx.app);
    const job = await a.job(up.body.id);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual({ ...job.progress, percent: undefined }, { read: N + 1, created: 0, updated: 0, unchanged: N, skipped: 0, failed: 1, percent: undefined });
    const rows = (await a.errorsCsv(up.body.id)).slice(1);
    assert.deepEqual(rows.map((r) => [r[0], r[2], r[4]]), [[String(N + 1), univId(7), 'Duplicate in file: match id U0000007 was already read in record 8.']]);
    assert.equal((await userOf(inst.id, primaryIdOf(7))).version, before7.version);
  });
}

describe('Alma user XML, zipped', () => scenario('xml_zip'));
describe('CSV with a column mapping', () => scenario('csv'));
describe('JSON lines', () => scenario('jsonl'));

describe('a re-sync matched by primary id', () => {
  test('unchanged records are found by their text, a user edited since is merged, a repeat fails', async () => {
    const inst = await ctx.institution();
    const a = api(ctx.server, inst.key);
    assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'primary_id', mode: 'synchronize', format: 'alma_xml' })).status, 201);
    const users = Array.from({ length: 60 }, (_, i) => (i === 7 ? { ...campusUser(i), primary_id: 'MiXeD-Case7' } : campusUser(i)));
    const load = async (list: AlmaJsonUser[]) => {
      const f = fileOf('xml_zip', list);
      const up = await a.upload('CAMPUS', f.body, f.type);
      await runQueue(ctx.app);
      const job = await a.job(up.body.id);
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      return { ...job.progress, percent: undefined, id: up.body.id as string };
    };
    assert.equal((await load(users)).created, 60);
    assert.deepEqual(await load(users).then(({ id: _, ...p }) => p), { read: 60, created: 0, updated: 0, unchanged: 60, skipped: 0, failed: 0, percent: undefined });

    // The stored hashes come a page at a time through a cursor: pages of 7 hold the rows one page
    // holds, in order, and pack the same known records.
    const pages: SettledSisHash[][] = [];
    await forEachSettledSisHashPage(ctx.app.db, inst.id, 'primary_id', (rows) => pages.push(rows), 7);
    const whole: SettledSisHash[][] = [];
    await forEachSettledSisHashPage(ctx.app.db, inst.id, 'primary_id', (rows) => whole.push(rows));
    assert.deepEqual([pages.length, whole.length, whole[0]!.length], [9, 1, 60]);
    assert.deepEqual(pages.flat(), whole[0]);
    const packer = knownRecordsPacker('fp');
    for (const page of pages) packer.add(page);
    assert.deepEqual(packer.finish(), knownRecordsData('fp', whole[0]!));
    assert.equal(knownRecordsData('fp', whole[0]!)!.ends.length, 60);

    // A librarian changes user 3's group: its record (the same text) is merged again, the edit kept.
    await edit(inst.id, primaryIdOf(3), staffActor(inst.id), (u) => ({ ...u, userGroup: 'FACULTY' }));
    const again = await load([...users, { ...campusUser(7), primary_id: 'mixed-case7', last_name: 'Other' }]);
    assert.deepEqual({ ...again, id: undefined }, { read: 61, created: 0, updated: 0, unchanged: 60, skipped: 0, failed: 1, percent: undefined, id: undefined });
    assert.equal((await userOf(inst.id, primaryIdOf(3))).userGroup, 'FACULTY');
    const rows = (await a.errorsCsv(again.id)).slice(1);
    assert.deepEqual(rows.map((r) => [r[0], r[2], r[4]]), [['61', 'mixed-case7', 'Duplicate in file: match id mixed-case7 was already read in record 8.']]);
  });
});
