// A job: one unit of background work in the database queue (an SIS load, an export, any kind a
// module registers), with the counters and the checkpoint it commits as it goes. Shared by the
// queue's SQL (db), the queue and its handlers (domain) and the API (http): imports nothing.

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A job's progress counters, by the names its kind declares (stored as one JSON object). */
export type JobCounters = Record<string, number>;

export interface Job {
  id: string;
  institutionId: string;
  kind: string;
  status: JobStatus;
  /** As stored: a handler gets it checked against its kind's schema (JobContext.payload). */
  payload: Record<string, unknown>;
  dryRun: boolean;
  /** The units of work in all (a load: records in the file), once known. */
  total: number | null;
  counters: JobCounters;
  /** What committed: a load's last applied record number, the phase it is in. */
  checkpoint: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  lockedBy: string | null;
  lockedUntil: Date | null;
  createdBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** One line of a job's report: a unit (a record) it could not do, or chose not to. Any kind may write them. */
export interface JobRecordError {
  recordNumber: number;
  line: number | null;
  outcome: 'failed' | 'skipped';
  identifier: string | null;
  reason: string;
}

export const isFinished = (s: JobStatus) => s === 'succeeded' || s === 'failed' || s === 'cancelled';

/** Every declared counter at zero. */
export const zeroCounters = (names: readonly string[]): JobCounters => Object.fromEntries(names.map((n) => [n, 0]));
