// The worker: claims jobs from the database queue and runs each through its kind's handler. A
// lease (locked_until) is extended while a job runs; a worker that dies stops extending it, and
// the job is claimed again once it runs out (at once by a process on the same machine that can
// see the holder's pid is gone). Handlers commit their progress in batches, with a checkpoint,
// so a reclaimed job resumes where the dead worker's last batch committed.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../../db/database.js';
import { claimJob, claimNextJob, extendLease, finishJob, releaseJob } from '../../db/queries/jobs.js';
import type { Job } from './job.js';

export interface JobContext {
  job: Job;
  workerId: string;
  leaseSeconds: number;
  /** Aborted when the lease is lost (another worker took the job) or the worker shuts down. */
  signal: AbortSignal;
  /**
   * Handlers call and await this after each committed batch; listeners (a progress bar) get the
   * job. A listener may return a promise: the handler waits for it before its next batch, so what
   * the listener did (a cancel, say) is seen by that batch.
   */
  progress(job: Job): void | Promise<void>;
}

export interface JobOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  result?: Record<string, unknown>;
  error?: string;
}

export type ProgressListener = (job: Job) => void | Promise<void>;
export type JobHandler = (ctx: JobContext) => Promise<JobOutcome>;
export type JobHandlers = Readonly<Record<string, JobHandler>>;

export interface WorkerOptions {
  db: Db;
  handlers: JobHandlers;
  leaseSeconds?: number;
  pollMs?: number;
  /** Runs between jobs when the queue is empty (drop folders). */
  idle?: () => Promise<void>;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
}

export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** True when the holder ran on this machine and its process no longer exists. */
export function holderIsDead(lockedBy: string | null): boolean {
  if (!lockedBy) return true;
  const [host, pidText] = lockedBy.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was taken over by another worker`);
  }
}

export function createWorker(opts: WorkerOptions) {
  const { db, handlers } = opts;
  const workerId = newWorkerId();
  const leaseSeconds = opts.leaseSeconds ?? 30;
  const pollMs = opts.pollMs ?? 1000;
  const log = opts.log ?? (() => {});
  let stopping = false;
  let current: AbortController | null = null;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  async function run(job: Job, onProgress?: ProgressListener): Promise<Job> {
    const handler = handlers[job.kind];
    const controller = new AbortController();
    current = controller;
    const heartbeat = setInterval(() => {
      extendLease(db, job.id, workerId, leaseSeconds)
        .then((held) => {
          if (!held) controller.abort(new LeaseLostError(job.id));
        })
        .catch(() => {});
    }, Math.max(1000, (leaseSeconds * 1000) / 3));
    let outcome: JobOutcome;
    try {
      if (!handler) outcome = { status: 'failed', error: `no handler for job kind ${job.kind}` };
      else if (job.attempts > job.maxAttempts) {
        outcome = { status: 'failed', error: `gave up after ${job.maxAttempts} attempts (the worker stopped each time)` };
      } else {
        outcome = await handler({ job, workerId, leaseSeconds, signal: controller.signal, progress: (j) => onProgress?.(j) });
      }
    } catch (err) {
      if (err instanceof LeaseLostError || controller.signal.aborted) {
        // Another worker owns the job now, or we are shutting down: hand it back to the queue.
        log('job interrupted', { jobId: job.id, reason: (err as Error).message });
        clearInterval(heartbeat);
        current = null;
        if (stopping) await releaseJob(db, job.id, workerId).catch(() => {});
        return job;
      }
      log('job failed', { jobId: job.id, error: (err as Error).stack ?? String(err) });
      outcome = { status: 'failed', error: (err as Error).message ?? String(err) };
    } finally {
      clearInterval(heartbeat);
      current = null;
    }
    await finishJob(db, job.id, workerId, outcome.status, outcome.result ?? null, outcome.error ?? null);
    log('job finished', { jobId: job.id, kind: job.kind, status: outcome.status });
    return job;
  }

  /** Claims and runs one job; false when the queue had none. */
  async function runOnce(): Promise<boolean> {
    const job = await claimNextJob(db, workerId, leaseSeconds, Object.keys(handlers));
    if (!job) return false;
    await run(job);
    return true;
  }

  async function sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    wake = null;
  }

  return {
    workerId,

    /** Claims this job (queued, or left by a dead worker) and runs it here; undefined if it is busy elsewhere. */
    async runJobById(id: string, onProgress?: ProgressListener): Promise<Job | undefined> {
      const current = await db.maybeOne<{ locked_by: string | null }>('SELECT locked_by FROM job WHERE id = $1', [id]);
      const job = await claimJob(db, id, workerId, leaseSeconds, holderIsDead(current?.locked_by ?? null));
      if (!job) return undefined;
      await run(job, onProgress);
      return job;
    },

    /** Runs one claimed job (the CLI inserts its job already claimed). */
    run,

    runOnce,

    start(): void {
      if (loop) return;
      stopping = false;
      loop = (async () => {
        while (!stopping) {
          let worked = false;
          try {
            worked = await runOnce();
            if (!worked && opts.idle && !stopping) await opts.idle();
          } catch (err) {
            log('worker error', { error: (err as Error).message });
          }
          if (!worked && !stopping) await sleep(pollMs);
        }
      })();
    },

    /** Stops claiming; a running job stops at its next batch and is left for the next worker. */
    async stop(): Promise<void> {
      stopping = true;
      current?.abort(new LeaseLostError('shutdown'));
      wake?.();
      await loop;
      loop = null;
    },
  };
}

export type Worker = ReturnType<typeof createWorker>;
