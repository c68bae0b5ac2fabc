// The SIS load job ('sis.load'): parse -> match -> merge -> apply.
//   1. copy the stored file to a private work folder;
//   2. pass one (spool.ts): read it all, refuse a bad file before writing anything;
//   3. pass two (apply-batch.ts): batches in transactions, each with its checkpoint;
//   4. optionally deactivate the profile's users the file no longer names.
// A crash at any moment leaves the job 'running' under a lease that runs out; the next claim
// repeats 1-2 (cheap, and deterministic) and resumes 3 after the last committed record.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isUniqueViolation, type Db } from '../../db/database.js';
import { findInstitutionById, findNetworkById, listInstitutionIdsOfNetwork } from '../../db/queries/institutions.js';
import { findProfileById } from '../../db/queries/integration-profiles.js';
import { deleteSeenKeys, findJob, insertJobErrors, saveJobProgress } from '../../db/queries/jobs.js';
import { AppError } from '../../errors.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { Institution } from '../institutions/institution.js';
import type { FileStore } from '../jobs/file-store.js';
import type { JobContext, JobHandler, JobOutcome } from '../jobs/worker.js';
import { applyBatch, type BatchEnv, type LoadState } from './apply-batch.js';
import { ownedByMapping } from './csv-mapping.js';
import { deactivateMissing } from './deactivate-missing.js';
import { OWNS_ALL } from './owned-fields.js';
import { recordHash, rulesFingerprint } from './record-hash.js';
import { readSpool, spoolFile, type SpoolRecord } from './spool.js';

export interface LoadPayload {
  profileId: string;
  fileId: string;
  fileName: string;
  sha256: string;
  /** Set when the file came from the profile's drop folder: moved to processed/ or failed/ at the end. */
  dropFile?: string;
}

export interface SisLoadDeps {
  db: Db;
  codeTables: CodeTableCache;
  files: FileStore;
  batchSize: number;
  tmpDir: string;
}

export const SIS_LOAD = 'sis.load';

async function uniquenessOf(db: Db, institution: Institution) {
  if (institution.networkId) {
    const network = await findNetworkById(db, institution.networkId);
    if (network?.settings.uniqueIdsAcrossNetwork) {
      return { scope: network.id, institutionIds: await listInstitutionIdsOfNetwork(db, network.id) };
    }
  }
  return { scope: institution.id, institutionIds: [institution.id] };
}

/** A dropped file goes to processed/ or failed/ beside it once its job ends (when it is on this machine). */
async function settleDropFile(path: string | undefined, ok: boolean): Promise<void> {
  if (!path || !existsSync(path)) return;
  const folder = join(dirname(dirname(path)), ok ? 'processed' : 'failed');
  await mkdir(folder, { recursive: true });
  await rename(path, join(folder, basename(path))).catch(() => {});
}

export function createSisLoadHandler(deps: SisLoadDeps): JobHandler {
  const { db, codeTables, files } = deps;

  async function applySafely(env: BatchEnv, batch: SpoolRecord[], state: LoadState): Promise<{ cancelled: boolean; state: LoadState }> {
    try {
      return await applyBatch(env, batch, state);
    } catch (err) {
      // The unique indexes had the last word (a concurrent writer took a value between our check
      // and our insert): redo the batch one record at a time, so only that record fails.
      if (!isUniqueViolation(err)) throw err;
      if (batch.length === 1) {
        const reason = new AppError('IDENTIFIER_TAKEN', { type: 'identifier', value: '(a value of this user, taken meanwhile)' }).message;
        return applyBatch(env, batch, state, new Map([[batch[0]!.n, reason]]));
      }
      let s = state;
      for (const rec of batch) {
        const r = await applySafely(env, [rec], s);
        if (r.cancelled) return r;
        s = r.state;
      }
      return { cancelled: false, state: s };
    }
  }

  return async function runLoad(ctx: JobContext): Promise<JobOutcome> {
    const { job } = ctx;
    const payload = job.payload as unknown as LoadPayload;
    const profile = await findProfileById(db, payload.profileId);
    const institution = await findInstitutionById(db, job.institutionId);
    if (!profile || !institution) return { status: 'failed', error: 'the integration profile was deleted' };
    const tables = await codeTables.forInstitution(institution.id);
    const env: BatchEnv = {
      db,
      jobId: job.id,
      workerId: ctx.workerId,
      leaseSeconds: ctx.leaseSeconds,
      dryRun: job.dryRun,
      rules: {
        profile,
        institution,
        tables,
        owned: profile.format === 'csv' && profile.csvMapping ? ownedByMapping(profile.csvMapping) : OWNS_ALL,
        today: new Date().toISOString().slice(0, 10),
      },
      uniqueness: await uniquenessOf(db, institution),
      actor: { kind: 'system', label: `sis:${profile.code}` },
      fingerprint: '',
    };
    env.fingerprint = rulesFingerprint(env.rules);
    const report = async () => {
      const fresh = await findJob(db, job.id);
      if (fresh) ctx.progress(fresh);
    };

    await mkdir(deps.tmpDir, { recursive: true });
    const work = await mkdtemp(join(deps.tmpDir, 'carrel-sis-'));
    try {
      const input = join(work, 'input');
      await files.copyToPath(payload.fileId, input);
      const spool = join(work, 'records.jsonl');
      let total: number;
      try {
        ({ total } = await spoolFile(input, payload.fileName, profile, spool, (json) => recordHash(env.fingerprint, json)));
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'SIS_FILE_REFUSED') throw err;
        await insertJobErrors(db, job.id, [{ recordNumber: 0, line: null, outcome: 'failed', identifier: payload.fileName, reason: err.message }]);
        await settleDropFile(payload.dropFile, false);
        return { status: 'failed', error: err.message, result: { refused: true } };
      }
      let state: LoadState = { counters: { ...job.counters }, applied: Number(job.checkpoint.applied ?? 0) };
      if (job.total !== total) {
        await db.transaction((tx) => saveJobProgress(tx, job.id, { counters: state.counters, checkpoint: job.checkpoint, total, leaseSeconds: ctx.leaseSeconds }));
      }
      await report();

      if (job.checkpoint.phase !== 'deactivate') {
        let batch: SpoolRecord[] = [];
        const flush = async (): Promise<boolean> => {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          const r = await applySafely(env, batch, state);
          batch = [];
          state = r.state;
          await report();
          return r.cancelled;
        };
        for await (const rec of readSpool(spool)) {
          if (rec.n <= state.applied) continue;
          batch.push(rec);
          if (batch.length >= deps.batchSize && (await flush())) return cancelled(state);
        }
        if (batch.length && (await flush())) return cancelled(state);
      }

      const result: Record<string, unknown> = { total, ...state.counters };
      const wantDeactivate = profile.deactivateMissing || (job.payload as { deactivateMissing?: boolean }).deactivateMissing === true;
      if (wantDeactivate && state.counters.failed > 0) {
        result.deactivateRefused = `${state.counters.failed} record(s) failed, so users missing from the file were not deactivated`;
      } else if (wantDeactivate) {
        const cp = job.checkpoint;
        const done = await deactivateMissing(env, state, {
          deactivated: cp.phase === 'deactivate' ? Number(cp.deactivated ?? 0) : 0,
          after: cp.phase === 'deactivate' ? ((cp.after as string | null) ?? null) : null,
        }, deps.batchSize, () => void report());
        if (done.cancelled) return cancelled(state);
        result.deactivated = done.deactivated;
      }
      await deleteSeenKeys(db, job.id);
      await settleDropFile(payload.dropFile, true);
      return { status: 'succeeded', result };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  };
}

function cancelled(state: LoadState): JobOutcome {
  return { status: 'cancelled', result: { ...state.counters, applied: state.applied } };
}
