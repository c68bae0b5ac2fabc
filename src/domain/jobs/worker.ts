// The worker: claims jobs of the kinds registered in this process from the database queue, checks
// each payload against its kind's schema, and runs the job through its kind's handler. A
// lease (locked_until) is extended while a job runs; a worker that dies stops extending it, and
// the job is claimed again once it runs out (at once by a process on the same machine that can
// see the holder's pid is gone). Handlers commit their progress in batches, with a checkpoint,
// so a reclaimed job resumes where the dead worker's last batch committed.
//
// The database going away is a fault to outlast, not a job failure: an attempt that loses its
// connection puts the job back in the queue with a delay (1 s, 2 s, 4 s … per attempt, up to the
// job's max_attempts), and the worker's own statements (claim, finish, requeue) are tried again
// with backoff until the database answers.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '../../db/database.js';
import { claimJob, claimNextJob, extendLease, finishJob, releaseJob, reportJobProgress, requeueJob } from '../../db/queries/jobs.js';
import { doublingDelayMs, outlastOutage } from '../../model/backoff.js';
import { isDatabaseUnavailable } from '../../model/db-errors.js';
import type { Job, JobContext, JobOutcome, JobProgress } from './job.js';
import { payloadProblem, type JobRegistry } from './registry.js';
import { processIsGone } from './work-dirs.js';

export type { JobContext, JobHandler, JobOutcome } from './job.js';

export type WorkerLog = (msg: string, extra?: Record<string, unknown>, level?: 'info' | 'warn') => void;

export type ProgressListener = (job: Job) => void | Promise<void>;

export interface WorkerOptions {
  db: Db;
  /** The kinds this worker runs (it claims no other). */
  kinds: JobRegistry;
  leaseSeconds?: number;
  pollMs?: number;
  /** Runs between jobs when the queue is empty (drop folders). */
  idle?: () => Promise<void>;
  log?: WorkerLog;
}

/** Delay before the next attempt of a job whose attempt `attempt` lost the database: 1 s, 2 s, 4 s … at most a minute. */
export const jobRetryDelayMs = (attempt: number) => doublingDelayMs(attempt, 1000, 60_000);
/** The worker's own waits while the database is away: 1 s, doubling, at most 10 s. */
const OUTAGE_WAIT = { firstMs: 1000, maxMs: 10_000 };

export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/** True when the holder ran on this machine and its process no longer exists. */
export function holderIsDead(lockedBy: string | null): boolean {
  if (!lockedBy) return true;
  const [host, pidText] = lockedBy.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false;
  return processIsGone(pid);
}

export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was taken over by another worker`);
  }
}

export function createWorker(opts: WorkerOptions) {
  const { db, kinds } = opts;
  const workerId = newWorkerId();
  const leaseSeconds = opts.leaseSeconds ?? 30;
  const pollMs = opts.pollMs ?? 1000;
  const log = opts.log ?? (() => {});
  let stopping = false;
  let current: AbortController | null = null;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  /** Runs fn, and again while the database is unavailable, until the worker stops. */
  const persisting = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    outlastOutage(fn, {
      ...OUTAGE_WAIT,
      stopped: () => stopping,
      sleep,
      onWait: (err, attempt) => {
        if (attempt === 1) log(`${what}: the database is unavailable; trying again`, { error: err.message }, 'warn');
      },
    });

  /** One attempt at a claimed job; retryInMs when it lost the database and went back to the queue. */
  async function attempt(job: Job, onProgress?: ProgressListener): Promise<{ retryInMs?: number }> {
    const def = kinds.get(job.kind);
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
      const problem = def && payloadProblem(def, job.payload);
      if (!def) outcome = { status: 'failed', error: `no handler for job kind ${job.kind}` };
      else if (problem) outcome = { status: 'failed', error: `the payload does not match the ${job.kind} schema: ${problem}` };
      else if (job.attempts > job.maxAttempts) {
        outcome = { status: 'failed', error: `gave up after ${job.maxAttempts} attempts (the worker stopped each time)` };
      } else {
        const ctx: JobContext = {
          job,
          payload: job.payload,
          workerId,
          leaseSeconds,
          signal: controller.signal,
          progress: (j) => onProgress?.(j),
          async report(p: JobProgress): Promise<Job> {
            const now = await reportJobProgress(db, job.id, workerId, p, leaseSeconds);
            if (!now) throw new LeaseLostError(job.id);
            await onProgress?.(now);
            return now;
          },
        };
        outcome = await def.handler(ctx);
      }
    } catch (err) {
      // The attempt is over: no lease to extend while the job is handed back or requeued.
      clearInterval(heartbeat);
      current = null;
      if (err instanceof LeaseLostError || controller.signal.aborted) {
        // Another worker owns the job now, or we are shutting down: hand it back to the queue.
        log('job interrupted', { jobId: job.id, reason: (err as Error).message });
        if (stopping) await releaseJob(db, job.id, workerId).catch(() => {});
        return {};
      }
      const error = (err as Error).message ?? String(err);
      if (isDatabaseUnavailable(err)) {
        if (job.attempts < job.maxAttempts) {
          // What the attempt committed stays; the next one resumes after it.
          const retryInMs = jobRetryDelayMs(job.attempts);
          log('job lost the database; back to the queue', { jobId: job.id, attempt: job.attempts, maxAttempts: job.maxAttempts, retryInMs, error }, 'warn');
          await persisting('requeueing a job', () => requeueJob(db, job.id, workerId, retryInMs / 1000, `attempt ${job.attempts} lost the database: ${error}`));
          return { retryInMs };
        }
        outcome = { status: 'failed', error: `gave up after ${job.maxAttempts} attempts; the last lost the database: ${error}` };
      } else outcome = { status: 'failed', error };
      log('job failed', { jobId: job.id, error: (err as Error).stack ?? String(err) }, 'warn');
    } finally {
      clearInterval(heartbeat);
      current = null;
    }
    await persisting('finishing a job', () => finishJob(db, job.id, workerId, outcome.status, outcome.result ?? null, outcome.error ?? null));
    log('job finished', { jobId: job.id, kind: job.kind, status: outcome.status });
    return {};
  }

  /**
   * Runs a claimed job here to its end: an attempt that lost the database is tried again in this
   * process after its delay (the command line waits for its job rather than leave it queued).
   */
  async function run(job: Job, onProgress?: ProgressListener): Promise<Job> {
    for (let j: Job | undefined = job; j; ) {
      const { retryInMs } = await attempt(j, onProgress);
      if (retryInMs === undefined || stopping) break;
      await sleep(retryInMs);
      if (stopping) break;
      const id: string = j.id;
      j = await persisting<Job | undefined>('claiming a job', () => claimJob(db, id, workerId, leaseSeconds, false));
    }
    return job;
  }

  /** Claims and runs one attempt of one job; false when the queue had none. */
  async function runOnce(): Promise<boolean> {
    const job = await claimNextJob(db, workerId, leaseSeconds, kinds.kinds());
    if (!job) return false;
    await attempt(job);
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
        // Consecutive polls that found the database away: logged once, then waited out with backoff.
        let outage = 0;
        while (!stopping) {
          let worked = false;
          try {
            worked = await runOnce();
            if (!worked && opts.idle && !stopping) await opts.idle();
            if (outage) log('job queue reachable again', { after: outage });
            outage = 0;
          } catch (err) {
            if (isDatabaseUnavailable(err)) {
              if (outage++ === 0) log('job queue unreachable: the database is unavailable; polling with backoff', { error: (err as Error).message }, 'warn');
              if (!stopping) await sleep(doublingDelayMs(outage, OUTAGE_WAIT.firstMs, OUTAGE_WAIT.maxMs));
              continue;
            }
            log('worker error', { error: (err as Error).message }, 'warn');
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
