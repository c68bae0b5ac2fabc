// Pass one of a load: read the whole file, check it as a file, and spool its records (numbered
// in file order) to a local JSON-lines file. Anything wrong with the file as a whole throws
// SIS_FILE_REFUSED here, before a single user is written. On the way, each batch of records is
// shown to `scan` (match ids already read, users already known and unchanged), while the next
// batch is being parsed; what scan settles needs no mapping in pass two.
//
// "A file for the wrong institution": a record naming an external_id other than this profile's
// code was exported for another SIS profile (of this or another institution). Alma sets
// external_id to the profile code anyway, so a file that says otherwise is the wrong file, and
// the whole file is refused rather than loaded under the wrong profile.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { AppError } from '../../errors.js';
import type { UserInput } from '../../model/user.js';
import { shownText, unsafeTextReason } from '../../model/safe-text.js';
import { rawMatchKey } from './match.js';
import type { FileFormat, RawRecord } from './parse/read-user-file.js';
import type { KnownRecordsData } from './parse/known-records.js';
import { readUserFileInThread } from './parse/read-thread.js';
import { fileRefused } from './parse/text.js';

/** What pass one settles without mapping: the user is unchanged, or not this load's to touch. */
export type FastDecision = { action: 'unchanged' } | { action: 'skip'; reason: string; report: boolean };

export interface SpoolRecord {
  n: number;
  /** The record's line in the file, for its report (0 for a record pass one settled as counted-only). */
  line: number;
  /** The match id, lower-cased, and as the file wrote it. */
  key?: string;
  keyValue?: string;
  /** recordHash of the raw record under the load's rules. */
  hash?: string;
  /** An earlier record of the file has the same match id. */
  dupOf?: number;
  fast?: FastDecision;
  /** The record mapped in pass one (Alma XML, while most records need mapping), or why it cannot be. */
  input?: UserInput;
  mapError?: string;
  /** Otherwise the raw record, for pass two to map (absent when nothing is left to decide). */
  raw?: string;
  error?: string;
}

export interface ScanItem {
  n: number;
  key: string | null;
  hash: string;
  /** Read without parsing (known-records.ts). */
  known: boolean;
}

export interface Scan {
  (items: ScanItem[]): Promise<{ dupOf?: number; fast?: FastDecision }[]>;
  /** After the last batch: waits for what the scan still does, and throws KnownRecordUnsettled if a known record was not settled. */
  settle(): Promise<void>;
}

export interface SpoolOptions {
  profileCode: string;
  matchBy: string;
  format: FileFormat;
  hashOf: (raw: string) => string;
  scan: Scan;
  /** Records whose text a stored user was last loaded from: read without parsing (Alma XML). */
  known?: KnownRecordsData | null;
  batchSize: number;
}

type Numbered = RawRecord & { n: number; key: string | null; keyValue: string | null; hash: string };

/**
 * Why a record's keys (ids it is matched, checked and reported by) cannot be used, or null.
 * Such a record fails alone: its NUL or lone surrogate must not reach a key column or a message.
 */
function unsafeKeys(raw: RawRecord): string | null {
  const keys: [string, string | null | undefined][] = [
    ['primary_id', raw.primaryId],
    ['external_id', raw.externalId],
    ...(raw.identifiers ?? []).flatMap((i): [string, string][] => [['user_identifier.id_type', i.type], ['user_identifier.value', i.value]]),
  ];
  for (const [field, value] of keys) {
    const reason = typeof value === 'string' ? unsafeTextReason(value) : null;
    if (reason) return new AppError('INVALID_VALUE', { field, value: shownText(value!), reason }).message;
  }
  return null;
}

/** A known record (read without its text) that pass one did not settle as counted only. */
export class KnownRecordUnsettled extends Error {}

export async function spoolFile(path: string, displayName: string, spoolPath: string, o: SpoolOptions): Promise<{ total: number }> {
  try {
    return await spoolOnce(path, displayName, spoolPath, o);
  } catch (err) {
    if (!(err instanceof KnownRecordUnsettled)) throw err;
    await o.scan.settle().catch(() => {});
    // A known record repeats an earlier record's match id, and its report needs its own text:
    // pass one again, every record parsed. The match ids seen so far are kept with their record
    // numbers, so they give the same answers again (as after a crash).
    return spoolOnce(path, displayName, spoolPath, { ...o, known: null });
  }
}

async function spoolOnce(path: string, displayName: string, spoolPath: string, o: SpoolOptions): Promise<{ total: number }> {
  const out = createWriteStream(spoolPath);
  out.on('error', () => {});
  let n = 0;
  let batch: Numbered[] = [];
  let inflight: Promise<void> | undefined;

  const put = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  // Consecutive records settled the same way and only counted (an unchanged user, an import
  // profile's expected skip) are spooled as one line, a run: a nightly file of unchanged users is
  // a few lines, not one JSON object per user written here and parsed again in pass two.
  let run: SpoolRun | undefined;
  // Whether the reading thread should map records: yes while most of the last batch needed it.
  let mapWanted = false;
  const endRun = async () => {
    if (run) await put(JSON.stringify(run));
    run = undefined;
  };
  const write = async (records: Numbered[], notes: Awaited<ReturnType<Scan>>) => {
    let toMap = 0;
    for (const [k, r] of records.entries()) {
      const note = notes[k] ?? {};
      if (!r.error && !note.dupOf && note.fast && countedOnly(note.fast)) {
        if (run && run.run[1] + 1 === r.n && run.fast.action === note.fast.action) run.run[1] = r.n;
        else {
          await endRun();
          // An unreported skip's reason is never shown: the run keeps none.
          run = { run: [r.n, r.n], fast: note.fast.action === 'unchanged' ? note.fast : { action: 'skip', reason: '', report: false } };
        }
        continue;
      }
      await endRun();
      if (r.known) throw new KnownRecordUnsettled();
      const rec: SpoolRecord = { n: r.n, line: r.line };
      if (r.error) rec.error = r.error;
      else {
        if (r.key) Object.assign(rec, { key: r.key, keyValue: r.keyValue });
        rec.hash = r.hash;
        if (note.dupOf) rec.dupOf = note.dupOf;
        else if (note.fast) rec.fast = note.fast;
        else {
          toMap++;
          if (r.mapped?.input !== undefined) {
            // Already JSON: spliced in, not parsed and written again.
            await put(`${JSON.stringify(rec).slice(0, -1)},"input":${r.mapped.input}}`);
            continue;
          }
          if (r.mapped) rec.mapError = r.mapped.error;
          else rec.raw = r.raw;
        }
      }
      await put(JSON.stringify(rec));
    }
    mapWanted = toMap * 2 > records.length;
  };
  // One batch scanned (by the database) while the next is parsed (here); written in order.
  const flush = async () => {
    const records = batch;
    batch = [];
    await inflight;
    const items = records.filter((r) => !r.error).map((r) => ({ n: r.n, key: r.key, hash: r.hash, known: r.known !== undefined }));
    inflight = o.scan(items).then((notes) => {
      const byN = new Map(items.map((it, k) => [it.n, notes[k] ?? {}]));
      return write(records, records.map((r) => byN.get(r.n) ?? {}));
    });
    inflight.catch(() => {});
  };

  try {
    for await (const chunk of readUserFileInThread(path, displayName, o.format, { mapWanted: () => mapWanted, known: o.known })) {
      for (const raw of chunk) {
        n++;
        const unsafe = unsafeKeys(raw);
        if (unsafe) {
          batch.push({ ...raw, n, key: null, keyValue: null, hash: '', error: unsafe });
          if (batch.length >= o.batchSize) await flush();
          continue;
        }
        const externalId = raw.externalId?.trim();
        if (externalId && externalId.toLowerCase() !== o.profileCode.toLowerCase()) {
          throw fileRefused(
            raw.where,
            `record ${n} has external_id ${externalId.slice(0, 64)}, not this profile's code ${o.profileCode}: ` +
              'the file is for another SIS profile or institution',
          );
        }
        // A known record's key and hash are those of the user it was loaded into (known-records.ts).
        const key = raw.known ? { key: raw.known.key, value: raw.known.key } : rawMatchKey(raw, o.matchBy);
        const hash = raw.known?.hash ?? (raw.raw ? o.hashOf(raw.raw) : '');
        batch.push({ ...raw, n, key: key?.key ?? null, keyValue: key?.value ?? null, hash });
        if (batch.length >= o.batchSize) await flush();
      }
    }
    if (batch.length) await flush();
    await inflight;
    await o.scan.settle();
    await endRun();
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (n === 0) throw fileRefused(displayName, 'the file holds no user records');
  return { total: n };
}

/**
 * The spool's records in order, runs given back record by record, in arrays of at most
 * SPOOL_READ_CHUNK: a step of the caller's loop per array, not per record. The spool is this
 * load's own file, written above, so it is read as it was written, with no checks for a file
 * from outside.
 */
export async function* readSpool(spoolPath: string): AsyncGenerator<SpoolRecord[]> {
  let rest = '';
  let out: SpoolRecord[] = [];
  for await (const chunk of createReadStream(spoolPath, { encoding: 'utf8', highWaterMark: 256 * 1024 }) as AsyncIterable<string>) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const parsed = JSON.parse(line) as SpoolRecord | SpoolRun;
      if (!('run' in parsed)) out.push(parsed);
      else {
        for (let n = parsed.run[0]; n <= parsed.run[1]; n++) {
          out.push({ n, line: 0, fast: parsed.fast });
          if (out.length >= SPOOL_READ_CHUNK) {
            yield out;
            out = [];
          }
        }
      }
    }
    if (out.length) {
      yield out;
      out = [];
    }
  }
  if (rest) throw new Error(`the spool ${spoolPath} ends without a line break (it was not written whole)`);
}

const SPOOL_READ_CHUNK = 5000;

/** Records first..last, all settled as `fast`, and counted only. */
interface SpoolRun {
  run: [number, number];
  fast: FastDecision;
}

const countedOnly = (f: FastDecision) => f.action === 'unchanged' || !f.report;
