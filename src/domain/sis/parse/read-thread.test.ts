// readUserFile on its own thread (a load's pass one): the same records in the same order as the
// file read here, the same refusal with the records before it, and a thread that stops when the
// reader stops early.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { zipSync, strToU8 } from 'fflate';
import { AppError } from '../../../errors.js';
import { mapRawRecords, readUserFile, type FileFormat, type RawRecord } from './read-user-file.js';
import { readUserFileInThread, type ThreadReadOptions } from './read-thread.js';

const dir = mkdtempSync(join(tmpdir(), 'carrel-read-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const XML: FileFormat = { format: 'alma_xml', csvMapping: null };

const user = (i: number, pad = '') =>
  `<user><primary_id>p${i}</primary_id><last_name>Lee${pad}</last_name>` +
  `<user_identifiers><user_identifier><id_type>UNIV_ID</id_type><value>u${i}</value></user_identifier></user_identifiers></user>`;
const doc = (users: string[], tail = '</users>\n') => `<?xml version="1.0" encoding="UTF-8"?>\n<users>\n${users.join('\n')}\n${tail}`;

/** The thread's records one by one (it gives them in chunks). */
async function* records(path: string, name: string, opts?: ThreadReadOptions): AsyncGenerator<RawRecord> {
  for await (const chunk of readUserFileInThread(path, name, XML, opts)) yield* chunk;
}

async function all(reader: AsyncIterable<RawRecord>): Promise<{ records: RawRecord[]; error?: unknown }> {
  const records: RawRecord[] = [];
  try {
    for await (const r of reader) records.push(r);
    return { records };
  } catch (error) {
    return { records, error };
  }
}

test('a zip of two files: the same records, in the same order, as read in this thread (many messages of them)', async () => {
  // Large records too, so that messages are cut by size as well as by count.
  const users = Array.from({ length: 1200 }, (_, i) => user(i, i % 97 === 0 ? 'x'.repeat(100_000) : ''));
  const path = join(dir, 'two.zip');
  writeFileSync(path, zipSync({ 'a.xml': strToU8(doc(users.slice(0, 700))), 'b.xml': strToU8(doc(users.slice(700))) }));
  const here = await all(readUserFile(path, 'two.zip', XML));
  const there = await all(records(path, 'two.zip'));
  assert.equal(here.error, undefined);
  assert.equal(there.error, undefined);
  assert.equal(there.records.length, 1200);
  assert.deepEqual(there.records, here.records);
});

test('mapping as it reads, once asked: later records come mapped, as pass two would map them; the rest as before', async () => {
  const path = join(dir, 'mapped.xml');
  writeFileSync(path, doc(Array.from({ length: 2000 }, (_, i) => user(i))));
  const here = await all(readUserFile(path, 'mapped.xml', XML));
  let taken = 0;
  const there = await all((async function* () {
    for await (const r of records(path, 'mapped.xml', { mapWanted: () => taken >= 500 })) {
      taken++;
      yield r;
    }
  })());
  assert.equal(there.error, undefined);
  assert.deepEqual(there.records.map(({ mapped: _, ...r }) => r), here.records);
  const first = there.records.findIndex((r) => r.mapped);
  assert.ok(first >= 500 && first < 2000, `mapping began at record ${first}`);
  assert.ok(there.records.slice(first).every((r) => r.mapped), 'every record after the first mapped one');
  assert.ok(there.records.slice(0, first).every((r) => !r.mapped));
  const expected = mapRawRecords(XML, there.records.slice(first).map((r) => r.raw!));
  there.records.slice(first).forEach((r, k) => assert.deepEqual(JSON.parse(r.mapped!.input!), expected[k]!.input));
});

test('a file refused in the middle: the same refusal, after the same records', async () => {
  const path = join(dir, 'broken.xml');
  writeFileSync(path, doc(Array.from({ length: 600 }, (_, i) => user(i)), '<user><primary_id>x</user></users>\n'));
  const here = await all(readUserFile(path, 'broken.xml', XML));
  const there = await all(records(path, 'broken.xml'));
  assert.ok(there.error instanceof AppError, String(there.error));
  assert.equal(there.error.code, 'SIS_FILE_REFUSED');
  assert.equal(there.error.message, (here.error as Error).message);
  assert.deepEqual(there.records, here.records);
  assert.ok(there.records.length > 0);
});

test('a file that is not there fails the same way; a reader that stops early stops the thread', async () => {
  const missing = await all(records(join(dir, 'nothing.xml'), 'nothing.xml'));
  assert.ok(missing.error instanceof Error);
  assert.match(missing.error.message, /ENOENT/);
  assert.equal((missing.error as NodeJS.ErrnoException).code, 'ENOENT');

  const path = join(dir, 'long.xml');
  writeFileSync(path, doc(Array.from({ length: 5000 }, (_, i) => user(i))));
  let seen = 0;
  for await (const r of records(path, 'long.xml')) {
    assert.equal(r.primaryId, `p${seen}`);
    if (++seen === 10) break;
  }
  assert.equal(seen, 10);
  // The test process ends (node:test waits for nothing left running) only if the thread is gone.
});
