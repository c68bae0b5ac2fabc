// A federation aggregate is verified and parsed in a worker thread of its own: ~3,000 IdPs (5.5 MB)
// take about 3 s of CPU and eduGAIN is ten times that, during which `carrel serve` would answer
// nothing. One short-lived thread per load (loads come hours apart); what comes back is plain
// data, and the database writes stay with the caller on the main thread.
import { Worker } from 'node:worker_threads';
import { MetadataError, type ParsedMetadata } from './idp-metadata.js';

// From the build the thread runs the compiled .js beside this file. From src/ (tests, `npm run
// carrel`) it runs the .ts file, and a worker of Node 20 does not get the loader the process has
// from `--import tsx` (tsx issue #354): a two-line bootstrap registers tsx in the thread first.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_FILE = new URL(FROM_SOURCE ? './aggregate-worker.ts' : './aggregate-worker.js', import.meta.url);

function startThread(workerData: unknown, transferList: ArrayBuffer[]): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_FILE, { workerData, transferList });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(WORKER_FILE.href)}); })
  .catch((e) => require('node:worker_threads').parentPort.postMessage({ ok: false, error: String((e && e.message) || e) }));`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData, transferList });
}

/** Far beyond any real aggregate's time: a thread stuck on a pathological document is stopped. */
const THREAD_TIMEOUT_MS = 10 * 60_000;

/**
 * The aggregate's IdPs (those with a signing key), if `certPem`'s key signed the whole document;
 * MetadataError otherwise. `bytes` is handed over to the thread (unusable here afterwards).
 */
export function verifyAndParseAggregate(bytes: Uint8Array, certPem: string, opts: { timeoutMs?: number } = {}): Promise<ParsedMetadata> {
  return new Promise((resolve, reject) => {
    // A view on part of a larger buffer is copied so that only the aggregate is handed over.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
    const worker = startThread({ bytes: own, certPem }, [own.buffer as ArrayBuffer]);
    let settled = false;
    const done = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      void worker.terminate();
    };
    const timer = setTimeout(() => done(() => reject(new MetadataError('checking the aggregate took too long'))), opts.timeoutMs ?? THREAD_TIMEOUT_MS);
    worker.once('message', (msg: { ok: true; parsed: ParsedMetadata } | { ok: false; error: string }) =>
      done(() => (msg.ok ? resolve(msg.parsed) : reject(new MetadataError(msg.error)))),
    );
    worker.once('error', (err) => done(() => reject(new MetadataError(`the aggregate could not be checked: ${err.message}`))));
    worker.once('exit', (code) => done(() => reject(new MetadataError(`the thread checking the aggregate stopped (${code})`))));
  });
}
