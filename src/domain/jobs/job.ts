// A job: one unit of background work (an SIS load, an export) in the database queue, with the
// counters and the checkpoint it commits as it goes.

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobCounters {
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

export const ZERO_COUNTERS: JobCounters = Object.freeze({ read: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 });

export interface Job {
  id: string;
  institutionId: string;
  kind: string;
  status: JobStatus;
  payload: Record<string, unknown>;
  dryRun: boolean;
  /** Records in the file, once it has been read through. */
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

/** One line of a job's report: a record it could not apply, or chose not to. */
export interface JobRecordError {
  recordNumber: number;
  line: number | null;
  outcome: 'failed' | 'skipped';
  identifier: string | null;
  reason: string;
}

/** A dry run's field-level diff for one record. */
export interface JobRecordChange {
  recordNumber: number;
  action: 'create' | 'update' | 'deactivate';
  identifier: string | null;
  changes: Record<string, { before: unknown; after: unknown }>;
}

export const isFinished = (s: JobStatus) => s === 'succeeded' || s === 'failed' || s === 'cancelled';
