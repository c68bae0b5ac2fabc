// The SIS integration wired together for the composition root: profiles, loads and exports,
// restoring manual edits, and the two kinds of job it registers with the queue (sis.load and
// sis.export: their payload schemas, permission, counters and handlers).
import type { Db } from '../../db/database.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { FileStore } from '../jobs/file-store.js';
import type { JobKind } from '../jobs/job.js';
import type { JobService } from '../jobs/job-service.js';
import { sweepWorkDirs } from '../jobs/work-dirs.js';
import { createManualEditService } from '../users/manual-edits.js';
import { deleteAbandonedFiles, deleteOldJobInputs } from '../../db/queries/job-files.js';
import { deleteFinishedLoadProgress } from '../../db/queries/sis-load-progress.js';
import { createDropFolderPoller } from './drop-folder.js';
import { sisExportKind } from './export.js';
import { sisLoadKind } from './load.js';
import { createProfileService } from './profile-service.js';
import { createSisService } from './sis-service.js';
import type { NamedUserGate } from '../users/write-users.js';

export interface SisOptions {
  uploadLimit: number;
  /** Records per batch transaction; 0: 500 (measured: 1000 is no faster and holds more memory). */
  batchSize: number;
  baseUrl: string;
  /** The loads' work folders (copies of files, spools: patron data), e.g. <dataDir>/spool. */
  spoolDir: string;
  /** The named-user licence SIS loads obey (the API's too: one write path). */
  licence: NamedUserGate;
}

export function createSisModule(db: Db, codeTables: CodeTableCache, queue: { files: FileStore; jobs: JobService }, opts: SisOptions) {
  const { files, jobs } = queue;
  const profiles = createProfileService({ db, codeTables });
  const sis = createSisService({ db, files, jobs, profiles, uploadLimit: opts.uploadLimit });
  const batchSize = opts.batchSize || 500;
  const jobKinds: JobKind[] = [
    sisLoadKind({ db, codeTables, files, batchSize, spoolDir: opts.spoolDir, licence: opts.licence }),
    sisExportKind({ db, codeTables, files, pageSize: 1000, baseUrl: opts.baseUrl }),
  ];
  const dropFolders = createDropFolderPoller({ db, sis });
  let lastHousekeeping = 0;
  return {
    /**
     * Between jobs: poll the drop folders; hourly, drop abandoned uploads and old inputs (kept 7
     * days), and the work folders of processes that died meanwhile (a carrel import killed beside
     * a long-running carrel serve).
     */
    async idle(): Promise<void> {
      await dropFolders.poll();
      if (Date.now() - lastHousekeeping < 3_600_000) return;
      lastHousekeeping = Date.now();
      sweepWorkDirs(opts.spoolDir);
      await deleteAbandonedFiles(db, 24);
      await deleteFinishedLoadProgress(db);
      await deleteOldJobInputs(db, 7);
    },
    services: {
      profiles,
      sis,
      manualEdits: createManualEditService({ db }),
    },
    jobKinds,
    dropFolders,
  };
}
