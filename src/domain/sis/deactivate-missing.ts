// "Deactivate users of this profile missing from a full file" (off by default). After the load,
// this profile's ACTIVE users whose match id the file did not name become INACTIVE, in batches,
// each audited. Refused when any record failed: a record that failed may be a user still in
// the feed (FOLIO's mod-user-import draws the same line). Resumable: users already deactivated
// no longer qualify, and the checkpoint remembers where the scan got to.
import { lockOwnJob, saveJobProgress } from '../../db/queries/jobs.js';
import { insertJobChanges } from '../../db/queries/sis-load-progress.js';
import { findProfileUsersNotSeen, lockUserVersions } from '../../db/queries/user-batches.js';
import { findUsersByIds } from '../../db/queries/users.js';
import { diffUsers } from '../audit/audit.js';
import { writeUsers } from '../users/write-users.js';
import { LeaseLostError } from '../jobs/worker.js';
import type { SisCounters } from '../../model/sis-load.js';
import type { BatchEnv } from './apply-batch.js';

/** The load's totals when deactivation starts (they do not change here). */
export interface LoadState {
  counters: SisCounters;
  applied: number;
}

export interface DeactivateProgress {
  deactivated: number;
  after: string | null;
}

export async function deactivateMissing(
  env: BatchEnv,
  state: LoadState,
  start: DeactivateProgress,
  batchSize: number,
  onBatch: (p: DeactivateProgress) => void,
): Promise<DeactivateProgress & { cancelled: boolean }> {
  const { rules, db, jobId } = env;
  let progress = { ...start };
  for (;;) {
    const users = await findProfileUsersNotSeen(db, {
      institutionId: rules.institution.id,
      profileCode: rules.profile.code,
      matchBy: rules.profile.matchBy,
      jobId,
      afterId: progress.after,
      limit: batchSize,
    });
    if (!users.length) return { ...progress, cancelled: false };
    const next = { deactivated: progress.deactivated + users.length, after: users.at(-1)!.id };
    const cancelled = await db.transaction(async (tx) => {
      const own = await lockOwnJob(tx, jobId, env.workerId);
      if (!own) throw new LeaseLostError(jobId);
      if (own.cancelRequested) return true;
      const after = (u: (typeof users)[number]) => ({ ...u, status: 'INACTIVE' as const, statusDate: rules.today });
      if (env.dryRun) {
        await insertJobChanges(tx, jobId, users.map((u, k) => ({
          // Numbered after the file's records so the report lists them last.
          recordNumber: state.applied + progress.deactivated + k + 1,
          action: 'deactivate' as const,
          identifier: u.primaryId,
          changes: diffUsers(u, after(u)),
        })));
      } else {
        // Through the one write path (a version each, the audit event): read again under lock, as
        // the page was read outside this transaction; a user someone reactivated meanwhile stays.
        await lockUserVersions(tx, users.map((u) => u.id));
        const fresh = (await findUsersByIds(tx, users.map((u) => u.id))).filter((u) => u.status === 'ACTIVE');
        await writeUsers(tx, env.actor, rules.institution.id, fresh.map((u) => ({
          existing: u,
          record: after(u),
          manualEdits: u.manualEdits,
          context: { jobId, profile: rules.profile.code, deactivatedMissing: true },
        })), { licence: env.licence });
      }
      await saveJobProgress(tx, jobId, {
        counters: state.counters,
        checkpoint: { phase: 'deactivate', applied: state.applied, deactivated: next.deactivated, after: next.after },
        leaseSeconds: env.leaseSeconds,
      });
      return false;
    });
    if (cancelled) return { ...progress, cancelled: true };
    progress = next;
    onBatch(progress);
  }
}
