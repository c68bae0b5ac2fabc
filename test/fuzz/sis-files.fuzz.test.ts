// Fuzzing SIS files of every format (Alma XML, zipped or not, CSV, JSON lines): mutated from a
// valid file, read by the parse functions directly (many cases, no database), and loaded through
// the upload API and the job worker (fewer cases). A file is read or refused with
// SIS_FILE_REFUSED, never crashes the reader; a load ends succeeded or refused, never with an
// internal error, and a refused file writes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { AppError } from '../../src/errors.js';
import { mapRawRecords, readUserFile, type FileFormat } from '../../src/domain/sis/parse/read-user-file.js';
import { createTestContext, type TestContext } from '../helpers/app.js';
import { almaXml, campusUser, CSV_MAPPING, csvOf, jsonlOf, range, zipOf, type AlmaJsonUser } from '../helpers/campus-file.js';
import { api as sisApi, runQueue } from '../helpers/sis.js';
import { fingerprint, mutatedJson, mutatedText, params } from './fuzz-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'carrel-fuzz-'));
let fileNo = 0;
let ctx: TestContext;
/** One institution per format: the campus files name their profile CAMPUS. */
const apis = new Map<string, ReturnType<typeof sisApi>>();

before(async () => {
  ctx = await createTestContext({ config: { uploadLimit: 4 * 1024 * 1024 } });
  for (const [code, format] of [['XML', 'alma_xml'], ['CSV', 'csv'], ['JSONL', 'jsonl']] as const) {
    const a = sisApi(ctx.server, (await ctx.institution()).key);
    apis.set(code, a);
    const res = await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format, ...(format === 'csv' ? { csv_mapping: CSV_MAPPING } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
});
after(async () => {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
});

type Kind = 'alma_xml' | 'zip' | 'csv' | 'jsonl';
const FORMAT: Record<Kind, FileFormat> = {
  alma_xml: { format: 'alma_xml', csvMapping: null },
  zip: { format: 'alma_xml', csvMapping: null },
  csv: { format: 'csv', csvMapping: CSV_MAPPING },
  jsonl: { format: 'jsonl', csvMapping: null },
};
const PROFILE: Record<Kind, string> = { alma_xml: 'XML', zip: 'XML', csv: 'CSV', jsonl: 'JSONL' };
const TYPE: Record<Kind, string> = { alma_xml: 'application/xml', zip: 'application/zip', csv: 'text/csv', jsonl: 'application/x-ndjson' };

function fileOf(kind: Kind, users: AlmaJsonUser[]): Buffer {
  if (kind === 'csv') return Buffer.from(csvOf(users));
  if (kind === 'jsonl') return Buffer.from(jsonlOf(users));
  const xml = almaXml(users);
  return kind === 'zip' ? zipOf({ 'users.xml': xml }) : Buffer.from(xml);
}

/**
 * A file of four good users, one of them mutated, or the bytes of a good file damaged.
 * `unsafe`: its third record holds NUL or a lone surrogate in a field a load reads, so must fail.
 */
function hostileFile(kind: Kind): fc.Arbitrary<{ bytes: Buffer; unsafe: boolean }> {
  const good = [...range(0, 4, (i) => campusUser(i))];
  const oneBadUser = mutatedJson(campusUser(2)).map((bad) => {
    try {
      return fileOf(kind, [good[0]!, good[1]!, bad as AlmaJsonUser, good[3]!]);
    } catch {
      // The CSV writer of the test helpers needs its shape; a mutation that breaks it is no file.
      return fileOf(kind, good);
    }
  });
  // Text no field may hold, in one of the user's string fields.
  const unsafeUser = fc
    .tuple(fc.constantFrom('first_name', 'last_name', 'primary_id', 'campus_code', 'user_group'), fc.constantFrom('\udfff', 'a\u0000b', 'x\ud800'))
    .map(([field, value]) => ({ bytes: fileOf(kind, [good[0]!, good[1]!, { ...good[2]!, [field]: value }, good[3]!]), unsafe: kind === 'jsonl' }));
  const damaged = mutatedText(fileOf(kind, good).toString('latin1')).map((b) => Buffer.from(b.toString(), 'latin1'));
  return fc.oneof(oneBadUser.map((bytes) => ({ bytes, unsafe: false })), unsafeUser, damaged.map((bytes) => ({ bytes, unsafe: false })));
}

/** Everything a load reads of a file: pass one and pass two. Throws only SIS_FILE_REFUSED. */
async function readAll(kind: Kind, bytes: Buffer): Promise<void> {
  const path = join(dir, `f${fileNo++}`);
  writeFileSync(path, bytes);
  try {
    const raws: string[] = [];
    for await (const r of readUserFile(path, `upload.${kind}`, FORMAT[kind])) if (r.raw !== undefined) raws.push(r.raw);
    mapRawRecords(FORMAT[kind], raws);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'SIS_FILE_REFUSED') throw err;
  } finally {
    rmSync(path, { force: true });
  }
}

for (const kind of ['alma_xml', 'zip', 'csv', 'jsonl'] as const) {
  test(`${kind}: the parse functions read or refuse any file, never crash`, async () => {
    await fc.assert(fc.asyncProperty(hostileFile(kind), (f) => readAll(kind, f.bytes)), params(400));
  });
}

test('every format through the upload API and the worker: succeeded or refused, nothing written when refused', async () => {
  const kinds = fc.constantFrom<Kind>('alma_xml', 'zip', 'csv', 'jsonl');
  await fc.assert(
    fc.asyncProperty(
      kinds.chain((kind) => fc.tuple(fc.constant(kind), hostileFile(kind))),
      async ([kind, { bytes, unsafe }]) => {
        const before = await fingerprint(ctx.app);
        const a = apis.get(PROFILE[kind])!;
        const up = await a.upload('CAMPUS', bytes, TYPE[kind]);
        assert.ok(up.status === 202 || (up.status >= 400 && up.status < 500), `${up.status} ${JSON.stringify(up.body)}`);
        if (up.status !== 202) return;
        await runQueue(ctx.app);
        const job = await a.job(up.body.id);
        assert.ok(job.status === 'succeeded' || job.status === 'failed', JSON.stringify(job));
        if (job.status === 'failed') {
          assert.match(String(job.error), /^The file was refused and nothing was loaded: /, JSON.stringify(job));
          assert.deepEqual(await fingerprint(ctx.app), before);
        }
        const report = (await a.errorsCsv(up.body.id)).slice(1);
        for (const row of report) assert.doesNotMatch(row[4] ?? '', /General Error|internal|TypeError|RangeError/i, row.join(','));
        // A record with NUL or a lone surrogate fails (alone), it is never loaded as U+FFFD.
        if (unsafe) assert.ok(report.some((r) => r[0] === '3' && r[3] === 'failed'), `loaded a record with NUL or a lone surrogate: ${bytes.toString()}`);
      },
    ),
    params(200),
  );
});
