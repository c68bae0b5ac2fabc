// Bad SIS input, each its own test, through the upload API and the job worker: a malformed file
// is refused whole, with the line and the reason, and nothing is written; a bad record fails
// alone, in the report, and the rest of the file is applied.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaXml, campusUser, CSV_MAPPING, csvOf, range, univId, userXml, zipOf } from './helpers/campus-file.js';
import { api, countUsers, runQueue } from './helpers/sis.js';

let ctx: TestContext;
before(async () => {
  ctx = await createTestContext({ config: { uploadLimit: 4 * 1024 * 1024 } });
});
after(() => ctx.close());

async function setup(format: 'alma_xml' | 'csv' = 'alma_xml') {
  const inst = await ctx.institution();
  const a = api(ctx.server, inst.key);
  const res = await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format, ...(format === 'csv' ? { csv_mapping: CSV_MAPPING } : {}) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { inst, a };
}

async function load(a: ReturnType<typeof api>, body: Buffer | string, type: string) {
  const up = await a.upload('CAMPUS', body, type);
  assert.equal(up.status, 202, JSON.stringify(up.body));
  await runQueue(ctx.app);
  return { job: await a.job(up.body.id), report: (await a.errorsCsv(up.body.id)).slice(1) };
}

/** The file is refused: the job failed with the reason, the report says so, and no user exists. */
async function refusedWhole(body: Buffer | string, type: string, reason: RegExp, format: 'alma_xml' | 'csv' = 'alma_xml') {
  const { inst, a } = await setup(format);
  const { job, report } = await load(a, body, type);
  assert.equal(job.status, 'failed', JSON.stringify(job));
  assert.match(job.error, /^The file was refused and nothing was loaded: /);
  assert.match(job.error, reason);
  assert.deepEqual(report.map((r) => [r[0], r[3]]), [['0', 'failed']]);
  assert.match(report[0]![4]!, reason);
  assert.equal(job.progress.created + job.progress.updated, 0);
  assert.equal(await countUsers(ctx.app, inst.id), 0, 'nothing half-applied');
  // The profile's creation is audited; nothing about a user may be.
  const audit = await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE institution_id = $1 AND entity_type = 'user'", [inst.id]);
  assert.equal(audit.n, 0);
}

const good = (from: number, to: number) => almaXml(range(from, to, (i) => campusUser(i)));

describe('files refused whole', () => {
  test('a truncated zip', async () => {
    const zip = zipOf({ 'users.xml': good(0, 50) });
    await refusedWhole(zip.subarray(0, Math.floor(zip.length * 0.8)), 'application/zip', /not a complete zip file/);
  });

  test('an XML bomb (entity expansion)', async () => {
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE users [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<users>${userXml(campusUser(1)).replace('<first_name>', '<first_name>&lol3;')}</users>`;
    await refusedWhole(bomb, 'application/xml', /line 2: DOCTYPE declarations are not accepted/);
  });

  test('an XML file nested beyond the depth limit', async () => {
    const deep = `<users>${userXml(campusUser(1))}<user>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</user></users>`;
    await refusedWhole(deep, 'application/xml', /nested deeper than 32 levels/);
  });

  test('a file that is not UTF-8 (Latin-1), with the line of the bad byte', async () => {
    const text = good(0, 3);
    const at = text.indexOf('Zola');
    const latin1 = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([0x5a, 0xf6, 0x6c, 0x61]), Buffer.from(text.slice(at + 4))]);
    const line = text.slice(0, at).split('\n').length;
    await refusedWhole(latin1, 'application/xml', new RegExp(`line ${line}: the file is not valid UTF-8`));
  });

  test('a truncated XML file: even the records before the cut are not loaded', async () => {
    const text = good(0, 200);
    await refusedWhole(text.slice(0, text.length - 500), 'application/xml', /unclosed tag|line \d+/);
  });

  test('not XML at all', async () => {
    await refusedWhole(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'application/octet-stream', /not valid UTF-8|not an XML file/);
  });

  test('a file for another profile or institution (external_id names another profile)', async () => {
    const users = [...range(0, 20, (i) => campusUser(i)), campusUser(20, { externalId: 'SIS_OF_01OTHER_INST' })];
    await refusedWhole(almaXml(users), 'application/xml', /record 21 has external_id SIS_OF_01OTHER_INST, not this profile's code CAMPUS/);
  });

  test('a CSV whose header does not match the profile mapping', async () => {
    const csv = csvOf(range(0, 5, (i) => campusUser(i))).replace('Family name', 'Surname');
    await refusedWhole(csv, 'text/csv', /line 1: the header does not match the profile's CSV mapping: missing "Family name"; not in the mapping "Surname"/, 'csv');
  });

  test('a damaged zip entry (content that does not match its CRC-32)', async () => {
    const zip = Buffer.from(zipSync({ 'users.xml': Buffer.from(good(0, 5)) }, { level: 0 }));
    const at = zip.indexOf(Buffer.from('Lovelace'));
    zip[at + 6] = 0x7a; // Lovelaze: still well-formed XML, but not the bytes the CRC was made of
    await refusedWhole(zip, 'application/zip', /users\.xml: damaged zip entry: its CRC-32 does not match/);
  });

  test('an upload over the limit is refused with 413; a type that is no SIS file with 415', async () => {
    const { inst, a } = await setup();
    const big = await a.upload('CAMPUS', Buffer.alloc(5 * 1024 * 1024, 0x20), 'application/xml');
    assert.equal(big.status, 413, JSON.stringify(big.body));
    const pdf = await a.upload('CAMPUS', 'x', 'application/pdf');
    assert.equal(pdf.status, 415);
    assert.equal((await a.json('GET', '/jobs')).body.job.length, 0);
    assert.equal(await countUsers(ctx.app, inst.id), 0);
  });
});

describe('records that fail alone', () => {
  test('a CSV with shifted columns: those rows fail with their line, the others load', async () => {
    const { inst, a } = await setup('csv');
    const lines = csvOf(range(0, 6, (i) => campusUser(i))).trimEnd().split('\n');
    lines[2] = lines[2]!.replace(',Grace,', ',Grace,Extra,'); // user 1: one field too many (line 3)
    lines[4] = lines[4]!.replace(/,[^,]*$/, ''); // user 3: one too few (line 5)
    const { job, report } = await load(a, `${lines.join('\n')}\n`, 'text/csv');
    assert.equal(job.status, 'succeeded');
    assert.equal(job.progress.created, 4);
    assert.deepEqual(report.map((r) => [r[0], r[1], r[3]]), [['2', '3', 'failed'], ['4', '5', 'failed']]);
    assert.match(report[0]![4]!, /line 3 has 18 fields where the header has 17 \(shifted columns\?\)/);
    assert.match(report[1]![4]!, /line 5 has 16 fields/);
    assert.equal(await countUsers(ctx.app, inst.id), 4);
  });

  test('duplicate match ids in one file: the later records fail', async () => {
    const { inst, a } = await setup();
    const users = [...range(0, 3, (i) => campusUser(i)), { ...campusUser(1), last_name: 'Second' }, { ...campusUser(1), last_name: 'Third' }];
    const { job, report } = await load(a, almaXml(users), 'application/xml');
    assert.equal(job.progress.created, 3);
    assert.deepEqual(report.map((r) => [r[0], r[2], r[4]]), [
      ['4', univId(1), 'Duplicate in file: match id U0000001 was already read in record 2.'],
      ['5', univId(1), 'Duplicate in file: match id U0000001 was already read in record 2.'],
    ]);
    assert.equal((await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, univId(1))).lastName, campusUser(1).last_name);
  });

  test('an identifier taken by another user (401851), also between two new records of the file', async () => {
    const { inst, a } = await setup();
    await load(a, good(0, 2), 'application/xml');
    const ids = (u: Record<string, unknown>, barcodeValue: string) => ({ ...u, user_identifier: [{ id_type: 'UNIV_ID', value: (u.user_identifier as { value: string }[])[0]!.value }, { id_type: 'BARCODE', value: barcodeValue }] });
    const users = [ids(campusUser(5), 'B0000001'), ids(campusUser(6), 'SHARED'), ids(campusUser(7), 'shared'), campusUser(8)];
    const { job, report } = await load(a, almaXml(users), 'application/xml');
    assert.equal(job.progress.created, 2);
    assert.deepEqual(report.map((r) => r[2]), [univId(5), univId(7)]);
    assert.match(report[0]![4]!, /User with identifier B0000001 of type BARCODE already exists/);
    assert.match(report[1]![4]!, /identifier shared of type BARCODE already exists/);
    assert.equal(await countUsers(ctx.app, inst.id), 4);
  });

  test('unknown user groups and identifier types fail their records', async () => {
    const { inst, a } = await setup();
    const users = [campusUser(0, { group: 'ASTRONAUT' }), { ...campusUser(1), user_identifier: [{ id_type: 'UNIV_ID', value: univId(1) }, { id_type: 'SHOE_SIZE', value: '42' }] }, campusUser(2)];
    const { job, report } = await load(a, almaXml(users), 'application/xml');
    assert.equal(job.progress.created, 1);
    assert.deepEqual(report.map((r) => r[4]), ['Given user group (ASTRONAUT) is not legal.', 'Given user identifier type (SHOE_SIZE) is invalid.']);
    assert.equal(await countUsers(ctx.app, inst.id), 1);
  });

  test('a record without its match id fails (Alma: the match id must be in every record)', async () => {
    const { a } = await setup();
    const { job, report } = await load(a, almaXml([{ ...campusUser(0), user_identifier: [] }, campusUser(1)]), 'application/xml');
    assert.equal(job.progress.created, 1);
    assert.deepEqual(report.map((r) => r[4]), ['Mandatory field is missing: the match id (UNIV_ID).']);
  });

});
