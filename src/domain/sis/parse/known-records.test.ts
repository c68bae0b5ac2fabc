// Known records (known-records.ts): a file read with them gives the records, lines and refusals
// of the file read without them (a known record as its line and hash and key only), and passes by unparsed exactly the records whose text is known
// and which stand between two records; text that only looks like one (in a comment, cut by a CDATA
// section holding "</user>") is parsed as before.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import { recordHash } from '../record-hash.js';
import { knownRecords, knownRecordsData, knownRecordsPacker } from './known-records.js';
import { readUserFile, type FileFormat, type RawRecord } from './read-user-file.js';

const dir = mkdtempSync(join(tmpdir(), 'carrel-known-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const XML: FileFormat = { format: 'alma_xml', csvMapping: null };
const FP = 'rules-fingerprint';

/** Letters that do not compress much (a zip of repeated text would be refused as a bomb). */
const noise = (n: number, seed: number) => {
  let x = seed + 1;
  return Array.from({ length: n }, () => String.fromCharCode(97 + ((x = (x * 1103515245 + 12345) % 2 ** 31) % 26))).join('');
};
const user = (i: number, body = '') => `<user><primary_id>P${i}</primary_id><last_name>Lee</last_name>${body}</user>`;

/** 3,000 users, some large (records cross the reader's 256 kB chunks), with the awkward cases. */
function records(): string[] {
  return Array.from({ length: 3000 }, (_, i) => {
    if (i === 10) return `<user >\r\n  <primary_id>P${i}</primary_id>\r\n  <last_name>Crlf</last_name>\r\n</user>`;
    if (i === 11) return `<user>\r  <primary_id>P${i}</primary_id>\r  <last_name>Lone CR</last_name>\r</user>`;
    if (i === 20) return user(i, '<user_note><note_text><![CDATA[ends with </user> inside]]></note_text></user_note>');
    if (i === 30) return `<!-- ${user(31)} -->\n${user(i)}`;
    if (i === 40) return `${user(i)}<!-- between -->`;
    return user(i, i % 50 === 0 ? `<job_description>${noise(90_000, i)}</job_description>` : '');
  });
}
const doc = (users: string[], tail = '</users>\n') => `<?xml version="1.0" encoding="UTF-8"?>\n<users>\n${users.join('\n  ')}\n${tail}`;

async function all(path: string, known?: ReturnType<typeof knownRecords>): Promise<{ records: RawRecord[]; error?: Error }> {
  const out: RawRecord[] = [];
  try {
    for await (const r of readUserFile(path, 'users.xml', XML, { known })) out.push(r);
    return { records: out };
  } catch (error) {
    return { records: out, error: error as Error };
  }
}

/** Known data for these records, as the database would give it. */
function knownOf(recs: RawRecord[]) {
  const rows = recs.map((r) => ({ hash: recordHash(FP, r.raw!), value: r.primaryId!, lowered: r.primaryId!.toLowerCase() }));
  return knownRecords(knownRecordsData(FP, rows)!);
}

/** Reads `content` with and without known records; each record the same, and which ones were known. */
async function compare(path: string, knownEvery: (i: number) => boolean) {
  const plain = await all(path);
  const k = knownOf(plain.records.filter((_, i) => knownEvery(i)));
  const skim = await all(path, k);
  assert.equal(skim.error?.message, plain.error?.message);
  // A refused file is refused whole; how many records came before the refusal depends on chunks.
  if (!plain.error) assert.equal(skim.records.length, plain.records.length);
  else plain.records.length = Math.min(plain.records.length, skim.records.length);
  const knownAt: number[] = [];
  skim.records.forEach((r, i) => {
    const p = plain.records[i]!;
    if (!r.known) return assert.deepEqual(r, p);
    knownAt.push(i);
    assert.deepEqual(r, { where: p.where, line: p.line, known: r.known }, `record ${i}`);
    assert.deepEqual(r.known, { hash: recordHash(FP, p.raw!), key: p.primaryId!.toLowerCase() });
  });
  return { plain, knownAt };
}

test('a file read with known records: the same records, lines and text; the known ones pass unparsed', async () => {
  const path = join(dir, 'users.xml');
  writeFileSync(path, doc(records()));
  const { plain, knownAt } = await compare(path, (i) => i % 7 !== 3);
  assert.equal(plain.records.length, 3000, 'the commented-out record is not one');
  const eligible = plain.records.map((_, i) => i).filter((i) => i % 7 !== 3);
  // Not passed by: the first (no record before it), the one cut by its CDATA, the one after a
  // comment, the one after a comment that follows a record, and those after an unknown record
  // are still known (the parser ends each record before the next is looked at).
  const missed = eligible.filter((i) => !knownAt.includes(i));
  assert.deepEqual(missed, [0, 20, 30, 41]);
  assert.ok(knownAt.every((i) => i % 7 !== 3), 'only known texts pass by');
});

test('the same from a zip (other chunk sizes), and a record changed by one character is parsed', async () => {
  const recs = records();
  const path = join(dir, 'users.zip');
  writeFileSync(path, zipSync({ 'a.xml': strToU8(doc(recs.slice(0, 1500))), 'b.xml': strToU8(doc(recs.slice(1500))) }));
  const plainNames = await all(path);
  assert.equal(plainNames.error, undefined);
  assert.equal(plainNames.records.length, 3000);
  const k = knownOf(plainNames.records);
  recs[100] = recs[100]!.replace('Lee', 'Lea');
  writeFileSync(path, zipSync({ 'a.xml': strToU8(doc(recs.slice(0, 1500))), 'b.xml': strToU8(doc(recs.slice(1500))) }));
  const plain = await all(path);
  const skim = await all(path, k);
  assert.equal(skim.records.length, 3000);
  skim.records.forEach((r, i) => {
    if (!r.known) return assert.deepEqual(r, plain.records[i]);
    assert.deepEqual(r, { where: plain.records[i]!.where, line: plain.records[i]!.line, known: r.known });
  });
  assert.equal(skim.records[100]!.known, undefined);
  assert.equal(skim.records[100]!.primaryId, 'P100');
  assert.equal(skim.records[1500]!.known, undefined, "the second file's first record");
  assert.ok(skim.records.filter((r) => r.known).length > 2900);
});

test('a file refused after known records: the same refusal, at the same line, after the same records', async () => {
  const recs = records().slice(0, 200);
  const path = join(dir, 'broken.xml');
  writeFileSync(path, doc(recs, '<user><primary_id>x</user></users>\n'));
  const { plain, knownAt } = await compare(path, () => true);
  assert.match(plain.error!.message, /line 2\d\d/);
  assert.ok(knownAt.length >= 90, `${knownAt.length} known`);
});

test('known data leaves out what says nothing certain: shared hashes, other forms, keys cased otherwise', () => {
  const h = (c: string) => c.repeat(32);
  const data = knownRecordsData(FP, [
    { hash: h('B'), value: 'b1', lowered: 'b1' },
    { hash: h('A'), value: 'a1', lowered: 'a1' },
    { hash: h('B'), value: 'b2', lowered: 'b2' },
    { hash: 'short', value: 'c1', lowered: 'c1' },
    { hash: h('D'), value: 'D1', lowered: 'd1' },
    { hash: h('E'), value: 'E1', lowered: 'x1' },
  ]);
  assert.deepEqual({ ...data, ends: [...data!.ends] }, { fingerprint: FP, hashes: h('A') + h('D'), keys: 'a1d1', ends: [2, 4] });
  const unsorted = knownRecordsData(FP, [{ hash: h('B'), value: 'b', lowered: 'b' }, { hash: h('A'), value: 'a', lowered: 'a' }]);
  assert.deepEqual([unsorted?.hashes, unsorted?.keys], [h('A') + h('B'), 'ab'], 'sorted by hash');
  assert.equal(knownRecordsData(FP, []), null);
});

test('packed page by page: a run of one hash across pages is still left out; rows out of order give none', () => {
  const h = (c: string) => c.repeat(32);
  const rows = ['A', 'B', 'B', 'B', 'C', 'D', 'D', 'E'].map((c, i) => ({ hash: h(c), value: `v${i}`, lowered: `v${i}` }));
  const whole = knownRecordsData(FP, rows);
  assert.deepEqual([whole?.hashes, whole?.keys], [h('A') + h('C') + h('E'), 'v0v4v7']);
  for (let size = 1; size <= rows.length; size++) {
    const packer = knownRecordsPacker(FP);
    for (let at = 0; at < rows.length; at += size) packer.add(rows.slice(at, at + size));
    const paged = packer.finish();
    assert.deepEqual({ ...paged, ends: [...paged!.ends] }, { ...whole, ends: [...whole!.ends] }, `pages of ${size}`);
  }
  const many = Array.from({ length: 3000 }, (_, i) => ({ hash: String(i).padStart(32, '0'), value: `k${i}`, lowered: `k${i}` }));
  const big = knownRecordsPacker(FP);
  big.add(many.slice(0, 1000));
  big.add(many.slice(1000));
  assert.equal(big.finish()!.ends.length, 3000, 'ends grow past their first size');
  const disorder = knownRecordsPacker(FP);
  disorder.add([rows[4]!, rows[0]!]);
  assert.equal(disorder.finish(), null);
});
