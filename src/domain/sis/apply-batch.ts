// Pass two of a load, one batch at a time, in two steps so the database and the CPU work side by
// side: prepareBatch maps and decides without a transaction (the next batch is prepared while
// earlier ones commit), and commitBatch writes in one transaction with a fixed number of
// statements, the job's counters and the batch's record range committed with them: either the
// whole batch is in the database or none of it is, and a restart skips exactly what committed.
// Records pass one settled (duplicates, unchanged and skipped users) are only counted and
// reported; the rest come mapped from pass one or are mapped here. What commitBatch writes was decided on a read outside its transaction, so it checks
// first: a user changed meanwhile is read again (locked) and decided again.
import type { Db, Queryable } from '../../db/database.js';
import { addJobCounters, checkOwnJob, insertJobErrors } from '../../db/queries/jobs.js';
import { insertBatchRanges, insertJobChanges } from '../../db/queries/sis-load-progress.js';
import { findIdsWithPrefixes, findUsersByMatchKeys, lockUserVersions, markSisState } from '../../db/queries/user-batches.js';
import { lockIdentifierValues } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../access/actor.js';
import { diffUsers } from '../audit/audit.js';
import type { JobRecordError } from '../jobs/job.js';
import { ZERO_SIS_COUNTERS, type JobRecordChange, type SisCounters } from '../../model/sis-load.js';
import { LeaseLostError } from '../jobs/worker.js';
import type { User, UserInput } from '../../model/user.js';
import { checkIdentifiers, writeUsers, type NamedUserGate, type Uniqueness, type UserWrite } from '../users/write-users.js';
import { addGeneratedIdentifiers, identifierToGenerate } from '../users/identifier-generation.js';
import { assertMandatoryIdentifier } from '../users/validate-user.js';
import { matchKeyOf, nextPrimaryId, primaryIdBase, type MatchKey } from './match.js';
import { mapRawRecords, type FileFormat, type MappedRecord } from './parse/read-user-file.js';
import { decide, type Decision, type SisRules } from './merge.js';
import type { FastDecision, SpoolRecord } from './spool.js';
import { storableText } from '../../model/safe-text.js';

export interface BatchEnv {
  db: Db;
  jobId: string;
  workerId: string;
  leaseSeconds: number;
  dryRun: boolean;
  rules: SisRules;
  /** Where identifiers must be unique: the institution, or its network when the network says so. */
  uniqueness: Uniqueness;
  actor: Actor;
  /** The named-user licence the batch's writes obey (a refused record fails with its error). */
  licence: NamedUserGate;
  /** How the file's raw records are mapped. */
  format: FileFormat;
}

interface Item {
  rec: SpoolRecord;
  input: UserInput;
  key: MatchKey;
  hash: string;
  /** The user the match id found when the batch was prepared, and its version then. */
  existing: User | undefined;
  version: number | null;
  /** Undefined until decided (a new user without a primary id is decided once one is generated). */
  decision?: Decision;
}

export interface PreparedBatch {
  records: SpoolRecord[];
  items: Item[];
  /** Settled by pass one: counted and reported, nothing else. */
  settled: { rec: SpoolRecord; fast: FastDecision }[];
  failures: { rec: SpoolRecord; reason: string; identifier: string | null }[];
}

interface Pending extends UserWrite {
  item: Item;
}

const message = (code: 'SIS_MATCH_ID_MISSING' | 'SIS_DUPLICATE_IN_FILE', p: Record<string, string | number>) =>
  new AppError(code, p).message;

const writes = (d: Decision | undefined) => d === undefined || d.action === 'create' || d.action === 'update';

/** Maps and decides a batch without a transaction (nothing is locked or written here). */
export async function prepareBatch(env: BatchEnv, records: SpoolRecord[], forced?: ReadonlyMap<number, string>): Promise<PreparedBatch> {
  const { rules } = env;
  const matchBy = rules.profile.matchBy;
  const failures: PreparedBatch['failures'] = [];
  const settled: PreparedBatch['settled'] = [];
  const toMap: SpoolRecord[] = [];
  for (const rec of records) {
    const forcedReason = forced?.get(rec.n);
    if (forcedReason) failures.push({ rec, reason: forcedReason, identifier: rec.keyValue ?? null });
    else if (rec.error) failures.push({ rec, reason: rec.error, identifier: null });
    // Pass one settles only records with a match id, seen first (a spooled run keeps neither).
    else if (rec.fast) settled.push({ rec, fast: rec.fast });
    else if (!rec.key) failures.push({ rec, reason: message('SIS_MATCH_ID_MISSING', { matchBy }), identifier: null });
    else if (rec.dupOf) failures.push({ rec, reason: message('SIS_DUPLICATE_IN_FILE', { value: rec.keyValue!, first: rec.dupOf }), identifier: rec.keyValue! });
    else toMap.push(rec);
  }
  const items: Item[] = [];
  for (let from = 0; from < toMap.length; from += SLICE) {
    if (from) await yieldToCommits();
    const slice = toMap.slice(from, from + SLICE);
    // Mapped in pass one, or mapped here from the raw text (the same mapping).
    const raws = slice.filter((r) => r.input === undefined && r.mapError === undefined);
    const fromRaw = mapRawRecords(env.format, raws.map((r) => r.raw!));
    let next = 0;
    const mapped = slice.map((r): MappedRecord => (r.input !== undefined ? { input: r.input } : r.mapError !== undefined ? { error: r.mapError } : fromRaw[next++]!));
    mapped.forEach((m, k) => {
      const rec = slice[k]!;
      const key = m.input && matchKeyOf(m.input, matchBy);
      if (!m.input) failures.push({ rec, reason: m.error, identifier: rec.keyValue ?? null });
      // Pass one read the match id without the mapping; the two must agree.
      else if (key?.key !== rec.key) failures.push({ rec, reason: message('SIS_MATCH_ID_MISSING', { matchBy }), identifier: rec.keyValue ?? null });
      else items.push({ rec, input: m.input, key: key!, hash: rec.hash!, existing: undefined, version: null });
    });
  }
  const users = await findUsersByMatchKeys(env.db, rules.institution.id, matchBy, items.map((i) => i.key.key), false);
  for (const [k, item] of items.entries()) {
    if (k && k % SLICE === 0) await yieldToCommits();
    item.existing = users.get(item.key.key);
    item.version = item.existing?.version ?? null;
    // A new user without a primary id is decided once the transaction has generated one.
    if (item.existing || item.input.primaryId?.trim()) item.decision = decide(item.existing, item.input, rules);
  }
  return { records, items, settled, failures };
}

/**
 * Preparing is the importer's CPU work; the batches committing meanwhile wait for this same event
 * loop between their statements. Preparing in slices, with a turn of the loop between them, lets
 * a committing batch send its next statement within a slice's time (a few ms) rather than after
 * the whole batch's mapping (tens of ms), so PostgreSQL and the importer work side by side.
 */
const SLICE = 50;
const yieldToCommits = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Writes a prepared batch in one transaction, with its counters and record range; true when the
 * job was cancelled meanwhile (nothing written). Batches of one load may commit side by
 * side: they share no user (pass one made match ids unique), and meet only at the job's row.
 */
export async function commitBatch(env: BatchEnv, batch: PreparedBatch): Promise<boolean> {
  const { rules, dryRun, jobId } = env;
  const institutionId = rules.institution.id;
  return env.db.transaction(async (tx) => {
    const own = await checkOwnJob(tx, jobId, env.workerId);
    if (!own) throw new LeaseLostError(jobId);
    if (own.cancelRequested) return true;

    const counters: SisCounters = { ...ZERO_SIS_COUNTERS, read: batch.records.length };
    const errors: JobRecordError[] = [];
    const fail = (rec: SpoolRecord, reason: string, identifier: string | null) => {
      counters.failed++;
      errors.push({ recordNumber: rec.n, line: rec.line, outcome: 'failed', identifier, reason });
    };
    for (const f of batch.failures) fail(f.rec, f.reason, f.identifier);
    for (const { rec, fast } of batch.settled) {
      if (fast.action === 'unchanged') counters.unchanged++;
      else {
        counters.skipped++;
        if (fast.report) errors.push({ recordNumber: rec.n, line: rec.line, outcome: 'skipped', identifier: rec.keyValue ?? null, reason: fast.reason });
      }
    }
    const items = batch.items;
    await recheck(tx, env, items.filter((i) => writes(i.decision)));
    await generatePrimaryIds(tx, env, items.filter((i) => !i.decision));

    const pending: Pending[] = [];
    const marks: { id: string; version: number; sisHash: string }[] = [];
    for (const item of items) {
      const d = item.decision!;
      if (d.action === 'fail') fail(item.rec, d.reason, item.key.value);
      else if (d.action === 'unchanged') {
        counters.unchanged++;
        if (item.existing) marks.push({ id: item.existing.id, version: item.existing.version, sisHash: item.hash });
      } else if (d.action === 'skip') {
        counters.skipped++;
        if (d.report) errors.push({ recordNumber: item.rec.n, line: item.rec.line, outcome: 'skipped', identifier: item.key.value, reason: d.reason });
      } else {
        pending.push({
          item,
          existing: item.existing,
          record: d.record,
          manualEdits: d.action === 'update' ? d.manualEdits : [],
          sisHash: item.hash,
          context: { jobId, profile: rules.profile.code, recordNumber: item.rec.n },
        });
      }
    }

    await completeIdentifiers(tx, env, pending, fail);
    const { ok: writable, refused } = await checkIdentifiers(tx, env.uniqueness, pending, { dryRun });
    for (const r of refused) fail(r.write.item.rec, r.error.message, r.write.item.key.value);
    const count = (written: Pending[]) => {
      counters.created += written.filter((p) => !p.existing).length;
      counters.updated += written.filter((p) => p.existing).length;
    };

    if (dryRun) {
      // A dry run does not ask the named-user licence (it would move the network's level).
      count(writable);
      const changes: JobRecordChange[] = writable.map((p) => ({
        recordNumber: p.item.rec.n,
        action: p.existing ? 'update' : 'create',
        identifier: p.item.key.value,
        changes: diffUsers(p.existing, p.record),
      }));
      await insertJobChanges(tx, jobId, changes);
    } else {
      await markSisState(tx, marks);
      const { written, refused: overLicence } = await writeUsers(tx, env.actor, institutionId, writable, { licence: env.licence });
      for (const r of overLicence) fail(r.write.item.rec, r.error.message, r.write.item.key.value);
      count(written);
    }

    await insertJobErrors(tx, jobId, errors.map((e) => ({ ...e, reason: storableText(e.reason), identifier: e.identifier && storableText(e.identifier) })));
    const range = { first: batch.records[0]!.n, last: batch.records.at(-1)!.n };
    await recordProgress(tx, env, counters, [range]);
    return false;
  });
}

/** Nothing to write but counts: pass one settled every record (a nightly file of unchanged users). */
export function settledOnly(batch: PreparedBatch): SisCounters | undefined {
  if (batch.items.length || batch.failures.length || batch.settled.some((s) => s.fast.action === 'skip' && s.fast.report)) return undefined;
  const unchanged = batch.settled.filter((s) => s.fast.action === 'unchanged').length;
  return { ...ZERO_SIS_COUNTERS, read: batch.records.length, unchanged, skipped: batch.settled.length - unchanged };
}

/**
 * Commits what settled-only batches counted, with their record ranges, in one transaction. (Had
 * a crash lost them, the next run would settle those records again: nothing else depends on it.)
 */
export async function commitCounts(env: BatchEnv, delta: SisCounters, ranges: { first: number; last: number }[]): Promise<boolean> {
  return env.db.transaction(async (tx) => {
    const own = await checkOwnJob(tx, env.jobId, env.workerId);
    if (!own) throw new LeaseLostError(env.jobId);
    if (own.cancelRequested) return true;
    await recordProgress(tx, env, delta, ranges);
    return false;
  });
}

/**
 * The users these records update were read outside this transaction: lock them and check nobody
 * changed them since; whatever moved is read again and decided again. (A user created meanwhile
 * by someone else runs into the unique indexes, and the batch is redone record by record.
 * Unchanged and skipped records need no check: the load saw them so during the load.)
 */
async function recheck(tx: Queryable, env: BatchEnv, items: Item[]): Promise<void> {
  const updates = items.filter((i) => i.existing);
  if (!updates.length || env.dryRun) return;
  const { rules } = env;
  const locked = await lockUserVersions(tx, updates.map((i) => i.existing!.id));
  const stale = updates.filter((i) => locked.get(i.existing!.id) !== i.version);
  if (!stale.length) return;
  const fresh = await findUsersByMatchKeys(tx, rules.institution.id, rules.profile.matchBy, stale.map((i) => i.key.key), true);
  for (const item of stale) {
    item.existing = fresh.get(item.key.key);
    item.version = item.existing?.version ?? null;
    item.decision = item.existing || item.input.primaryId?.trim() ? decide(item.existing, item.input, rules) : undefined;
  }
}

/** Alma's default for a missing primary id (first and last name plus a counter), unique here. */
async function generatePrimaryIds(tx: Queryable, env: BatchEnv, items: Item[]): Promise<void> {
  if (!items.length) return;
  const bases = items.map((i) => primaryIdBase(i.input.firstName, i.input.lastName));
  // Two loads generating from the same names take turns, so each sees the other's ids.
  await lockIdentifierValues(tx, env.uniqueness.scope, [...new Set(bases.map((b) => `generated:${b}`))]);
  const taken = await findIdsWithPrefixes(tx, env.uniqueness.institutionIds, [...new Set(bases)]);
  items.forEach((item, k) => {
    const id = nextPrimaryId(bases[k]!, taken);
    taken.add(id);
    item.input = { ...item.input, primaryId: id };
    item.decision = decide(undefined, item.input, env.rules);
  });
}

/**
 * New users without the identifier their record type's rule generates get one now, in the
 * batch's transaction (never a value another record of the batch brings); a record whose rule
 * cannot serve it fails alone. Removes the failed ones from `pending`.
 */
async function completeIdentifiers(tx: Queryable, env: BatchEnv, pending: Pending[], fail: (rec: SpoolRecord, reason: string, id: string | null) => void): Promise<void> {
  const { institution, tables } = env.rules;
  const creates = pending.filter((p) => !p.existing && identifierToGenerate(institution, p.record));
  if (!creates.length) return;
  const claimed = new Set(pending.flatMap((p) => [p.record.primaryId, ...p.record.identifiers.map((i) => i.value)]).map((v) => v.toLowerCase()));
  const done = await addGeneratedIdentifiers(tx, { institution, tables, uniqueness: env.uniqueness }, creates.map((p) => p.record), { claimed, dryRun: env.dryRun });
  const failed = new Set<Pending>();
  creates.forEach((p, k) => {
    const r = done[k]!;
    if (r instanceof AppError) {
      fail(p.item.rec, r.message, p.item.key.value);
      failed.add(p);
      return;
    }
    p.record = r;
    try {
      assertMandatoryIdentifier(institution, r);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      fail(p.item.rec, err.message, p.item.key.value);
      failed.add(p);
    }
  });
  if (failed.size) pending.splice(0, pending.length, ...pending.filter((p) => !failed.has(p)));
}

/**
 * In the batch's transaction: the job's counters grow by `delta` (the queue's), and the record
 * ranges committed are noted (the load's own, so a resumed load skips exactly these).
 */
async function recordProgress(tx: Queryable, env: BatchEnv, delta: SisCounters, ranges: { first: number; last: number }[]): Promise<void> {
  if (!(await addJobCounters(tx, env.jobId, env.workerId, delta, env.leaseSeconds))) throw new LeaseLostError(env.jobId);
  await insertBatchRanges(tx, env.jobId, ranges);
}
