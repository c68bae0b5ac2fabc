// Use cases that start SIS jobs: a load of a file (uploaded, dropped in a folder, or given to the
// CLI) and an export, both enqueued through the job service (which checks the kind's permission
// and payload schema); and a dry run's changes. The file is stored before the job exists, so the
// job can run anywhere; a file stored for a job that was never created is cleaned away later.
import type { Db } from '../../db/database.js';
import { attachFileToJob } from '../../db/queries/job-files.js';
import type { NewJob } from '../../db/queries/jobs.js';
import { findUnfinishedLoad, listJobChanges } from '../../db/queries/sis-load-progress.js';
import { assertThat } from '../../errors.js';
import type { JobRecordChange } from '../../model/sis-load.js';
import type { Actor } from '../access/actor.js';
import type { FileStore } from '../jobs/file-store.js';
import type { Job } from '../jobs/job.js';
import type { JobService } from '../jobs/job-service.js';
import { SIS_EXPORT, type ExportPayload } from './export.js';
import { SIS_LOAD, type LoadPayload } from './load.js';
import type { ProfileService } from './profile-service.js';
import { isCalendarDate } from '../../model/safe-text.js';

export interface LoadRequest {
  fileName: string;
  contentType: string;
  dryRun: boolean;
  /** Deactivate this profile's users missing from the file, even if the profile does not say so. */
  deactivateMissing?: boolean;
  dropFile?: string;
  /** The CLI runs its job itself: the job is created already claimed by its worker. */
  claimedBy?: NewJob['claimedBy'];
}

export interface ExportRequest {
  format: 'xml' | 'csv';
  zip?: boolean;
  since?: string;
  profileCode?: string;
  userGroup?: string;
  claimedBy?: NewJob['claimedBy'];
}

export function createSisService(deps: { db: Db; files: FileStore; jobs: JobService; profiles: ProfileService; uploadLimit: number }) {
  const { db, files, jobs, profiles } = deps;

  return {
    async startLoad(actor: Actor, institutionId: string, profileCode: string, source: AsyncIterable<Uint8Array>, req: LoadRequest): Promise<Job> {
      jobs.authorizeStart(actor, institutionId, SIS_LOAD);
      const profile = await profiles.byCode(institutionId, profileCode);
      const name = req.fileName.replace(/[^\w.@+-]+/g, '_').slice(0, 200) || 'upload';
      const stored = await files.store(source, { institutionId, jobId: null, role: 'input', name, contentType: req.contentType }, deps.uploadLimit);
      const payload: LoadPayload = {
        profileId: profile.id,
        fileId: stored.id,
        fileName: name,
        sha256: stored.sha256,
        ...(req.dropFile ? { dropFile: req.dropFile } : {}),
        ...(req.deactivateMissing ? { deactivateMissing: true } : {}),
      };
      const job = await jobs.enqueue(actor, institutionId, { kind: SIS_LOAD, payload, dryRun: req.dryRun, claimedBy: req.claimedBy });
      await attachFileToJob(db, stored.id, job.id);
      return job;
    },

    /** A profile's loads, newest first (the console's list of recent loads). */
    async loads(actor: Actor, institutionId: string, profileCode: string, limit?: number): Promise<Job[]> {
      const profile = await profiles.get(actor, institutionId, profileCode);
      return jobs.list(actor, institutionId, { kind: SIS_LOAD, limit, payload: { profileId: profile.id } });
    },

    /** The unfinished load of this very file (same bytes) for this profile, to resume after a crash. */
    async findResumableLoad(actor: Actor, institutionId: string, profileCode: string, sha256: string, dryRun: boolean): Promise<Job | undefined> {
      jobs.authorizeStart(actor, institutionId, SIS_LOAD);
      const profile = await profiles.byCode(institutionId, profileCode);
      return findUnfinishedLoad(db, profile.id, sha256, dryRun);
    },

    async startExport(actor: Actor, institutionId: string, req: ExportRequest): Promise<Job> {
      jobs.authorizeStart(actor, institutionId, SIS_EXPORT);
      assertThat(req.format === 'xml' || req.format === 'csv', 'INVALID_PARAMETER', { reason: 'format must be xml or csv' });
      if (req.since !== undefined) {
        assertThat(isCalendarDate(req.since), 'INVALID_PARAMETER', {
          reason: 'since must be a date as YYYY-MM-DD',
        });
      }
      if (req.profileCode) await profiles.byCode(institutionId, req.profileCode);
      const payload: ExportPayload = {
        format: req.format,
        zip: req.zip === true,
        ...(req.since ? { since: req.since } : {}),
        ...(req.profileCode ? { profileCode: req.profileCode } : {}),
        ...(req.userGroup ? { userGroup: req.userGroup } : {}),
      };
      return jobs.enqueue(actor, institutionId, { kind: SIS_EXPORT, payload, claimedBy: req.claimedBy });
    },

    /** A dry run's field-level changes, a page at a time (the job read as the job service allows). */
    async changes(actor: Actor, institutionId: string, id: string, after: number, limit: number): Promise<JobRecordChange[]> {
      await jobs.get(actor, institutionId, id);
      return listJobChanges(db, id, after, Math.min(Math.max(limit, 1), 1000));
    },
  };
}

export type SisService = ReturnType<typeof createSisService>;

