// The named-user licence, enforced on the one write path (users/write-users.ts: writeUsers calls
// admit for every batch, so the API, SIS loads and just-in-time sign-in all obey it).
//
// A named user is an ACTIVE, unexpired user holding at least one ACTIVE, unexpired role whose
// type is a named-user one (role_type.named_user, Alma's rule). A write "makes a new named user"
// when the user was not one before it and is one after: a create with a named role, a named role
// added, a user or a role reactivated or its expiry moved ahead. Only such a batch (or one that
// frees named users) costs anything here; every other write is decided without a query beyond
// the named role codes.
//
// Per batch, once: the network's count before (one statement), plus the batch's new named users,
// minus those it frees. At the licence the network chooses:
//  - 'warn': everything goes in; a warning line is logged and the batch audited
//    (named_user.licence_exceeded).
//  - 'refuse': new named users past the licence are refused (NAMED_USER_LIMIT); the rest of the
//    batch goes in, and existing named users keep working. Two writers could each count N and
//    each add the last free place, so in refuse mode a batch that adds named users first takes an
//    advisory lock on the network (held to commit): the next such writer waits, and its count,
//    a new statement under READ COMMITTED, sees what the first committed. Batches that add no
//    named user never take it; in 'warn' mode nothing is refused, so no lock is needed.
//
// The network's level (ok, warning, limit) is remembered (named_user_licence_state): a move up
// mails the namedUserNotify addresses once, in the write's transaction, and a move down re-arms
// the next crossing. The level moves by compare-and-set, so of two writers crossing together
// only one mails. Deletions and expiry lower the count without a write here: the daily snapshot
// (named-users.ts) sets the level from the real count.
import type { Queryable } from '../../db/database.js';
import { insertAuditEvents } from '../../db/queries/audit-events.js';
import { findInstitutionById, findNetworkById, listInstitutionIdsOfNetwork } from '../../db/queries/institutions.js';
import {
  countNamedUsers,
  findLicenceLevel,
  findNetworkZoneId,
  lockNamedUserLicence,
  moveLicenceLevel,
  namedRoleTypes,
  type LicenceLevel,
} from '../../db/queries/named-users.js';
import { AppError } from '../../errors.js';
import type { Network, NetworkSettings } from '../../model/institution.js';
import type { UserRecordFields } from '../../model/user.js';
import type { Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import type { MailService } from '../mail/outbox.js';
import { namedUserLicenceMail } from '../mail/templates.js';
import type { NamedUserGate, UserWrite } from '../users/write-users.js';

export type LicenceLog = (level: 'info' | 'warn', msg: string, detail: Record<string, unknown>) => void;

export type LicenceState = 'ok' | 'warning' | 'at_limit' | 'over';

/** The date (UTC) a clock reading falls on; role and user expiry dates are compared with it. */
export const dayOf = (d: Date) => d.toISOString().slice(0, 10);

const activeOn = (status: string, expiry: string | null, today: string) => status === 'ACTIVE' && (!expiry || expiry.slice(0, 10) >= today);

/** Whether a user (as stored, or as a write would leave it) counts against the licence today. */
export function isNamedUser(u: Pick<UserRecordFields, 'status' | 'expiryDate' | 'roles'>, named: ReadonlySet<string>, today: string): boolean {
  return activeOn(u.status, u.expiryDate, today) && u.roles.some((r) => named.has(r.roleType) && activeOn(r.status, r.expiryDate, today));
}

/** The count from which the network warns: warn percent of the licence, rounded up. */
export const warnLineOf = (s: Pick<NetworkSettings, 'namedUserLicense' | 'namedUserWarnPercent'>): number | null =>
  s.namedUserLicense === null ? null : Math.ceil((s.namedUserLicense * s.namedUserWarnPercent) / 100);

/** The report's state: under the warning line, from it, exactly at the licence, past it. Untracked: ok. */
export function licenceState(count: number, s: NetworkSettings): LicenceState {
  const licence = s.namedUserLicense;
  if (licence === null) return 'ok';
  if (count > licence) return 'over';
  if (count === licence) return 'at_limit';
  return count >= warnLineOf(s)! ? 'warning' : 'ok';
}

/** What is remembered and mailed: at_limit and over are one level (the licence is reached). */
const levelOf = (count: number, s: NetworkSettings): LicenceLevel =>
  ({ ok: 'ok', warning: 'warning', at_limit: 'limit', over: 'limit' } as const)[licenceState(count, s)];
const RANK: Record<LicenceLevel, number> = { ok: 0, warning: 1, limit: 2 };

export interface LicenceDeps {
  mail: Pick<MailService, 'enqueue'>;
  clock: () => Date;
  log: LicenceLog;
}

export function createNamedUserLicence({ mail, clock, log }: LicenceDeps) {
  /** The network whose licence an institution's users count against, if it tracks one. */
  async function licenceOf(tx: Queryable, institutionId: string): Promise<{ network: Network; institutionIds: string[] } | undefined> {
    const institution = await findInstitutionById(tx, institutionId);
    if (!institution?.networkId) return undefined;
    const network = await findNetworkById(tx, institution.networkId);
    if (!network || network.settings.namedUserLicense === null) return undefined;
    return { network, institutionIds: await listInstitutionIdsOfNetwork(tx, network.id) };
  }

  /**
   * Remembers the network's level for this count; a move up mails the namedUserNotify addresses
   * (in tx: a rolled-back write sends nothing) and is audited. Returns the mails queued.
   */
  async function noteCount(tx: Queryable, actor: Actor, network: Network, count: number): Promise<number> {
    const s = network.settings;
    const to = levelOf(count, s);
    const from = await findLicenceLevel(tx, network.id);
    if (to === from || !(await moveLicenceLevel(tx, network.id, from, to, count, clock()))) return 0;
    const zoneId = await findNetworkZoneId(tx, network.id);
    const up = RANK[to] > RANK[from];
    const recipients = up && to !== 'ok' ? [...new Set(s.namedUserNotify)] : [];
    await insertAuditEvents(tx, [{
      institutionId: zoneId,
      ...auditActor(actor),
      action: 'named_user.licence_level',
      entityType: 'network',
      entityId: network.id,
      entityLabel: network.code,
      changes: { level: { before: from, after: to } },
      context: { count, licence: s.namedUserLicense, warnLine: warnLineOf(s), notified: recipients.length },
    }]);
    if (!recipients.length) return 0;
    const content = namedUserLicenceMail({
      level: to as 'warning' | 'limit',
      networkName: network.name,
      networkCode: network.code,
      count,
      licence: s.namedUserLicense!,
      warnLine: warnLineOf(s)!,
      atLimit: s.namedUserAtLimit,
    });
    for (const to of recipients) await mail.enqueue(tx, zoneId, { to, subject: content.subject, text: content.text, html: content.html });
    log('info', 'named-user licence: level changed; notified', { network: network.code, from, to, count, licence: s.namedUserLicense, notified: recipients.length });
    return recipients.length;
  }

  const gate: NamedUserGate = {
    async admit<W extends UserWrite>(tx: Queryable, actor: Actor, institutionId: string, writes: W[]) {
      const everything = { ok: writes, refused: [] as { write: W; error: AppError }[] };
      // A batch where nobody holds or is given a role (most SIS loads of patrons) is decided at once.
      if (!writes.some((w) => w.record.roles.length || w.existing?.roles.length)) return everything;
      const today = dayOf(clock());
      const namedCodes = await namedRoleTypes(tx);
      const named = new Set(namedCodes);
      const gains: W[] = [];
      let losses = 0;
      for (const w of writes) {
        const was = w.existing !== undefined && isNamedUser(w.existing, named, today);
        const will = isNamedUser(w.record, named, today);
        if (!was && will) gains.push(w);
        else if (was && !will) losses++;
      }
      if (!gains.length && !losses) return everything;
      const licence = await licenceOf(tx, institutionId);
      if (!licence) return everything;
      const { network } = licence;
      const s = network.settings;
      const max = s.namedUserLicense!;
      const refuse = s.namedUserAtLimit === 'refuse';
      if (refuse && gains.length) await lockNamedUserLicence(tx, network.id);
      const before = [...(await countNamedUsers(tx, licence.institutionIds, today, namedCodes)).values()].reduce((a, b) => a + b, 0);
      // The batch frees `losses` places as it goes in, so they count as room.
      const room = refuse ? Math.max(0, max - before + losses) : gains.length;
      const turnedAway = new Set(gains.slice(room));
      const admitted = gains.length - turnedAway.size;
      const after = before - losses + admitted;
      const detail = { network: network.code, institutionId, count: after, licence: max, mode: s.namedUserAtLimit };
      if (turnedAway.size) {
        log('warn', 'named-user licence reached: new named users refused', { ...detail, refused: [...turnedAway].map((w) => w.record.primaryId).slice(0, 20) });
      } else if (admitted && after > max) {
        log('warn', 'named-user licence exceeded: new named users allowed (the network only warns)', { ...detail, added: admitted });
      }
      if (turnedAway.size || (admitted && after > max)) {
        await insertAuditEvents(tx, [{
          institutionId,
          ...auditActor(actor),
          action: turnedAway.size ? 'named_user.licence_refused' : 'named_user.licence_exceeded',
          entityType: 'network',
          entityId: network.id,
          entityLabel: network.code,
          changes: {},
          context: {
            count: after,
            licence: max,
            mode: s.namedUserAtLimit,
            users: gains.filter((w) => (turnedAway.size ? turnedAway.has(w) : true)).map((w) => w.record.primaryId).slice(0, 50),
          },
        }]);
      }
      await noteCount(tx, actor, network, after);
      if (!turnedAway.size) return everything;
      return {
        ok: writes.filter((w) => !turnedAway.has(w)),
        refused: [...turnedAway].map((write) => ({ write, error: new AppError('NAMED_USER_LIMIT', { count: after, licence: max, user: write.record.primaryId }) })),
      };
    },
  };

  return { gate, noteCount };
}

export type NamedUserLicence = ReturnType<typeof createNamedUserLicence>;
