// The one way a user row, with its identifiers and roles, is inserted, updated or deleted. The API
// writes a batch of one, an SIS load a batch of hundreds; both get the same rules here, decided
// once: where values must be unique (institution or network), which value clashes and how the
// refusal reads (401851), the version bump (and refusal of a stale one), and the audit event.
// The SQL is set-based (db/queries/user-batches.ts): a fixed number of statements per batch.
import type { Queryable } from '../../db/database.js';
import { insertAuditEvents, type AuditEventInput } from '../../db/queries/audit-events.js';
import { findNetworkById, listInstitutionIdsOfNetwork } from '../../db/queries/institutions.js';
import { deleteUsers, insertUsers, updateUsers } from '../../db/queries/user-batches.js';
import { findUsersByIds, findValueHolders, lockIdentifierValues } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Actor } from '../access/actor.js';
import { userAuditEvent } from '../audit/audit.js';
import type { Institution } from '../../model/institution.js';
import type { ManualEditOrigin, User, UserRecordFields } from '../../model/user.js';
import { sameValue } from './same-value.js';

/** Where primary ids and identifiers must be unique: the institution, or its whole network. */
export interface Uniqueness {
  scope: string;
  institutionIds: string[];
}

export async function uniquenessOf(q: Queryable, institution: Institution): Promise<Uniqueness> {
  if (institution.networkId) {
    const network = await findNetworkById(q, institution.networkId);
    if (network?.settings.uniqueIdsAcrossNetwork) {
      return { scope: network.id, institutionIds: await listInstitutionIdsOfNetwork(q, network.id) };
    }
  }
  return { scope: institution.id, institutionIds: [institution.id] };
}

export interface UserWrite {
  /** The stored user this write replaces, read FOR UPDATE in this transaction; none for a new user. */
  existing?: User | undefined;
  record: UserRecordFields;
  manualEdits: string[];
  /** Who made each of manualEdits; absent: the existing user's (a write that marks nothing new). */
  manualEditOrigins?: Record<string, ManualEditOrigin>;
  /** An SIS load's record hash (lets the next load find the user unchanged fast); null otherwise. */
  sisHash?: string | null;
  /** What the audit event notes beside the change (SIS: job, profile, record number). */
  context?: Record<string, unknown>;
}

/**
 * The named-user licence (domain/institutions/named-user-licence.ts): which writes of a batch may
 * go in. Every caller of writeUsers passes it, so no writer can forget the licence.
 */
export interface NamedUserGate {
  admit<W extends UserWrite>(tx: Queryable, actor: Actor, institutionId: string, writes: W[]): Promise<{ ok: W[]; refused: { write: W; error: AppError }[] }>;
}

const valuesOf = (r: UserRecordFields) => [{ idType: 'primary_id', value: r.primaryId }, ...r.identifiers];

/**
 * Every primary id and identifier a write brings must be free in the scope: not another user's,
 * and not claimed by an earlier write of the batch. Values the user already holds need no check.
 * Returns the writes that may go ahead and the refused ones with their error (401851, naming the
 * first clashing value and its type).
 */
export async function checkIdentifiers<W extends UserWrite>(
  tx: Queryable,
  uniqueness: Uniqueness,
  writes: W[],
  opts: { dryRun?: boolean } = {},
): Promise<{ ok: W[]; refused: { write: W; error: AppError }[] }> {
  const refused: { write: W; error: AppError }[] = [];
  const taken = (write: W, i: { idType: string; value: string }) =>
    refused.push({ write, error: new AppError('IDENTIFIER_TAKEN', { type: i.idType, value: i.value }) });
  const claimed = new Set<string>();
  const fresh: string[] = [];
  const ok: W[] = [];
  for (const w of writes) {
    const own = new Set(w.existing ? valuesOf(w.existing).map((i) => i.value.toLowerCase()) : []);
    const mine = valuesOf(w.record);
    const conflict = mine.find((i) => claimed.has(i.value.toLowerCase()));
    if (conflict) {
      taken(w, conflict);
      continue;
    }
    for (const i of mine) {
      const v = i.value.toLowerCase();
      claimed.add(v);
      if (!own.has(v)) fresh.push(v);
    }
    ok.push(w);
  }
  if (!fresh.length) return { ok, refused };
  // Across a network no index spans the institutions, so only this check keeps values unique: it
  // runs under advisory locks on the values, which every writer of the scope takes. Within one
  // institution the unique indexes have the last word (a batch they refuse is redone record by
  // record); a single write still takes the locks, so two writers racing for one value get a
  // refusal that names it rather than the index's anonymous one.
  if (!opts.dryRun && (uniqueness.institutionIds.length > 1 || writes.length === 1)) {
    await lockIdentifierValues(tx, uniqueness.scope, fresh);
  }
  const holder = new Map((await findValueHolders(tx, uniqueness.institutionIds, fresh)).map((c) => [c.value, c.userId]));
  const free = ok.filter((w) => {
    const clash = valuesOf(w.record).find((i) => {
      const other = holder.get(i.value.toLowerCase());
      return other !== undefined && other !== w.existing?.id;
    });
    if (clash) taken(w, clash);
    return !clash;
  });
  return { ok: free, refused };
}

/**
 * Inserts the new users and updates the existing ones (a version each, refused when the stored
 * version moved), with one audit event per user. Callers checked the identifiers first
 * (checkIdentifiers). The named-user licence decides first, once for the batch: writes that would
 * make a new named user past a refusing network's licence are not written but returned in
 * `refused` (the API throws the error, an SIS load reports the record). With readBack the stored
 * users come back, and the audit events diff against them; without it (bulk loads) against the
 * records written. `ids` and `users` follow `written`.
 */
export async function writeUsers<W extends UserWrite>(
  tx: Queryable,
  actor: Actor,
  institutionId: string,
  batch: W[],
  opts: { readBack?: boolean; licence: NamedUserGate },
): Promise<{ ids: string[]; users: User[]; written: W[]; refused: { write: W; error: AppError }[] }> {
  if (!batch.length) return { ids: [], users: [], written: [], refused: [] };
  const { ok: writes, refused } = await opts.licence.admit(tx, actor, institutionId, batch);
  if (!writes.length) return { ids: [], users: [], written: [], refused };
  const creates = writes.filter((w) => !w.existing);
  const updates = writes.filter((w) => w.existing);
  const created = await insertUsers(tx, institutionId, creates.map((w) => ({
    ...w.record, manualEdits: w.manualEdits, manualEditOrigins: w.manualEditOrigins, sisHash: w.sisHash ?? null,
  })));
  const updated = await updateUsers(tx, institutionId, updates.map((w) => ({
    id: w.existing!.id,
    version: w.existing!.version,
    record: {
      ...w.record,
      manualEdits: w.manualEdits,
      manualEditOrigins: w.manualEditOrigins ?? w.existing!.manualEditOrigins,
      sisHash: w.sisHash ?? null,
    },
    identifiersChanged: !sameValue(w.existing!.identifiers, w.record.identifiers),
    rolesChanged: !sameValue(w.existing!.roles, w.record.roles),
  })));
  // Callers read the users FOR UPDATE, so only a bug could get here; refuse rather than overwrite.
  const stale = updates.find((w) => !updated.has(w.existing!.id));
  if (stale) throw new AppError('VERSION_MISMATCH', { given: stale.existing!.version, current: 'newer' });

  const ids = writes.map((w) => w.existing?.id ?? created.get(w.record.primaryId.toLowerCase())!);
  const users = opts.readBack ? await findUsersByIds(tx, ids) : [];
  const events: AuditEventInput[] = writes.map((w, k) => {
    const after = opts.readBack ? users[k]! : w.record;
    const subject = { id: ids[k]!, institutionId, primaryId: w.record.primaryId };
    return userAuditEvent(actor, w.existing ? 'user.update' : 'user.create', subject, w.existing, after, w.context ?? {});
  });
  await insertAuditEvents(tx, events);
  return { ids, users, written: writes, refused };
}

/** Deletes these users (their identifiers and roles go with them), one audit event each. */
export async function deleteUsersAudited(tx: Queryable, actor: Actor, users: User[]): Promise<void> {
  if (!users.length) return;
  await deleteUsers(tx, users.map((u) => u.id));
  await insertAuditEvents(tx, users.map((u) => userAuditEvent(actor, 'user.delete', u, u, undefined, {})));
}
