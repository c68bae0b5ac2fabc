// Pass two of a load, one batch: match, merge and write a few hundred records in one
// transaction, with a fixed number of statements (find the matches, check the identifiers, insert,
// update, audit, report), and the job's counters and checkpoint committed with them. Either the
// whole batch is in the database, checkpoint included, or none of it is: a restart skips exactly
// the records that committed.
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvents, type AuditEventInput } from '../../db/queries/audit-events.js';
import { insertJobChanges, insertJobErrors, lockOwnJob, recordSeenKeys, saveJobProgress } from '../../db/queries/jobs.js';
import { findIdsWithPrefixes, findMatchStates, findUsersByMatchKeys, insertUsers, markSisState, updateUsers } from '../../db/queries/user-batches.js';
import { findIdentifierClashes, lockIdentifierValues } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../access/actor.js';
import { diffUsers, userAuditEvent } from '../audit/audit.js';
import type { JobCounters, JobRecordChange, JobRecordError } from '../jobs/job.js';
import { LeaseLostError } from '../jobs/worker.js';
import type { User, UserInput, UserRecordFields } from '../users/user.js';
import { matchKeyOf, nextPrimaryId, primaryIdBase, type MatchKey } from './match.js';
import { decide, sameValue, skipMatched, type Decision, type SisRules } from './merge.js';
import { recordHash } from './record-hash.js';
import type { SpoolRecord } from './spool.js';

export interface BatchEnv {
  db: Db;
  jobId: string;
  workerId: string;
  leaseSeconds: number;
  dryRun: boolean;
  rules: SisRules;
  /** Where identifiers must be unique: the institution, or its network when the network says so. */
  uniqueness: { scope: string; institutionIds: string[] };
  actor: Actor;
  /** rulesFingerprint(rules), computed once per load (spooled records carry their hash already). */
  fingerprint: string;
}

export interface LoadState {
  counters: JobCounters;
  /** The last record number committed. */
  applied: number;
}

interface Item {
  rec: SpoolRecord;
  input: UserInput;
  key: MatchKey;
  hash?: string;
}

interface Pending {
  item: Item;
  existing: User | undefined;
  record: UserRecordFields;
  manualEdits: string[];
}

const message = (code: 'SIS_MATCH_ID_MISSING' | 'SIS_DUPLICATE_IN_FILE' | 'IDENTIFIER_TAKEN', p: Record<string, string | number>) =>
  new AppError(code, p).message;

/** Applies one batch; `forced` fails the given records without trying them (after a unique violation). */
export async function applyBatch(
  env: BatchEnv,
  records: SpoolRecord[],
  state: LoadState,
  forced?: ReadonlyMap<number, string>,
): Promise<{ cancelled: boolean; state: LoadState }> {
  const { rules, dryRun, jobId } = env;
  const institutionId = rules.institution.id;
  const matchBy = rules.profile.matchBy;
  return env.db.transaction(async (tx) => {
    const own = await lockOwnJob(tx, jobId, env.workerId);
    if (!own) throw new LeaseLostError(jobId);
    if (own.cancelRequested) return { cancelled: true, state };

    const counters = { ...state.counters, read: state.counters.read + records.length };
    const errors: JobRecordError[] = [];
    const fail = (rec: SpoolRecord, reason: string, identifier: string | null) => {
      counters.failed++;
      errors.push({ recordNumber: rec.n, line: rec.line, outcome: 'failed', identifier, reason });
    };

    // Match ids: present, and not read before in this file (earlier in this batch or an earlier one).
    let items: Item[] = [];
    const firstInBatch = new Map<string, number>();
    for (const rec of records) {
      const forcedReason = forced?.get(rec.n);
      if (forcedReason) fail(rec, forcedReason, rec.input?.primaryId ?? null);
      else if (!rec.input) fail(rec, rec.error ?? 'unreadable record', null);
      else {
        const key = matchKeyOf(rec.input, matchBy);
        const first = key && firstInBatch.get(key.key);
        if (!key) fail(rec, message('SIS_MATCH_ID_MISSING', { matchBy }), rec.input.primaryId ?? null);
        else if (first) fail(rec, message('SIS_DUPLICATE_IN_FILE', { value: key.value, first }), key.value);
        else {
          firstInBatch.set(key.key, rec.n);
          items.push({ rec, input: rec.input, key });
        }
      }
    }
    const earlier = await recordSeenKeys(tx, jobId, items.map((i) => ({ key: i.key.key, n: i.rec.n })));
    items = items.filter((i) => {
      const first = earlier.get(i.key.key);
      if (first !== undefined && first !== i.rec.n) fail(i.rec, message('SIS_DUPLICATE_IN_FILE', { value: i.key.value, first }), i.key.value);
      return first === undefined || first === i.rec.n;
    });

    // A narrow look first: most matched users of a nightly file are unchanged since the last load
    // (same record hash, same version), and skips need no more than this either. Only the rest
    // are read whole, locked, and merged.
    const states = await findMatchStates(tx, institutionId, matchBy, items.map((i) => i.key.key));
    const decided = new Map<Item, Decision>();
    const full: string[] = [];
    for (const item of items) {
      item.hash = item.rec.hash ?? recordHash(env.fingerprint, JSON.stringify(item.input));
      const st = states.get(item.key.key);
      if (!st) continue;
      const d = skipMatched(st, rules) ?? (st.sisHash === item.hash && st.version === st.sisVersion ? { action: 'unchanged' as const } : undefined);
      if (d) decided.set(item, d);
      else full.push(item.key.key);
    }
    const existing = await findUsersByMatchKeys(tx, institutionId, matchBy, full, !dryRun);
    await generatePrimaryIds(tx, env, items.filter((i) => !states.has(i.key.key) && !i.input.primaryId?.trim()));

    // The rules, record by record.
    const pending: Pending[] = [];
    const marks: { id: string; version: number; sisHash: string }[] = [];
    for (const item of items) {
      const user = existing.get(item.key.key);
      const d = decided.get(item) ?? decide(user, item.input, rules);
      if (d.action === 'unchanged' && user) marks.push({ id: user.id, version: user.version, sisHash: item.hash! });
      if (d.action === 'fail') fail(item.rec, d.reason, item.key.value);
      else if (d.action === 'unchanged') counters.unchanged++;
      else if (d.action === 'skip') {
        counters.skipped++;
        if (d.report) errors.push({ recordNumber: item.rec.n, line: item.rec.line, outcome: 'skipped', identifier: item.key.value, reason: d.reason });
      } else pending.push({ item, existing: user, record: d.record, manualEdits: d.action === 'update' ? d.manualEdits : [] });
    }

    const writable = await checkIdentifiers(tx, env, pending, (p, reason) => fail(p.item.rec, reason, p.item.key.value));
    const creates = writable.filter((p) => !p.existing);
    const updates = writable.filter((p) => p.existing);
    counters.created += creates.length;
    counters.updated += updates.length;

    if (dryRun) {
      const changes: JobRecordChange[] = writable.map((p) => ({
        recordNumber: p.item.rec.n,
        action: p.existing ? 'update' : 'create',
        identifier: p.item.key.value,
        changes: diffUsers(p.existing, p.record),
      }));
      await insertJobChanges(tx, jobId, changes);
    } else {
      await markSisState(tx, marks);
      const ids = await insertUsers(tx, institutionId, creates.map((p) => ({ ...p.record, manualEdits: [], sisHash: p.item.hash })));
      const done = await updateUsers(tx, institutionId, updates.map((p) => ({
        id: p.existing!.id,
        version: p.existing!.version,
        record: { ...p.record, manualEdits: p.manualEdits, sisHash: p.item.hash },
        identifiersChanged: !sameValue(p.existing!.identifiers, p.record.identifiers),
      })));
      if (done.size !== updates.length) throw new Error('a locked user changed under the batch');
      const context = (p: Pending) => ({ jobId, profile: rules.profile.code, recordNumber: p.item.rec.n });
      const events: AuditEventInput[] = [
        ...creates.map((p) => {
          const subject = { id: ids.get(p.record.primaryId.toLowerCase())!, institutionId, primaryId: p.record.primaryId };
          return userAuditEvent(env.actor, 'user.create', subject, undefined, p.record, context(p));
        }),
        ...updates.map((p) => userAuditEvent(env.actor, 'user.update', { ...p.existing!, primaryId: p.record.primaryId }, p.existing, p.record, context(p))),
      ];
      await insertAuditEvents(tx, events);
    }

    await insertJobErrors(tx, jobId, errors);
    const applied = records.at(-1)?.n ?? state.applied;
    await saveJobProgress(tx, jobId, { counters, checkpoint: { phase: 'load', applied }, leaseSeconds: env.leaseSeconds });
    return { cancelled: false, state: { counters, applied } };
  });
}

/** Alma's default for a missing primary id (first and last name plus a counter), unique here. */
async function generatePrimaryIds(tx: Queryable, env: BatchEnv, items: Item[]): Promise<void> {
  if (!items.length) return;
  const bases = items.map((i) => primaryIdBase(i.input.firstName, i.input.lastName));
  const taken = await findIdsWithPrefixes(tx, env.uniqueness.institutionIds, [...new Set(bases)]);
  items.forEach((item, k) => {
    const id = nextPrimaryId(bases[k]!, taken);
    taken.add(id);
    item.input = { ...item.input, primaryId: id };
  });
}

/**
 * Every primary id and identifier a record brings must be free: not another user's, and not
 * claimed by an earlier record of this batch. Values the user already holds need no check.
 */
async function checkIdentifiers(
  tx: Queryable,
  env: BatchEnv,
  pending: Pending[],
  fail: (p: Pending, reason: string) => void,
): Promise<Pending[]> {
  const valuesOf = (r: UserRecordFields) => [{ idType: 'primary_id', value: r.primaryId }, ...r.identifiers];
  const claimed = new Map<string, Pending>();
  const fresh: string[] = [];
  const ok: Pending[] = [];
  for (const p of pending) {
    const own = new Set(p.existing ? valuesOf(p.existing).map((i) => i.value.toLowerCase()) : []);
    const mine = valuesOf(p.record);
    const conflict = mine.find((i) => claimed.has(i.value.toLowerCase()));
    if (conflict) {
      fail(p, message('IDENTIFIER_TAKEN', { type: conflict.idType, value: conflict.value }));
      continue;
    }
    for (const i of mine) {
      const v = i.value.toLowerCase();
      claimed.set(v, p);
      if (!own.has(v)) fresh.push(v);
    }
    ok.push(p);
  }
  if (!fresh.length) return ok;
  // Across a network only this check keeps values unique, so it runs under the same advisory
  // locks single writes take. Within one institution the unique indexes have the last word: a
  // writer that slips in between makes the insert fail, and the batch is redone record by record.
  if (!env.dryRun && env.uniqueness.institutionIds.length > 1) await lockIdentifierValues(tx, env.uniqueness.scope, fresh);
  const clashes = await findIdentifierClashes(tx, env.uniqueness.institutionIds, fresh, null);
  const holder = new Map(clashes.map((c) => [c.value.toLowerCase(), c.userId]));
  return ok.filter((p) => {
    const clash = valuesOf(p.record).find((i) => {
      const other = holder.get(i.value.toLowerCase());
      return other !== undefined && other !== p.existing?.id;
    });
    if (clash) fail(p, message('IDENTIFIER_TAKEN', { type: clash.idType, value: clash.value }));
    return !clash;
  });
}
