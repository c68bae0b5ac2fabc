// argon2 runs in a small pool of worker threads at a lower CPU priority than the event loop.
// A login storm is CPU-bound. Hashing on libuv's threadpool (4 threads at the event loop's own
// priority) left every other request queueing for a core behind it: on 2 cores, GET /healthz p99
// went from 7 ms to 83 ms during a storm (bench/README.md). At nice +19 the hashing takes what the
// event loop and PostgreSQL leave, which during a storm is nearly everything, so logins are as
// fast as before and the rest of the API stays quick. Linux keeps nice values per thread, so each
// worker lowers only itself; elsewhere the call fails quietly and only the isolation remains.
//
// Four threads at least, as libuv's pool had: a core must not idle while a thread passes a result
// back. Workers start on the first hash (an idle server pays nothing) and hold a reference to the
// process only while they work, so a CLI command ends when its last hash is done.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export type HashOp = 'hash' | 'verify' | 'priority';

export interface HashThreads {
  /** hash(password, options) -> string; verify(stored, password) -> boolean; priority() -> the worker's nice value. */
  run<T>(op: HashOp, args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

// CommonJS, evaluated in each worker: the library is passed by absolute path, so the same source
// works from src/ (tsx) and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const os = require('node:os');
const argon2 = require(workerData.argon2);
try { os.setPriority(0, workerData.nice); } catch {}
parentPort.on('message', ({ op, args }) => {
  try {
    const result = op === 'hash' ? argon2.hashSync(args[0], args[1])
      : op === 'verify' ? argon2.verifySync(args[0], args[1])
      : os.getPriority(0);
    parentPort.postMessage({ result });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
});
`;

interface Task {
  op: HashOp;
  args: unknown[];
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

export function createHashThreads({ size = Math.max(4, availableParallelism()), nice = 19 }: { size?: number; nice?: number } = {}): HashThreads {
  const argon2 = createRequire(import.meta.url).resolve('@node-rs/argon2');
  const idle: Worker[] = [];
  const working = new Map<Worker, Task>();
  const queue: Task[] = [];
  let closed = false;

  function spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { argon2, nice } });
    worker.unref();
    worker.on('message', (msg: { result?: unknown; error?: string }) => {
      const task = working.get(worker);
      working.delete(worker);
      worker.unref();
      idle.push(worker);
      if (msg.error !== undefined) task?.reject(new Error(msg.error));
      else task?.resolve(msg.result);
      pump();
    });
    const lost = (err: Error) => {
      const task = working.get(worker);
      working.delete(worker);
      const at = idle.indexOf(worker);
      if (at >= 0) idle.splice(at, 1);
      task?.reject(err);
      pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`hashing thread exited (${code})`)));
    return worker;
  }

  function pump(): void {
    while (queue.length && !closed) {
      const worker = idle.pop() ?? (working.size < size ? spawn() : undefined);
      if (!worker) return;
      const task = queue.shift()!;
      working.set(worker, task);
      worker.ref();
      worker.postMessage({ op: task.op, args: task.args });
    }
  }

  return {
    run<T>(op: HashOp, args: unknown[]): Promise<T> {
      if (closed) return Promise.reject(new Error('the hashing threads are closed'));
      return new Promise<T>((resolve, reject) => {
        queue.push({ op, args, resolve: resolve as (v: unknown) => void, reject });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const task of queue.splice(0)) task.reject(new Error('the hashing threads are closed'));
      await Promise.all([...idle.splice(0), ...working.keys()].map((w) => w.terminate()));
    },
  };
}
