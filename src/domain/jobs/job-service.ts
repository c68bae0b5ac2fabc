// Use cases on jobs: read one (status, counters, timing), list, cancel, and read its report
// (records that failed or were skipped), a dry run's changes, or its result file.
import type { Db } from '../../db/database.js';
import { findJobFile, type JobFile } from '../../db/queries/job-files.js';
import { findJob, listJobChanges, listJobErrors, listJobs, requestJobCancel } from '../../db/queries/jobs.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { FileStore } from './file-store.js';
import { isFinished, JOB_STATUSES, type Job, type JobRecordChange, type JobRecordError } from './job.js';

const PAGE = 1000;

export function createJobService({ db, files }: { db: Db; files: FileStore }) {
  async function jobOf(actor: Actor, institutionId: string, id: string): Promise<Job> {
    authorize(actor, 'sis:manage', institutionId);
    const job = /^[0-9a-f-]{36}$/i.test(id) ? await findJob(db, id) : undefined;
    // Another institution's job is as absent as a job that never was.
    if (!job || job.institutionId !== institutionId) throw new AppError('NOT_FOUND', { entity: 'Job', id: id.slice(0, 40) });
    return job;
  }

  return {
    get: jobOf,

    async list(actor: Actor, institutionId: string, f: { status?: string; kind?: string; limit?: number } = {}): Promise<Job[]> {
      authorize(actor, 'sis:manage', institutionId);
      if (f.status && !(JOB_STATUSES as readonly string[]).includes(f.status)) {
        throw new AppError('INVALID_PARAMETER', { reason: `status must be one of ${JOB_STATUSES.join(', ')}` });
      }
      return listJobs(db, institutionId, { status: f.status, kind: f.kind, limit: Math.min(Math.max(f.limit ?? 50, 1), 500) });
    },

    async cancel(actor: Actor, institutionId: string, id: string): Promise<Job> {
      const job = await jobOf(actor, institutionId, id);
      if (isFinished(job.status)) throw new AppError('JOB_NOT_CANCELLABLE', { id, status: job.status });
      return (await requestJobCancel(db, id)) ?? (await jobOf(actor, institutionId, id));
    },

    /** The report, in record order, a page at a time (a million failures stream as well as ten). */
    async *errors(actor: Actor, institutionId: string, id: string): AsyncGenerator<JobRecordError> {
      await jobOf(actor, institutionId, id);
      for (let after = -1; ; ) {
        const page = await listJobErrors(db, id, after, PAGE);
        yield* page;
        if (page.length < PAGE) return;
        after = page.at(-1)!.recordNumber;
      }
    },

    async changes(actor: Actor, institutionId: string, id: string, after: number, limit: number): Promise<JobRecordChange[]> {
      await jobOf(actor, institutionId, id);
      return listJobChanges(db, id, after, Math.min(Math.max(limit, 1), 1000));
    },

    async result(actor: Actor, institutionId: string, id: string): Promise<{ file: JobFile; content: AsyncGenerator<Buffer> }> {
      const job = await jobOf(actor, institutionId, id);
      const file = await findJobFile(db, id, 'result');
      if (!file || !file.complete || job.status !== 'succeeded') throw new AppError('JOB_RESULT_MISSING', { id, status: job.status });
      return { file, content: files.read(file.id) };
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
