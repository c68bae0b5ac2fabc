// Use cases on jobs of any kind: enqueue one (its kind known, its payload checked against the
// kind's schema, the actor holding the kind's permission), read one (status, counters, timing),
// list, cancel, and read its report (units that failed or were skipped) or its result file.
// What each kind needs comes from the registry: this service knows no kind.
import type { Db } from '../../db/database.js';
import { findJobFile, type JobFile } from '../../db/queries/job-files.js';
import { findJob, insertJob, listJobErrors, listJobs, requestJobCancel, type NewJob } from '../../db/queries/jobs.js';
import { AppError } from '../../errors.js';
import { actorLabel, authorize, type Actor } from '../access/actor.js';
import type { FileStore } from './file-store.js';
import { isFinished, JOB_STATUSES, zeroCounters, type Job, type JobRecordError } from './job.js';
import { payloadProblem, type JobRegistry } from './registry.js';

const PAGE = 1000;

export interface JobShape {
  counters: readonly string[];
  resultFile: boolean;
}

export interface EnqueueRequest {
  kind: string;
  payload: unknown;
  dryRun?: boolean;
  /** The CLI runs its job itself: the job is created already claimed by its worker. */
  claimedBy?: NewJob['claimedBy'];
}

export function createJobService({ db, files, registry }: { db: Db; files: FileStore; registry: JobRegistry }) {
  /** Refuses an actor who may read no kind of job at all before looking anything up (as before kinds had permissions of their own). */
  function assertReadsSome(actor: Actor, institutionId: string): string[] {
    const readable = registry.readableBy(actor, institutionId);
    if (!readable.length) throw new AppError('UNAUTHORIZED');
    return readable;
  }

  async function jobOf(actor: Actor, institutionId: string, id: string): Promise<Job> {
    assertReadsSome(actor, institutionId);
    const job = /^[0-9a-f-]{36}$/i.test(id) ? await findJob(db, id) : undefined;
    // Another institution's job is as absent as a job that never was; so is one of a kind this
    // process does not know (nobody could have been given its permission).
    const def = job && registry.get(job.kind);
    if (!job || !def || job.institutionId !== institutionId) throw new AppError('NOT_FOUND', { entity: 'Job', id: id.slice(0, 40) });
    authorize(actor, def.permission, institutionId);
    return job;
  }

  return {
    /** Checks, before any work (an upload stored), that this actor may start a job of this kind. */
    authorizeStart(actor: Actor, institutionId: string, kind: string): void {
      authorize(actor, registry.require(kind).permission, institutionId);
    },

    async enqueue(actor: Actor, institutionId: string, req: EnqueueRequest): Promise<Job> {
      const def = registry.require(req.kind);
      authorize(actor, def.permission, institutionId);
      const problem = payloadProblem(def, req.payload);
      if (problem) throw new AppError('JOB_PAYLOAD_INVALID', { kind: def.kind, reason: problem });
      return insertJob(db, {
        institutionId,
        kind: def.kind,
        payload: req.payload as Record<string, unknown>,
        dryRun: req.dryRun === true,
        counters: zeroCounters(def.counters),
        createdBy: actorLabel(actor).label,
        claimedBy: req.claimedBy,
      });
    },

    get: jobOf,

    /** What a view of this job shows: the counters its kind declares (in order), and whether its result is a file. */
    shapeOf(job: Job): JobShape {
      const def = registry.get(job.kind);
      return { counters: def?.counters ?? Object.keys(job.counters), resultFile: def?.resultFile === true };
    },

    /** The institution's jobs of the kinds this actor may read. */
    async list(actor: Actor, institutionId: string, f: { status?: string; kind?: string; limit?: number; payload?: Record<string, string> } = {}): Promise<Job[]> {
      const readable = assertReadsSome(actor, institutionId);
      if (f.status && !(JOB_STATUSES as readonly string[]).includes(f.status)) {
        throw new AppError('INVALID_PARAMETER', { reason: `status must be one of ${JOB_STATUSES.join(', ')}` });
      }
      const kinds = f.kind === undefined ? readable : readable.filter((k) => k === f.kind);
      if (!kinds.length) return [];
      return listJobs(db, institutionId, { status: f.status, kinds, limit: Math.min(Math.max(f.limit ?? 50, 1), 500), payload: f.payload });
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

    async result(actor: Actor, institutionId: string, id: string): Promise<{ file: JobFile; content: AsyncGenerator<Buffer> }> {
      const job = await jobOf(actor, institutionId, id);
      const file = await findJobFile(db, id, 'result');
      if (!file || !file.complete || job.status !== 'succeeded') throw new AppError('JOB_RESULT_MISSING', { id, status: job.status });
      return { file, content: files.read(file.id) };
    },
  };
}

export type JobService = ReturnType<typeof createJobService>;
