// The worker thread of read-thread.ts: reads one SIS file with readUserFile and posts its raw
// records to the load in chunks, at most `ahead` chunks beyond what the load has taken (each taken
// chunk is acknowledged with a message), so memory stays bounded whatever the file's size.
import { parentPort, workerData } from 'node:worker_threads';
import { AppError } from '../../../errors.js';
import { readUserFile, type FileFormat, type RawRecord } from './read-user-file.js';

export interface ReadWorkerData {
  path: string;
  displayName: string;
  format: FileFormat;
  chunk: number;
  ahead: number;
}

export type ReadWorkerMessage =
  | { records: RawRecord[] }
  | { done: true }
  | { refused: { code: AppError['code']; params: AppError['params'] } }
  | { failed: string };

const port = parentPort!;
const { path, displayName, format, chunk, ahead } = workerData as ReadWorkerData;
let credit = ahead;
let wake: (() => void) | undefined;
port.on('message', () => {
  credit++;
  wake?.();
});

async function send(records: RawRecord[]): Promise<void> {
  while (credit <= 0) await new Promise<void>((resolve) => (wake = resolve));
  wake = undefined;
  credit--;
  port.postMessage({ records } satisfies ReadWorkerMessage);
}

try {
  let out: RawRecord[] = [];
  for await (const rec of readUserFile(path, displayName, format)) {
    out.push(rec);
    if (out.length >= chunk) {
      await send(out);
      out = [];
    }
  }
  if (out.length) await send(out);
  port.postMessage({ done: true } satisfies ReadWorkerMessage);
} catch (err) {
  port.postMessage(
    (err instanceof AppError
      ? { refused: { code: err.code, params: err.params } }
      : { failed: err instanceof Error ? (err.stack ?? err.message) : String(err) }) satisfies ReadWorkerMessage,
  );
}
