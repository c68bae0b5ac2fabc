// The SSO-outage toggle as jobs (issue 9, scope 7). 'account-type-toggle' switches a set of
// EXTERNAL staff (a list of ids, or a query: record type, user group, role) to INTERNAL, each with
// an e-mailed set-password link or a temporary password with a forced change; 'account-type-revert'
// switches back exactly the users that toggle job switched and that are still INTERNAL from it
// (identity.account_toggle.job_id: a toggle by hand clears it), restoring each external id and
// removing the temporary passwords.
//
// Crash safety: the first run plans (one identity.outage_toggle row per user, and the report rows
// of ids it could not find) in one transaction with the job's total; then each user is one
// transaction that toggles, settles the user's row and adds to the job's counters. A run after a
// crash takes only the rows still pending, so nobody is toggled twice and nobody is missed. A
// revert takes rows 'toggled' the same way; one live revert per toggle job (a unique index).
import { Type, type Static } from 'typebox';
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { findCredential } from '../../db/queries/identity-credentials.js';
import {
  clearSealedPasswords,
  findAccountToggleJob,
  findOutageCandidates,
  insertOutageRows,
  listOutageRows,
  lockSealedPasswords,
  setAccountToggleJob,
  settleOutageRow,
  type OutageRow,
  type OutageRowState,
} from '../../db/queries/identity-outage-toggles.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { addJobCounters, insertJobErrors, saveJobProgress } from '../../db/queries/jobs.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError, assertThat } from '../../errors.js';
import { isUniqueViolation } from '../../model/db-errors.js';
import type { Institution } from '../../model/institution.js';
import type { User } from '../../model/user.js';
import type { Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import { csvText } from '../csv.js';
import { defineJobKind, isFinished, type Job, type JobContext, type JobOutcome } from '../jobs/job.js';
import type { JobService } from '../jobs/job-service.js';
import { LeaseLostError } from '../jobs/worker.js';
import type { IdentityService } from './identity-service.js';
import { newSealingKeys, openerOf, seal, temporaryPassword, unseal } from './outage-seal.js';

export const OUTAGE_TOGGLE = 'account-type-toggle';
export const OUTAGE_REVERT = 'account-type-revert';
const PAGE = 200;

const Ref = Type.String({ minLength: 1, maxLength: 255 });
export const TogglePayloadSchema = Type.Object(
  {
    /** Primary ids or any identifiers ... */
    userIds: Type.Optional(Type.Array(Ref, { minItems: 1, maxItems: 5000 })),
    /** ... or a query over the institution's ACTIVE EXTERNAL users. */
    query: Type.Optional(
      Type.Object(
        { recordType: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })), userGroup: Type.Optional(Ref), role: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })) },
        { additionalProperties: false, minProperties: 1 },
      ),
    ),
    method: Type.Union([Type.Literal('link'), Type.Literal('temporary_password')]),
    /** temporary_password: the X25519 public key the passwords are sealed to (outage-seal.ts). */
    publicKey: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{59}$' })),
  },
  { additionalProperties: false },
);
export type TogglePayload = Static<typeof TogglePayloadSchema>;

const UUID = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const RevertPayloadSchema = Type.Object({ toggleJobId: Type.String({ pattern: UUID }) }, { additionalProperties: false });
export type RevertPayload = Static<typeof RevertPayloadSchema>;

export const TOGGLE_COUNTERS = ['done', 'toggled', 'skipped', 'failed'] as const;
export const REVERT_COUNTERS = ['done', 'reverted', 'left_alone', 'failed'] as const;

export interface OutageDeps {
  db: Db;
  clock: () => Date;
  jobs: JobService;
  identity: Pick<IdentityService, 'toggleInTx' | 'removePasswordInTx'>;
}

export interface ToggleRequest {
  userIds?: string[] | undefined;
  query?: TogglePayload['query'];
  method: TogglePayload['method'];
}

type Settled = { state: OutageRowState; counter: string; reason?: string; sealed?: Buffer; temporary?: boolean };

export function createOutage({ db, clock, jobs, identity }: OutageDeps) {
  const jobActor = (job: Job): Actor => ({ kind: 'system', label: `${job.kind} ${job.id} (started by ${job.createdBy ?? 'unknown'})` });

  /** One user's unit of work and its bookkeeping, in one transaction; a refusal is settled in a second one. */
  async function settle(ctx: JobContext<unknown>, row: OutageRow, rowsJobId: string, work: (tx: Queryable, user: User | undefined) => Promise<Settled>) {
    const { job } = ctx;
    const book = async (tx: Queryable, s: Settled, user: User | undefined) => {
      await settleOutageRow(tx, rowsJobId, row.n, { state: s.state, sealed: s.sealed ?? null, temporaryPassword: s.temporary, now: clock() });
      if (s.reason) await insertJobErrors(tx, job.id, [{ recordNumber: row.n, line: null, outcome: s.state === 'failed' ? 'failed' : 'skipped', identifier: user?.primaryId ?? null, reason: s.reason }]);
      if (!(await addJobCounters(tx, job.id, ctx.workerId, { done: 1, [s.counter]: 1 }, ctx.leaseSeconds))) throw new LeaseLostError(job.id);
    };
    let user: User | undefined;
    try {
      await db.transaction(async (tx) => {
        user = await findUserById(tx, row.userId, true);
        await book(tx, await work(tx, user), user);
      });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // Settled either way, so a resumed run does not count it twice; a failed revert is reported
      // for staff to finish by hand (the user is still INTERNAL, with what the toggle gave it).
      const state: OutageRowState = ctx.job.kind === OUTAGE_TOGGLE ? 'failed' : 'revert_failed';
      await db.transaction((tx) => book(tx, { state, counter: 'failed', reason: err.message }, user));
    }
  }

  async function runToggle(ctx: JobContext<TogglePayload>): Promise<JobOutcome> {
    const { job, payload: p } = ctx;
    const institution = await findInstitutionById(db, job.institutionId);
    if (!institution) return { status: 'failed', error: 'the institution was deleted' };
    if (p.method === 'temporary_password' && !p.publicKey) return { status: 'failed', error: 'no key to seal the temporary passwords to' };
    if (job.checkpoint.planned !== true) await plan(ctx, institution);
    const actor = jobActor(job);
    for (let after = 0; ; ) {
      const rows = await listOutageRows(db, job.id, 'pending', after, PAGE);
      for (const row of rows) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        after = row.n;
        await settle(ctx, row, job.id, (tx, user) => toggleOne(tx, actor, institution, job, p, user));
        if ((await ctx.report({})).cancelRequested) return { status: 'cancelled' };
      }
      if (rows.length < PAGE) break;
    }
    return { status: 'succeeded', result: { method: p.method, temporaryPasswords: p.method === 'temporary_password' } };
  }

  /** The users, once: refs resolved (the unknown reported), or the query's answer. */
  async function plan(ctx: JobContext<TogglePayload>, institution: Institution) {
    const { job, payload: p } = ctx;
    await db.transaction(async (tx) => {
      const users: { n: number; userId: string }[] = [];
      const errors = [];
      if (p.userIds) {
        const seen = new Set<string>();
        for (const [i, ref] of p.userIds.entries()) {
          const found = await findUserByIdentifier(tx, institution.id, ref);
          if (!found) errors.push({ recordNumber: i + 1, line: null, outcome: 'failed' as const, identifier: ref, reason: new AppError('USER_NOT_FOUND', { id: ref }).message });
          else if (!seen.has(found.id)) users.push({ n: i + 1, userId: found.id });
          seen.add(found?.id ?? '');
        }
      } else {
        for (const [i, id] of (await findOutageCandidates(tx, institution.id, p.query ?? {})).entries()) users.push({ n: i + 1, userId: id });
      }
      await insertOutageRows(tx, job.id, institution.id, users);
      await insertJobErrors(tx, job.id, errors);
      const counters = { done: errors.length, toggled: 0, skipped: 0, failed: errors.length };
      await saveJobProgress(tx, job.id, { counters, checkpoint: { planned: true }, total: users.length + errors.length, leaseSeconds: ctx.leaseSeconds });
    });
  }

  async function toggleOne(tx: Queryable, actor: Actor, institution: Institution, job: Job, p: TogglePayload, user: User | undefined): Promise<Settled> {
    if (!user) return { state: 'failed', counter: 'failed', reason: 'The user was deleted.' };
    if (user.accountType !== 'EXTERNAL') return { state: 'skipped', counter: 'skipped', reason: `Skipped: ${user.primaryId} is already INTERNAL.` };
    if (!user.externalId) return { state: 'skipped', counter: 'skipped', reason: `Skipped: ${user.primaryId} has no external id to restore at the revert.` };
    const context = { job: job.id };
    if (p.method === 'link') {
      await identity.toggleInTx(tx, actor, institution, user.primaryId, { accountType: 'INTERNAL', sendLink: true }, context);
      await setAccountToggleJob(tx, user.id, job.id);
      return { state: 'toggled', counter: 'toggled' };
    }
    const password = temporaryPassword();
    await identity.toggleInTx(tx, actor, institution, user.primaryId, { accountType: 'INTERNAL', password, forceChange: true }, context);
    await setAccountToggleJob(tx, user.id, job.id);
    return { state: 'toggled', counter: 'toggled', sealed: seal(p.publicKey!, password), temporary: true };
  }

  async function runRevert(ctx: JobContext<RevertPayload>): Promise<JobOutcome> {
    const { job, payload } = ctx;
    const institution = await findInstitutionById(db, job.institutionId);
    if (!institution) return { status: 'failed', error: 'the institution was deleted' };
    const toggleJobId = payload.toggleJobId;
    if (job.checkpoint.planned !== true) {
      const n = await db.one<{ n: number }>("SELECT count(*)::int AS n FROM identity.outage_toggle WHERE job_id = $1 AND state = 'toggled'", [toggleJobId]);
      await ctx.report({ checkpoint: { planned: true }, total: n.n });
    }
    const actor = jobActor(job);
    for (let after = 0; ; ) {
      const rows = await listOutageRows(db, toggleJobId, 'toggled', after, PAGE);
      for (const row of rows) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        after = row.n;
        await settle(ctx, row, toggleJobId, (tx, user) => revertOne(tx, actor, institution, job, toggleJobId, row, user));
        if ((await ctx.report({})).cancelRequested) return { status: 'cancelled' };
      }
      if (rows.length < PAGE) break;
    }
    return { status: 'succeeded', result: { toggleJobId } };
  }

  async function revertOne(tx: Queryable, actor: Actor, institution: Institution, job: Job, toggleJobId: string, row: OutageRow, user: User | undefined): Promise<Settled> {
    if (!user) return { state: 'left', counter: 'left_alone', reason: 'The user was deleted.' };
    const from = await findAccountToggleJob(tx, user.id);
    if (user.accountType !== 'INTERNAL' || from !== toggleJobId) {
      return { state: 'left', counter: 'left_alone', reason: `Left alone: ${user.primaryId} was toggled by hand since job ${toggleJobId}.` };
    }
    const { password } = await identity.toggleInTx(tx, actor, institution, user.primaryId, { accountType: 'EXTERNAL' }, { job: job.id, reverts: toggleJobId });
    // With the institution's password fallback the local password stays, but never a temporary
    // one its owner did not replace.
    if (password === 'kept' && row.temporaryPassword && (await findCredential(tx, user.id))?.mustChange) {
      await identity.removePasswordInTx(tx, (await findUserById(tx, user.id))!);
    }
    return { state: 'reverted', counter: 'reverted' };
  }

  async function toggleJobOf(actor: Actor, institutionId: string, id: string): Promise<Job> {
    const job = await jobs.get(actor, institutionId, id);
    if (job.kind !== OUTAGE_TOGGLE) throw new AppError('NOT_FOUND', { entity: 'Account-type toggle job', id: id.slice(0, 40) });
    return job;
  }

  return {
    jobKinds: [
      defineJobKind({ kind: OUTAGE_TOGGLE, payload: TogglePayloadSchema, permission: 'credentials:manage', counters: TOGGLE_COUNTERS, handler: runToggle }),
      defineJobKind({ kind: OUTAGE_REVERT, payload: RevertPayloadSchema, permission: 'credentials:manage', counters: REVERT_COUNTERS, handler: runRevert }),
    ],

    /**
     * Queues a toggle. With temporary passwords the answer carries the download token: shown once,
     * never stored, the only way to read the passwords (downloadPasswords).
     */
    async startToggle(actor: Actor, institutionId: string, req: ToggleRequest, claimedBy?: Parameters<JobService['enqueue']>[2]['claimedBy']) {
      assertThat(!!req.userIds !== !!req.query, 'INVALID_PARAMETER', { reason: 'name the users (user_ids) or a query, not both' });
      const keys = req.method === 'temporary_password' ? newSealingKeys() : undefined;
      const payload: TogglePayload = {
        ...(req.userIds ? { userIds: req.userIds } : {}),
        ...(req.query ? { query: req.query } : {}),
        method: req.method,
        ...(keys ? { publicKey: keys.publicKey } : {}),
      };
      const job = await jobs.enqueue(actor, institutionId, { kind: OUTAGE_TOGGLE, payload, claimedBy });
      return { job, downloadToken: keys?.downloadToken };
    },

    /** The one action that undoes a toggle job; refused while it runs, and while another revert of it lives. */
    async revert(actor: Actor, institutionId: string, toggleJobId: string, claimedBy?: Parameters<JobService['enqueue']>[2]['claimedBy']): Promise<Job> {
      const toggle = await toggleJobOf(actor, institutionId, toggleJobId);
      if (!isFinished(toggle.status)) throw new AppError('CONFLICT', { reason: `Job ${toggle.id} is still ${toggle.status}; cancel it or let it finish first.` });
      try {
        return await jobs.enqueue(actor, institutionId, { kind: OUTAGE_REVERT, payload: { toggleJobId: toggle.id }, claimedBy });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        throw new AppError('CONFLICT', { reason: `Job ${toggle.id} is already reverted, or being reverted.` });
      }
    },

    /** The temporary passwords as CSV, once: a wrong token changes nothing; a right one clears them. */
    async downloadPasswords(actor: Actor, institutionId: string, toggleJobId: string, downloadToken: string): Promise<string> {
      const job = await toggleJobOf(actor, institutionId, toggleJobId);
      if (!isFinished(job.status)) throw new AppError('CONFLICT', { reason: `Job ${job.id} is still ${job.status}; the passwords come when it has finished.` });
      const key = openerOf(downloadToken);
      if (!key) throw new AppError('OUTAGE_DOWNLOAD_TOKEN_INVALID', { id: job.id });
      return db.transaction(async (tx) => {
        const rows = await lockSealedPasswords(tx, job.id);
        if (!rows.length) throw new AppError('OUTAGE_PASSWORDS_GONE', { id: job.id });
        const lines: string[][] = [];
        for (const r of rows) {
          const password = unseal(key, r.sealed);
          if (password === undefined) throw new AppError('OUTAGE_DOWNLOAD_TOKEN_INVALID', { id: job.id });
          lines.push([r.primaryId, password]);
        }
        await clearSealedPasswords(tx, job.id);
        await insertAuditEvent(tx, {
          institutionId,
          ...auditActor(actor),
          action: 'outage.passwords_downloaded',
          entityType: 'job',
          entityId: job.id,
          entityLabel: OUTAGE_TOGGLE,
          changes: {},
          context: { count: lines.length },
        });
        return csvText([['primary_id', 'temporary_password'], ...lines]);
      });
    },
  };
}

export type Outage = ReturnType<typeof createOutage>;
