// The worker thread of read-thread.ts: reads one SIS file with readUserFile and posts its raw
// records to the load in chunks, at most `ahead` chunks beyond what the load has taken (each taken
// chunk is acknowledged with a message), so memory stays bounded whatever the file's size. The
// load may also say whether to map the records as they are read ({ map }: see xml-users.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../../errors.js';
import { knownRecords, type KnownRecordsData } from './known-records.js';
import { readUserFile, type FileFormat, type RawRecord } from './read-user-file.js';

export interface ReadWorkerData {
  path: string;
  displayName: string;
  format: FileFormat;
  /** A message holds this many records, or fewer that reach chunkChars characters of raw text. */
  chunk: number;
  chunkChars: number;
  ahead: number;
  known: KnownRecordsData | null;
}

/** From the load: a chunk taken (any other message), or whether to map records from now on. */
export type ReadWorkerControl = number | { map: boolean };

export type ReadWorkerMessage =
  | { records: RawRecord[] }
  | { done: true }
  | { refused: { code: AppError['code']; params: AppError['params'] } }
  | { failed: { message: string; code?: string } };

const port = parentPort!;
const { path, displayName, format, chunk, chunkChars, ahead, known } = workerData as ReadWorkerData;
let credit = ahead;
let mapping = false;
let wake: (() => void) | undefined;
port.on('message', (m: ReadWorkerControl) => {
  if (typeof m === 'object') {
    mapping = m.map;
    return;
  }
  credit++;
  wake?.();
});

async function send(records: RawRecord[]): Promise<void> {
  while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
  wake = undefined;
  credit--;
  port.postMessage({ records } satisfies ReadWorkerMessage);
}

let out: RawRecord[] = [];
let chars = 0;
try {
  for await (const rec of readUserFile(path, displayName, format, { mapWanted: () => mapping, known: known ? knownRecords(known) : undefined })) {
    out.push(rec);
    chars += (rec.raw?.length ?? 0) + (rec.mapped?.input?.length ?? 0);
    if (out.length >= chunk || chars >= chunkChars) {
      await send(out);
      out = [];
      chars = 0;
    }
  }
  if (out.length) await send(out);
  port.postMessage({ done: true } satisfies ReadWorkerMessage);
} catch (err) {
  // The records before the fault, as the file read in the caller's thread would give them.
  if (out.length) port.postMessage({ records: out } satisfies ReadWorkerMessage);
  port.postMessage(
    (err instanceof AppError
      ? { refused: { code: err.code, params: err.params } }
      : { failed: { message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException | null)?.code } }) satisfies ReadWorkerMessage,
  );
}
