// The SIS integration wired together for the composition root: profiles, loads and exports,
// the job service that reports on them, restoring manual edits, and the worker's handler map.
import type { Db } from '../../db/database.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import { createFileStore } from '../jobs/file-store.js';
import { createJobService } from '../jobs/job-service.js';
import { sweepWorkDirs } from '../jobs/work-dirs.js';
import type { JobHandlers } from '../jobs/worker.js';
import { createManualEditService } from '../users/manual-edits.js';
import { deleteAbandonedFiles } from '../../db/queries/job-files.js';
import { deleteFinishedJobLeftovers } from '../../db/queries/jobs.js';
import { createDropFolderPoller } from './drop-folder.js';
import { createSisExportHandler, SIS_EXPORT } from './export.js';
import { createSisLoadHandler, SIS_LOAD } from './load.js';
import { createProfileService } from './profile-service.js';
import { createSisService } from './sis-service.js';

export interface SisOptions {
  uploadLimit: number;
  /** Records per batch transaction; 0: 500 (measured: 1000 is no faster and holds more memory). */
  batchSize: number;
  baseUrl: string;
  /** The loads' work folders (copies of files, spools: patron data), e.g. <dataDir>/spool. */
  spoolDir: string;
}

export function createSisModule(db: Db, codeTables: CodeTableCache, opts: SisOptions) {
  const files = createFileStore(db);
  const profiles = createProfileService({ db, codeTables });
  const sis = createSisService({ db, files, profiles, uploadLimit: opts.uploadLimit });
  const batchSize = opts.batchSize || 500;
  const jobHandlers: JobHandlers = {
    [SIS_LOAD]: createSisLoadHandler({ db, codeTables, files, batchSize, spoolDir: opts.spoolDir }),
    [SIS_EXPORT]: createSisExportHandler({ db, codeTables, files, pageSize: 1000, baseUrl: opts.baseUrl }),
  };
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
      await deleteFinishedJobLeftovers(db, 7);
    },
    services: {
      profiles,
      sis,
      jobs: createJobService({ db, files }),
      manualEdits: createManualEditService({ db }),
    },
    jobHandlers,
    dropFolders,
  };
}
