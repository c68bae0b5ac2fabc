// readUserFile on a thread of its own, for a load's pass one. Inflating, decoding and parsing the
// file (the XML parser above all) is most of pass one's CPU; on its own thread it runs beside the
// load's own work (hashing, asking the database, spooling) on another core, instead of before it.
// The records come out the same and in the same order, and a refused file is refused with the
// same error; the thread stops when the caller stops reading.
import { Worker } from 'node:worker_threads';
import { AppError } from '../../../errors.js';
import type { KnownRecordsData } from './known-records.js';
import type { FileFormat, RawRecord } from './read-user-file.js';
import type { ReadWorkerControl, ReadWorkerData, ReadWorkerMessage } from './read-worker.js';

export interface ThreadReadOptions {
  /**
   * Should the thread map records as it reads them (RawRecord.mapped)? Asked each time a chunk is
   * taken; the thread follows from the next <user> it reaches (a few chunks ahead of the caller).
   */
  mapWanted?: () => boolean;
  /** Records that need no parse (Alma XML; see known-records.ts). */
  known?: KnownRecordsData | null;
}

/**
 * Records per message (fewer when they are large), and messages the thread may read ahead of the
 * caller: about 1 MB of XML in flight, whatever the records' size (each is below 1 MB).
 */
const CHUNK = 250;
const CHUNK_CHARS = 256 * 1024;
const AHEAD = 4;
/**
 * The thread's heap: what it holds at once is a few MB (an open record, the parser's pending text,
 * the messages in flight), and V8 left to itself grows an idle-time heap far beyond that. The load
 * keeps its peak memory (issue 8: under 300 MB) with this cap.
 */
const HEAP = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 };

// The thread's entry is read-worker.js beside this file. Run from src/ (tests, tsx), it is a .ts
// file: the thread registers tsx first, as the process did with --import.
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) (await import(workerData.loader)).register();
  await import(workerData.entry);
})();
`;

/** The file's records in order, in the chunks the thread sent them (a step per chunk, not per record). */
export async function* readUserFileInThread(path: string, displayName: string, format: FileFormat, opts: ThreadReadOptions = {}): AsyncGenerator<RawRecord[]> {
  const fromSource = import.meta.url.endsWith('.ts');
  const data: ReadWorkerData = { path, displayName, format, chunk: CHUNK, chunkChars: CHUNK_CHARS, ahead: AHEAD, known: opts.known ?? null };
  const worker = new Worker(BOOT, {
    eval: true,
    resourceLimits: HEAP,
    workerData: { ...data, entry: new URL(`./read-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url).href, loader: fromSource ? 'tsx/esm/api' : null },
  });
  const inbox: (ReadWorkerMessage | { lost: Error })[] = [];
  let wake: (() => void) | undefined;
  const deliver = (m: ReadWorkerMessage | { lost: Error }) => {
    inbox.push(m);
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.on('message', deliver);
  worker.on('error', (err) => deliver({ lost: err }));
  worker.on('exit', (code) => deliver({ lost: new Error(`the file-reading thread exited (${code})`) }));
  const post = (m: ReadWorkerControl) => worker.postMessage(m);
  let mapping = false;
  const steer = () => {
    const wanted = opts.mapWanted?.() ?? false;
    if (wanted !== mapping) post({ map: (mapping = wanted) });
  };
  steer();
  try {
    for (;;) {
      while (!inbox.length) await new Promise<void>((resolve) => (wake = resolve));
      const m = inbox.shift()!;
      if ('records' in m) {
        steer();
        post(0);
        yield m.records;
      } else if ('done' in m) return;
      else if ('refused' in m) throw new AppError(m.refused.code, m.refused.params);
      else if ('failed' in m) throw Object.assign(new Error(m.failed.message), m.failed.code ? { code: m.failed.code } : {});
      else throw m.lost;
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}
