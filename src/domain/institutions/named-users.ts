// Named users (Alma's licence unit) as the consortium office sees them: the live count per
// institution and per network against the licence, the daily history, the named users themselves
// with their last sign-in (also as CSV), and the daily snapshot the job worker's idle hook takes.
// The licence itself is enforced on the write path (named-user-licence.ts).
//
// Who sees what: permission 'named-users:report' (access/actor.ts: General System Administrator,
// User Administrator, User Manager and read-write API keys; not desk staff, not read-only keys).
// Every caller sees its own institution's count and its network's total, licence and state
// (members share the licence and may be refused by it); only the network zone (the consortium
// office) sees every member's count. The list of named users is always the caller's own
// institution's: it names people.
import type { Db } from '../../db/database.js';
import { findInstitutionById, findNetworkById, listInstitutions } from '../../db/queries/institutions.js';
import {
  countNamedUsers,
  countNamedUsersByRole,
  hasNamedUserCounts,
  listNamedUsers,
  namedRoleTypes,
  namedUserHistory,
  upsertNamedUserCounts,
  type HistoryRow,
  type NamedUserRow,
} from '../../db/queries/named-users.js';
import { AppError } from '../../errors.js';
import type { Institution, Network, NetworkSettings } from '../../model/institution.js';
import { authorize, type Actor } from '../access/actor.js';
import { csvText } from '../csv.js';
import { createNamedUserLicence, dayOf, licenceState, warnLineOf, type LicenceDeps, type LicenceState } from './named-user-licence.js';

export interface NetworkCount {
  code: string;
  name: string;
  count: number;
  licence: number | null;
  warnLine: number | null;
  atLimit: NetworkSettings['namedUserAtLimit'];
  state: LicenceState;
}

export interface NamedUserReport {
  institution: { code: string; name: string; count: number };
  /** Null for an institution outside a network (no licence applies). */
  network: NetworkCount | null;
  /** The institutions the caller may see the count of: its own, or every member for the network zone. */
  institutions: { code: string; name: string; count: number }[];
  /** The caller's institution's named users per named role type, most held first. */
  roles: { roleType: string; count: number }[];
}

const MAX_HISTORY_DAYS = 3660;
const CSV_PAGE = 1000;
/** How often the idle hook looks whether today's snapshot is due. */
const SNAPSHOT_CHECK_MS = 60_000;

export function createNamedUsers({ db, ...deps }: LicenceDeps & { db: Db }) {
  const licence = createNamedUserLicence(deps);
  const today = () => dayOf(deps.clock());
  /** Named users per institution today (the role codes read each time: the catalogue may change). */
  const countToday = async (ids: string[], day = today()) => countNamedUsers(db, ids, day, await namedRoleTypes(db));

  async function institutionOf(actor: Actor, institutionId: string): Promise<Institution> {
    authorize(actor, 'named-users:report', institutionId);
    const institution = await findInstitutionById(db, institutionId);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
    return institution;
  }

  function networkCount(network: Network, counts: Map<string, number>): NetworkCount {
    const count = [...counts.values()].reduce((a, b) => a + b, 0);
    const s = network.settings;
    return { code: network.code, name: network.name, count, licence: s.namedUserLicense, warnLine: warnLineOf(s), atLimit: s.namedUserAtLimit, state: licenceState(count, s) };
  }

  /** Today's counts of every institution into the history (idempotent per day), then each network's level. */
  async function snapshot(actor: Actor): Promise<{ day: string; institutions: number }> {
    const day = today();
    return db.transaction(async (tx) => {
      const rows = await upsertNamedUserCounts(tx, day, await namedRoleTypes(tx), deps.clock());
      const perNetwork = new Map<string, number>();
      for (const r of rows) if (r.networkId) perNetwork.set(r.networkId, (perNetwork.get(r.networkId) ?? 0) + r.count);
      // The real count, whatever lowered it meanwhile (deletions, expiry): re-arms or mails a crossing.
      for (const [networkId, count] of perNetwork) {
        const network = await findNetworkById(tx, networkId);
        if (network && network.settings.namedUserLicense !== null) await licence.noteCount(tx, actor, network, count);
      }
      return { day, institutions: rows.length };
    });
  }

  let lastCheck = 0;
  let lastDay = '';

  return {
    /** For the write path (users/write-users.ts): every batch asks it. */
    gate: licence.gate,

    async report(actor: Actor, institutionId: string): Promise<NamedUserReport> {
      const institution = await institutionOf(actor, institutionId);
      const network = institution.networkId ? await findNetworkById(db, institution.networkId) : undefined;
      const members = network ? (await listInstitutions(db)).filter((i) => i.networkId === network.id) : [institution];
      const counts = await countToday(members.map((i) => i.id));
      const roles = await countNamedUsersByRole(db, institution.id, today(), await namedRoleTypes(db));
      const row = (i: Institution) => ({ code: i.code, name: i.name, count: counts.get(i.id) ?? 0 });
      return {
        institution: row(institution),
        network: network ? networkCount(network, counts) : null,
        institutions: institution.isNetworkZone ? members.map(row) : [row(institution)],
        roles,
      };
    },

    async history(actor: Actor, institutionId: string, days: number): Promise<HistoryRow[]> {
      const institution = await institutionOf(actor, institutionId);
      if (!Number.isInteger(days) || days < 1 || days > MAX_HISTORY_DAYS) {
        throw new AppError('INVALID_PARAMETER', { reason: `days must be a whole number from 1 to ${MAX_HISTORY_DAYS}` });
      }
      const since = dayOf(new Date(deps.clock().getTime() - (days - 1) * 86_400_000));
      return namedUserHistory(db, institution.id, institution.networkId, since);
    },

    async users(actor: Actor, institutionId: string, opts: { role?: string | undefined; limit: number; offset: number }): Promise<{ total: number; rows: NamedUserRow[] }> {
      const institution = await institutionOf(actor, institutionId);
      return listNamedUsers(db, institution.id, today(), await namedRoleTypes(db), opts);
    },

    /** The users report as CSV (every named user, by name), cells neutralised (domain/csv.ts). */
    async usersCsv(actor: Actor, institutionId: string, opts: { role?: string | undefined }): Promise<string> {
      const institution = await institutionOf(actor, institutionId);
      const named = await namedRoleTypes(db);
      const lines = [csvText([['primary_id', 'first_name', 'last_name', 'record_type', 'named_roles', 'last_sign_in']])];
      for (let offset = 0; ; offset += CSV_PAGE) {
        const { rows } = await listNamedUsers(db, institution.id, today(), named, { role: opts.role, limit: CSV_PAGE, offset });
        if (rows.length) {
          lines.push(csvText(rows.map((r) => [r.primaryId, r.firstName, r.lastName, r.recordType, r.roles.join(' '), r.lastSignIn?.toISOString() ?? ''])));
        }
        if (rows.length < CSV_PAGE) return lines.join('');
      }
    },

    /** On demand (the API, the CLI): today's snapshot now, whoever took one earlier today. */
    async takeSnapshot(actor: Actor, institutionId: string): Promise<{ day: string; count: number }> {
      const institution = await institutionOf(actor, institutionId);
      const { day } = await snapshot(actor);
      return { day, count: (await countToday([institution.id], day)).get(institution.id) ?? 0 };
    },

    snapshot,

    /**
     * The worker's idle hook: once a day (the first idle moment of a day with no snapshot yet, by
     * any worker), at most one look a minute.
     */
    async snapshotDue(): Promise<boolean> {
      const now = deps.clock().getTime();
      const day = today();
      if (day === lastDay || now - lastCheck < SNAPSHOT_CHECK_MS) return false;
      lastCheck = now;
      const done = await hasNamedUserCounts(db, day);
      if (!done) await snapshot({ kind: 'system', label: 'named-users:daily' });
      lastDay = day;
      return !done;
    },

    /** The command line's view (a system actor): every institution, or one, with its network. */
    async overview(actor: Actor, institutionCode?: string): Promise<{ networks: (NetworkCount & { institutions: NamedUserReport['institutions'] })[]; standalone: NamedUserReport['institutions'] }> {
      if (actor.kind !== 'system') throw new AppError('UNAUTHORIZED');
      let all = await listInstitutions(db);
      if (institutionCode) {
        const one = all.find((i) => i.code.toLowerCase() === institutionCode.toLowerCase());
        if (!one) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionCode });
        all = one.networkId ? all.filter((i) => i.networkId === one.networkId) : [one];
      }
      const counts = await countToday(all.map((i) => i.id));
      const row = (i: Institution) => ({ code: i.code, name: i.name, count: counts.get(i.id) ?? 0 });
      const networks = [];
      for (const networkId of new Set(all.map((i) => i.networkId).filter((id): id is string => id !== null))) {
        const network = (await findNetworkById(db, networkId))!;
        const members = all.filter((i) => i.networkId === networkId);
        networks.push({ ...networkCount(network, new Map(members.map((i) => [i.id, counts.get(i.id) ?? 0]))), institutions: members.map(row) });
      }
      return { networks, standalone: all.filter((i) => !i.networkId).map(row) };
    },
  };
}

export type NamedUsers = ReturnType<typeof createNamedUsers>;
