// The SIS load job ('sis.load'): parse -> match -> merge -> apply.
//   1. copy the stored file to a private work folder;
//   2. pass one (spool.ts, scan-batch.ts): read it all (parsed on a thread of its own), refuse a
//      bad file before writing anything; note duplicate match ids, and the users that need
//      nothing (unchanged, or not ours: spooled as runs, only counted in pass two);
//   3. pass two (apply-batch.ts): map and merge the rest in batches, one transaction each, which
//      records the batch's range in job_batch; on PostgreSQL three batches commit side by side
//      while the next is prepared;
//   4. optionally deactivate the profile's users the file no longer names.
// A crash at any moment leaves the job 'running' under a lease that runs out; the next claim
// repeats 1-2 (cheap, and deterministic) and applies in 3 only the records no committed batch
// covers.
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Type, type Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../model/db-errors.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { findProfileById } from '../../db/queries/integration-profiles.js';
import { findJob, insertJobErrors, saveJobProgress } from '../../db/queries/jobs.js';
import { forEachSettledSisHashPage } from '../../db/queries/settled-sis-hashes.js';
import { deleteSeenKeys, listBatchRanges } from '../../db/queries/sis-load-progress.js';
import { AppError } from '../../errors.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { FileStore } from '../jobs/file-store.js';
import { defineJobKind, type Job, type JobContext, type JobOutcome } from '../jobs/job.js';
import { createWorkDir } from '../jobs/work-dirs.js';
import { SIS_LOAD_COUNTERS, sisCountersOf, ZERO_SIS_COUNTERS, type SisCounters } from '../../model/sis-load.js';
import { commitBatch, commitCounts, prepareBatch, settledOnly, type BatchEnv, type PreparedBatch } from './apply-batch.js';
import { ownedByMapping } from './csv-mapping.js';
import { deactivateMissing } from './deactivate-missing.js';
import { OWNS_ALL } from './owned-fields.js';
import { recordHash, rulesFingerprint } from './record-hash.js';
import { knownRecordsPacker, type KnownRecordsData } from './parse/known-records.js';
import { skipMatched, type SisRules } from './merge.js';
import { createScan } from './scan-batch.js';
import { readSpool, spoolFile, type SpoolRecord } from './spool.js';
import { storableText } from '../../model/safe-text.js';
import { uniquenessOf, type NamedUserGate } from '../users/write-users.js';

const UUID = { pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };

export const LoadPayloadSchema = Type.Object(
  {
    profileId: Type.String(UUID),
    /** The stored file (job_file) to load. */
    fileId: Type.String(UUID),
    fileName: Type.String({ minLength: 1, maxLength: 255 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    /** Set when the file came from the profile's drop folder: moved to processed/ or failed/ at the end. */
    dropFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Deactivate this profile's users missing from the file, even if the profile does not say so. */
    deactivateMissing: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type LoadPayload = Static<typeof LoadPayloadSchema>;

export interface SisLoadDeps {
  db: Db;
  codeTables: CodeTableCache;
  files: FileStore;
  batchSize: number;
  /** Where loads keep their work folders (patron data: <dataDir>/spool; see work-dirs.ts). */
  spoolDir: string;
  /** The named-user licence every batch obeys. */
  licence: NamedUserGate;
}

export const SIS_LOAD = 'sis.load';

/** A dropped file goes to processed/ or failed/ beside it once its job ends (when it is on this machine). */
async function settleDropFile(path: string | undefined, ok: boolean): Promise<void> {
  if (!path || !existsSync(path)) return;
  const folder = join(dirname(dirname(path)), ok ? 'processed' : 'failed');
  await mkdir(folder, { recursive: true });
  await rename(path, join(folder, basename(path))).catch(() => {});
}

/** The spool in batches, leaving out the records committed batches cover (ranges in order). */
async function* batchesOf(chunks: AsyncIterable<SpoolRecord[]>, size: number, done: { first: number; last: number }[]): AsyncGenerator<SpoolRecord[]> {
  let batch: SpoolRecord[] = [];
  let r = 0;
  for await (const records of chunks) {
    for (const rec of records) {
      while (r < done.length && done[r]!.last < rec.n) r++;
      if (r < done.length && done[r]!.first <= rec.n) continue;
      batch.push(rec);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

/** Commits a batch; when the unique indexes refuse it (a writer slipped in), record by record. */
async function commitSafely(env: BatchEnv, batch: PreparedBatch): Promise<boolean> {
  try {
    return await commitBatch(env, batch);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    if (batch.records.length === 1) {
      const reason = new AppError('IDENTIFIER_TAKEN', { type: 'identifier', value: '(a value of this user, taken meanwhile)' }).message;
      return commitBatch(env, await prepareBatch(env, batch.records, new Map([[batch.records[0]!.n, reason]])));
    }
    for (const rec of batch.records) if (await commitSafely(env, await prepareBatch(env, [rec]))) return true;
    return false;
  }
}

/**
 * Pass two: batch k+1 is prepared (mapped, read, decided) while earlier batches commit; up to
 * `window` commits run at once (3 on PostgreSQL: its backends work beside this process, and each
 * of a batch's dozen round trips waits for this thread's next turn, so with two the cores stood
 * idle a sixth of the time; 1 on PGlite, which has one connection). Batches with nothing to write
 * but counts are gathered and committed together every SETTLED_FLUSH records. Returns whether the
 * job was cancelled.
 */
async function applySpool(env: BatchEnv, spool: string, size: number, window: number, ctx: JobContext, report: (extra?: SisCounters) => Promise<void>): Promise<boolean> {
  const done = await listBatchRanges(env.db, env.jobId);
  const inflight = new Set<Promise<void>>();
  let cancelled = false;
  let failure: unknown;
  let counted: { delta: SisCounters; ranges: { first: number; last: number }[] } = { delta: { ...ZERO_SIS_COUNTERS }, ranges: [] };
  // Progress is for the eyes: read back at most every REPORT_MS, one read at a time, and never
  // holding a commit's place in the window (a batch's slot is free once it has committed).
  let reporting: Promise<void> | undefined;
  let reported = 0;
  const reportSoon = () => {
    if (reporting || Date.now() - reported < REPORT_MS) return;
    reported = Date.now();
    reporting = report(counted.delta)
      .catch(() => {})
      .finally(() => (reporting = undefined));
  };
  const run = async (commit: () => Promise<boolean>) => {
    while (inflight.size >= window) await Promise.race(inflight);
    if (cancelled || failure) return;
    const p: Promise<void> = commit()
      .then((c) => {
        cancelled ||= c;
        reportSoon();
      })
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const flushCounted = async () => {
    if (!counted.ranges.length) return;
    const { delta, ranges } = counted;
    counted = { delta: { ...ZERO_SIS_COUNTERS }, ranges: [] };
    await run(() => commitCounts(env, delta, ranges));
  };
  for await (const records of batchesOf(readSpool(spool), size, done)) {
    if (ctx.signal.aborted) failure ??= ctx.signal.reason;
    if (cancelled || failure) break;
    const batch = await prepareBatch(env, records);
    const counts = settledOnly(batch);
    if (counts) {
      for (const k of SIS_LOAD_COUNTERS) counted.delta[k] += counts[k];
      const last = counted.ranges.at(-1);
      if (last && last.last + 1 === records[0]!.n) last.last = records.at(-1)!.n;
      else counted.ranges.push({ first: records[0]!.n, last: records.at(-1)!.n });
      if (counted.delta.read >= SETTLED_FLUSH) await flushCounted();
      else reportSoon();
      continue;
    }
    await run(async () => (await commitSafely(env, batch)));
  }
  if (!cancelled && !failure) await flushCounted();
  await Promise.all(inflight);
  await reporting;
  if (failure) throw failure;
  return cancelled;
}

const SETTLED_FLUSH = 20_000;
/** Progress (a read of the job) at most this often: for the eyes, a few a second. */
const REPORT_MS = 100;

/**
 * The records this load can read without parsing (known-records.ts): those of users the scan
 * would find unchanged, or skip without a word (an import profile's); a user it would skip with a
 * report (INTERNAL now, another profile's) is left out, as pass one needs its record's text.
 */
async function knownOf(db: Db, rules: SisRules, fingerprint: string): Promise<KnownRecordsData | null> {
  const packer = knownRecordsPacker(fingerprint);
  await forEachSettledSisHashPage(db, rules.institution.id, rules.profile.matchBy, (rows) =>
    packer.add(
      rows.filter((r) => {
        const skip = skipMatched(r, rules);
        return !(skip?.action === 'skip' && skip.report);
      }),
    ),
  );
  return packer.finish();
}

/** The sis.load kind as the job queue runs it (permission sis:manage; the SIS counters). */
export function sisLoadKind(deps: SisLoadDeps) {
  return defineJobKind({
    kind: SIS_LOAD,
    payload: LoadPayloadSchema,
    permission: 'sis:manage',
    counters: SIS_LOAD_COUNTERS,
    handler: createSisLoadHandler(deps),
  });
}

function createSisLoadHandler(deps: SisLoadDeps) {
  const { db, codeTables, files } = deps;

  return async function runLoad(ctx: JobContext<LoadPayload>): Promise<JobOutcome> {
    const { job, payload } = ctx;
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
      licence: deps.licence,
      format: { format: profile.format, csvMapping: profile.csvMapping },
    };
    const fingerprint = rulesFingerprint(env.rules);
    const current = async (): Promise<Job> => (await findJob(db, job.id)) ?? job;
    /** Progress as committed, plus what settled batches counted and have not committed yet. */
    const report = async (extra?: SisCounters) => {
      const now = await current();
      if (extra) for (const k of SIS_LOAD_COUNTERS) now.counters[k] = (now.counters[k] ?? 0) + extra[k];
      await ctx.progress(now);
    };

    const workDir = await createWorkDir(deps.spoolDir);
    const work = workDir.path;
    try {
      const input = join(work, 'input');
      // Asked while the file is copied: the records this load can read without parsing.
      const known = profile.format === 'alma_xml' ? knownOf(db, env.rules, fingerprint) : Promise.resolve(null);
      known.catch(() => {});
      await files.copyToPath(payload.fileId, input);
      const spool = join(work, 'records.jsonl');
      let total: number;
      try {
        ({ total } = await spoolFile(input, payload.fileName, spool, {
          profileCode: profile.code,
          matchBy: profile.matchBy,
          format: env.format,
          hashOf: (raw) => recordHash(fingerprint, raw),
          scan: createScan(db, job.id, env.rules),
          known: await known,
          batchSize: deps.batchSize,
        }));
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'SIS_FILE_REFUSED') throw err;
        await deleteSeenKeys(db, job.id);
        const reason = storableText(err.message);
        await insertJobErrors(db, job.id, [{ recordNumber: 0, line: null, outcome: 'failed', identifier: payload.fileName, reason }]);
        await settleDropFile(payload.dropFile, false);
        return { status: 'failed', error: reason, result: { refused: true } };
      }
      if (job.total !== total) {
        const now = await current();
        await db.transaction((tx) => saveJobProgress(tx, job.id, { counters: now.counters, checkpoint: now.checkpoint, total, leaseSeconds: ctx.leaseSeconds }));
      }
      await report();

      if (job.checkpoint.phase !== 'deactivate') {
        const window = db.engine === 'postgres' ? 3 : 1;
        if (await applySpool(env, spool, deps.batchSize, window, ctx, report)) return cancelled(await current());
      }

      const counters = sisCountersOf((await current()).counters);
      const result: Record<string, unknown> = { total, ...counters };
      const wantDeactivate = profile.deactivateMissing || payload.deactivateMissing === true;
      if (wantDeactivate && counters.failed > 0) {
        result.deactivateRefused = `${counters.failed} record(s) failed, so users missing from the file were not deactivated`;
      } else if (wantDeactivate) {
        const cp = job.checkpoint;
        // Progress is for the eyes: a report lost to an outage must not become an unhandled
        // rejection (the process would end); the next batch's own statement meets the outage.
        const done = await deactivateMissing(env, { counters, applied: total }, {
          deactivated: cp.phase === 'deactivate' ? Number(cp.deactivated ?? 0) : 0,
          after: cp.phase === 'deactivate' ? ((cp.after as string | null) ?? null) : null,
        }, deps.batchSize, () => void report().catch(() => {}));
        if (done.cancelled) return cancelled(await current());
        result.deactivated = done.deactivated;
      }
      await deleteSeenKeys(db, job.id);
      await settleDropFile(payload.dropFile, true);
      return { status: 'succeeded', result };
    } finally {
      await workDir.remove();
    }
  };
}

function cancelled(job: Job): JobOutcome {
  return { status: 'cancelled', result: { ...job.counters } };
}
