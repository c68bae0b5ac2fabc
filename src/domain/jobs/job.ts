// A kind of job as a module registers it with the queue: its name, the schema its payload must
// meet (checked when it is enqueued and again when it is claimed: a handler never sees a payload
// that was merely cast), the permission to start and read it, the counters it reports, and the
// handler the worker runs it through.
import type { Static, TSchema } from 'typebox';
import type { Permission } from '../access/actor.js';
import type { Job, JobCounters } from '../../model/job.js';

export { isFinished, JOB_STATUSES, zeroCounters } from '../../model/job.js';
export type { Job, JobCounters, JobRecordError, JobStatus } from '../../model/job.js';

export interface JobProgress {
  /** The counters' new values (the kind's names; those left out keep theirs). */
  counters?: JobCounters;
  checkpoint?: Record<string, unknown>;
  total?: number | null;
}

export interface JobContext<P = unknown> {
  job: Job;
  /** The job's payload, checked against its kind's schema at this claim. */
  payload: P;
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
  /**
   * Commits progress (extending the lease), then tells the listeners: for a handler whose work
   * is not already in a transaction of its own. Answers the job as it now is (cancelRequested:
   * someone asked it to stop). Throws LeaseLostError when the job is no longer this worker's.
   */
  report(p: JobProgress): Promise<Job>;
}

export interface JobOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  result?: Record<string, unknown>;
  error?: string;
}

export type JobHandler<P = unknown> = (ctx: JobContext<P>) => Promise<JobOutcome>;

export interface JobKind<S extends TSchema = TSchema> {
  /** The name jobs are stored and listed by, e.g. 'sis.load'. */
  kind: string;
  payload: S;
  /** Needed to start a job of this kind, and to read, cancel or download it. */
  permission: Permission;
  /** The counters a job of this kind reports, all starting at 0; the first is measured against its total. */
  counters: readonly string[];
  /** Its result is a file (GET /api/v1/jobs/{id}/result). */
  resultFile?: boolean;
  // A method, so a kind with a narrower payload is still a JobKind (parameters compare bivariantly).
  handler(ctx: JobContext<Static<S>>): Promise<JobOutcome>;
}

/** A kind's definition, with the handler's payload typed from its schema. */
export const defineJobKind = <S extends TSchema>(def: JobKind<S>): JobKind<S> => def;
