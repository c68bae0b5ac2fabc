// The SIS file readers on their own: each format, zipped or not, and the files they refuse whole.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { zipSync } from 'fflate';
import { AppError } from '../../../errors.js';
import type { CsvMapping } from '../../../model/profile.js';
import { mapRawRecords, readUserFile, type MappedRecord, type RawRecord } from './read-user-file.js';
import type { UserInput } from '../../../model/user.js';

const dir = mkdtempSync(join(tmpdir(), 'carrel-parse-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function fileOf(content: string | Uint8Array): string {
  const path = join(dir, `f${n++}`);
  writeFileSync(path, content);
  return path;
}

type Read = RawRecord & { input?: UserInput };

/** Pass one, then pass two's mapping of every readable record: what a load sees of each record. */
async function read(content: string | Uint8Array, format: 'alma_xml' | 'csv' | 'jsonl' = 'alma_xml', csvMapping: CsvMapping | null = null): Promise<Read[]> {
  const out: Read[] = [];
  for await (const r of readUserFile(fileOf(content), 'users.xml', { format, csvMapping })) out.push(r);
  const readable = out.filter((r) => r.raw !== undefined);
  const mapped = mapRawRecords({ format, csvMapping }, readable.map((r) => r.raw!));
  if (format === 'alma_xml') await sameWhenMappedInPassOne(content, out, mapped);
  mapped.forEach((m, k) => {
    if (m.input) readable[k]!.input = m.input;
    else readable[k]!.error = m.error;
  });
  return out;
}

/**
 * Every XML case below, read again mapping each record in the same parse (a first load): the
 * same records, and the same mapping as pass two's, down to the error message.
 */
async function sameWhenMappedInPassOne(content: string | Uint8Array, plain: RawRecord[], mapped: MappedRecord[]): Promise<void> {
  const again: RawRecord[] = [];
  for await (const r of readUserFile(fileOf(content), 'users.xml', { format: 'alma_xml', csvMapping: null }, { mapWanted: () => true })) again.push(r);
  assert.deepEqual(again.map(({ mapped: _, ...r }) => r), plain);
  const readable = again.filter((r) => r.raw !== undefined);
  assert.equal(readable.length, mapped.length);
  readable.forEach((r, k) => {
    const m = mapped[k]!;
    assert.ok(r.mapped, `record ${k} mapped in pass one`);
    if (m.input) assert.deepEqual(JSON.parse(r.mapped.input!), m.input);
    else assert.equal(r.mapped.error, m.error);
  });
}

async function refused(content: string | Uint8Array, pattern: RegExp, format: 'alma_xml' | 'csv' | 'jsonl' = 'alma_xml', csvMapping: CsvMapping | null = null) {
  await assert.rejects(read(content, format, csvMapping), (err: unknown) => {
    assert.ok(err instanceof AppError, String(err));
    assert.equal(err.code, 'SIS_FILE_REFUSED');
    assert.match(err.message, pattern);
    return true;
  });
}

const USER = (id: string, extra = '') =>
  `<user><primary_id>${id}</primary_id><first_name>Ann</first_name><last_name>Lee</last_name><user_group desc="Grad">GRAD</user_group>` +
  `<user_identifiers><user_identifier segment_type="External"><id_type>UNIV_ID</id_type><value>00${id}</value></user_identifier></user_identifiers>${extra}</user>`;
const DOC = (...users: string[]) => `<?xml version="1.0" encoding="UTF-8"?>\n<users>\n${users.join('\n')}\n</users>\n`;

describe('Alma user XML', () => {
  test('each <user> becomes a record through the API mapping, with its line; leading zeros and codes kept', async () => {
    const records = await read(DOC(USER('a1'), USER('a2', '<contact_info><emails><email preferred="true"><email_address>a@x.org</email_address></email></emails></contact_info>')));
    assert.equal(records.length, 2);
    assert.equal(records[0]!.line, 3);
    assert.equal(records[1]!.line, 4);
    assert.equal(records[0]!.input?.primaryId, 'a1');
    assert.equal(records[0]!.input?.userGroup, 'GRAD');
    assert.equal(records[0]!.input?.identifiers?.[0]?.value, '00a1');
    assert.equal(records[1]!.input?.contactInfo?.emails[0]?.address, 'a@x.org');
  });

  test('pass one reads the match ids, external_id and the raw element without mapping', async () => {
    const [r] = await read(DOC(USER('p1', '<external_id>CAMPUS</external_id>')));
    assert.equal(r!.primaryId, 'p1');
    assert.equal(r!.externalId, 'CAMPUS');
    assert.deepEqual(r!.identifiers, [{ type: 'UNIV_ID', value: '00p1' }]);
    assert.match(r!.raw!, /^<user><primary_id>p1<\/primary_id>.*<\/user>$/);
  });

  test('a zip of several XML files is read entry by entry, in order; folders and dot files are left out', async () => {
    const zip = zipSync({ 'a.xml': Buffer.from(DOC(USER('z1'))), 'more/b.xml': Buffer.from(DOC(USER('z2'), USER('z3'))), '__MACOSX/._a.xml': Buffer.from('junk'), '.hidden': Buffer.from('x') });
    const records = await read(zip);
    assert.deepEqual(records.map((r) => r.input?.primaryId), ['z1', 'z2', 'z3']);
    assert.match(records[2]!.where, /more\/b\.xml line 4/);
  });

  test('a record the mapping cannot read fails alone', async () => {
    const records = await read(DOC(USER('ok1'), '<user><primary_id>bad</primary_id><is_researcher>perhaps</is_researcher></user>', USER('ok2')));
    assert.equal(records.length, 3);
    assert.ok(records[1]!.error && /is_researcher/.test(records[1]!.error));
    assert.equal(records[2]!.input?.primaryId, 'ok2');
  });

  test('DOCTYPE and entity declarations are refused (billion laughs, external entities)', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE users [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><users><user><first_name>&c;</first_name></user></users>`;
    await refused(bomb, /DOCTYPE/);
    await refused(`<?xml version="1.0"?><!DOCTYPE users SYSTEM "file:///etc/passwd"><users/>`, /DOCTYPE/);
    await refused(DOC(`<user><first_name>&undeclared;</first_name></user>`), /line 3: .*undefined entity|line 3/);
  });

  test('nesting deeper than the limit is refused', async () => {
    await refused(DOC(`<user>${'<x>'.repeat(100)}${'</x>'.repeat(100)}</user>`), /nested deeper than 32/);
  });

  test('an oversized element is refused before it is held in memory', async () => {
    await refused(DOC(`<user><first_name>${'a'.repeat(3 << 20)}</first_name></user>`), /larger than/);
  });

  test('truncated XML, another root, not XML at all: refused with the line', async () => {
    await refused(DOC(USER('t1'), USER('t2')).slice(0, -40), /line \d+: /);
    await refused('<people><user/></people>', /root element must be <users>/);
    await refused(DOC('<person/>'), /expected <user>/);
    await refused('primary_id,first_name\nx,y\n', /not an XML file/);
  });

  test('wrong encodings are refused: Latin-1 bytes, a UTF-16 file, a declared non-UTF-8 encoding', async () => {
    const latin1 = Buffer.concat([Buffer.from(DOC(USER('e1')).replace('Ann', 'Ann').slice(0, 60)), Buffer.from([0x5a, 0xe9, 0x6c, 0x69, 0x65]), Buffer.from('</users>')]);
    await refused(latin1, /not valid UTF-8/);
    await refused(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(DOC(USER('u16')), 'utf16le')]), /UTF-16/);
    await refused(DOC(USER('d1')).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'), /declares encoding ISO-8859-1/);
  });

  test('a truncated or damaged zip is refused before any entry is read', async () => {
    const zip = zipSync({ 'users.xml': Buffer.from(DOC(USER('x1'), USER('x2'))) });
    await refused(zip.subarray(0, zip.length - 30), /not a complete zip file/);
    await refused(zipSync({}), /no files|not a complete zip/);
  });

  test('zip entries are checked as they inflate: stored or deflated alike; a bomb, a misstated size, another method refused', async () => {
    const doc = Buffer.from(DOC(USER('s1'), USER('s2'), USER('s3')));
    const deflated = await read(zipSync({ 'users.xml': doc }, { level: 9 }));
    assert.deepEqual(await read(zipSync({ 'users.xml': doc }, { level: 0 })), deflated);
    assert.deepEqual(deflated.map((r) => r.primaryId), ['s1', 's2', 's3']);
    // 30 MB of blanks deflate about a thousand to one: refused before a byte is inflated.
    await refused(zipSync({ 'users.xml': Buffer.concat([doc, Buffer.alloc(30e6, 0x20)]) }), /inflates far beyond its compressed size/);
    // The central directory's record of the entry (what the reader trusts): method at +10, size at +24.
    const patched = (edit: (zip: Buffer, at: number) => void) => {
      const zip = Buffer.from(zipSync({ 'users.xml': doc }, { level: 9 }));
      edit(zip, zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
      return zip;
    };
    await refused(patched((z, at) => z.writeUInt32LE(doc.length - 10, at + 24)), new RegExp(`holds more than the ${doc.length - 10} bytes the zip states`));
    await refused(patched((z, at) => z.writeUInt32LE(doc.length + 10, at + 24)), new RegExp(`holds ${doc.length} bytes, not the ${doc.length + 10}`));
    await refused(patched((z, at) => z.writeUInt16LE(12, at + 10)), /compression method 12 is not supported/);
  });
});

describe('CSV with a column mapping', () => {
  const mapping: CsvMapping = { ID: 'identifier:UNIV_ID', Login: 'primary_id', First: 'first_name', Last: 'last_name', Mail: 'email:school', Group: 'user_group', Note: '' };

  test('rows become users by the mapping (any column order; ignored columns ignored)', async () => {
    const records = await read('Login,First,Last,ID,Mail,Group,Note\njl,Jo,"Lee, Jr.",0042,jo@x.org,GRAD,whatever\n', 'csv', mapping);
    assert.equal(records.length, 1);
    const u = records[0]!.input!;
    assert.equal(u.primaryId, 'jl');
    assert.equal(u.lastName, 'Lee, Jr.');
    assert.equal(u.identifiers?.[0]?.value, '0042');
    assert.equal(u.contactInfo?.emails[0]?.address, 'jo@x.org');
    assert.deepEqual(u.contactInfo?.emails[0]?.types, ['school']);
    assert.equal(records[0]!.line, 2);
  });

  test('a row with the wrong number of fields (shifted columns) fails alone, with its line', async () => {
    const records = await read('ID,Login,First,Last,Mail,Group,Note\n1,a,A,Aa,a@x.org,GRAD,\n2,b,B,Bb,b@x.org,GRAD\n3,c,C,Cc,c@x.org,GRAD,,extra\n4,d,D,Dd,d@x.org,GRAD,\n', 'csv', mapping);
    assert.equal(records.length, 4);
    assert.match(records[1]!.error!, /line 3 has 6 fields where the header has 7/);
    assert.match(records[2]!.error!, /line 4 has 8 fields/);
    assert.equal(records[3]!.input?.primaryId, 'd');
  });

  test('a header that does not match the mapping refuses the whole file', async () => {
    await refused('ID,Login,First,Surname,Mail,Group,Note\n1,a,A,Aa,a@x.org,GRAD,\n', /missing "Last"; not in the mapping "Surname"/, 'csv', mapping);
    await refused('ID,Login,First,Last,Mail,Group\n', /missing "Note"/, 'csv', mapping);
    await refused('', /empty/, 'csv', mapping);
  });

  test('an unclosed quote refuses the file with its line', async () => {
    await refused('ID,Login,First,Last,Mail,Group,Note\n1,a,"A,Aa,a@x.org,GRAD,\n', /not a readable CSV file/, 'csv', mapping);
  });
});

describe('JSON lines', () => {
  test('each line is an Alma JSON user; a bad line fails alone; blank lines are skipped', async () => {
    const lines = [JSON.stringify({ primary_id: 'j1', user_group: { value: 'GRAD' } }), '', '{"primary_id": "j2",', JSON.stringify({ primary_id: 'j3' })];
    const records = await read(lines.join('\n'), 'jsonl');
    assert.deepEqual(records.map((r) => r.input?.primaryId ?? 'error'), ['j1', 'error', 'j3']);
    assert.match(records[1]!.error!, /line 3 is not valid JSON/);
    assert.equal(records[2]!.line, 4);
  });

  test('a file that does not start with a JSON object is not JSON lines', async () => {
    await refused('<users></users>\n', /not JSON lines/, 'jsonl');
  });
});
