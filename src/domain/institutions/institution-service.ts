// Networks and institutions: creating a network zone or a member, settings, code tables.
// Settings are changed by config:manage (General System Administrator, a read-write key) of the
// institution; a network's by config:manage of its network zone, since they bind every member.
// Each change is checked whole (settings-rules.ts) and audited with its values before and after.
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { insertCodeValues } from '../../db/queries/code-tables.js';
import {
  findInstitutionByCode,
  findInstitutionById,
  findNetworkByCode,
  findNetworkById,
  findNetworkZone,
  insertInstitution,
  insertNetwork,
  listInstitutions,
  updateInstitutionSettings,
  updateNetworkSettings,
} from '../../db/queries/institutions.js';
import { AppError, assertThat } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import type { CodeTableCache } from './code-tables.js';
import { DEFAULT_CODE_TABLES } from './default-code-tables.js';
import { ttlCache } from '../ttl-cache.js';
import { applyInstitutionPatch, applyNetworkPatch, settingsChanges, type FieldName } from './settings-rules.js';
import { INSTITUTION_CODE, type Institution, type Network, type NetworkSettings } from '../../model/institution.js';

/** `carrel institution settings` (the CLI acts as Carrel itself). */
const CLI_ACTOR: Actor = { kind: 'system', label: 'cli institution settings' };

/** A change of settings: the fields to change (camelCase, as in src/model/institution.ts). */
export type SettingsPatch = Record<string, unknown>;

async function auditSettings(tx: Queryable, actor: Actor, e: { institutionId: string | null; action: string; entityType: string; entityId: string; entityLabel: string; changes: ReturnType<typeof settingsChanges> }) {
  await insertAuditEvent(tx, { ...auditActor(actor), ...e });
}

export interface CreateInstitutionInput {
  code: string;
  name: string;
  /** Creates a network with this institution as its network zone. */
  networkZone?: boolean;
  /** Joins the network whose code (or whose zone's code) this is. */
  network?: string | undefined;
}

/**
 * How long a sign-in page may show an institution as it was: every login page and form post
 * reads it, and settings changed through another process show within this.
 */
const PAGE_TTL_MS = 5_000;

export function createInstitutionService(db: Db, codeTables: CodeTableCache) {
  async function byCode(code: string): Promise<Institution> {
    const institution = await findInstitutionByCode(db, code);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: code });
    return institution;
  }
  const forPages = ttlCache(PAGE_TTL_MS, byCode);

  // Named, so its methods may call one another whoever holds them (no `this`).
  const service = {
    byCode,
    /** The institution a sign-in page names (login, the methods' pages): byCode, kept PAGE_TTL_MS. */
    forPages: (code: string) => forPages.get(code.toLowerCase()),
    async byId(id: string): Promise<Institution> {
      const institution = await findInstitutionById(db, id);
      if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id });
      return institution;
    },
    list: () => listInstitutions(db),

    async create(input: CreateInstitutionInput): Promise<Institution> {
      assertThat(INSTITUTION_CODE.test(input.code), 'INVALID_VALUE', {
        field: 'code',
        value: input.code.slice(0, 64),
        reason: 'use 2 to 64 letters, digits or underscores',
      });
      assertThat(input.name.trim().length > 0, 'MANDATORY_FIELD', { field: 'name' });
      assertThat(!(input.networkZone && input.network), 'INVALID_VALUE', {
        field: 'network',
        value: input.network ?? '',
        reason: 'a network zone creates its own network',
      });
      return db.transaction(async (tx) => {
        if (await findInstitutionByCode(tx, input.code)) {
          throw new AppError('CONFLICT', { reason: `Institution ${input.code} already exists.` });
        }
        let networkId: string | null = null;
        if (input.networkZone) {
          networkId = (await insertNetwork(tx, input.code, input.name.trim())).id;
        } else if (input.network) {
          const network = await findNetworkByCode(tx, input.network);
          if (!network) throw new AppError('NOT_FOUND', { entity: 'Network', id: input.network });
          networkId = network.id;
        }
        const institution = await insertInstitution(tx, {
          code: input.code,
          name: input.name.trim(),
          networkId,
          isNetworkZone: input.networkZone === true,
        });
        await insertCodeValues(tx, institution.id, DEFAULT_CODE_TABLES);
        return institution;
      });
    },

    /** The institution with its settings, for one who may change them. */
    async settingsOf(actor: Actor, institutionId: string): Promise<Institution> {
      authorize(actor, 'config:manage', institutionId);
      const institution = await findInstitutionById(db, institutionId);
      if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
      return institution;
    },

    /** Checks the whole patch, then stores it and audits what changed; a refusal stores nothing. */
    async changeSettings(actor: Actor, institutionId: string, patch: SettingsPatch, name?: FieldName): Promise<Institution> {
      authorize(actor, 'config:manage', institutionId);
      const tables = await codeTables.forInstitution(institutionId);
      const updated = await db.transaction(async (tx) => {
        const institution = await findInstitutionById(tx, institutionId, true);
        if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
        const settings = applyInstitutionPatch(institution.settings, patch, tables, name);
        const changes = settingsChanges(institution.settings, settings);
        if (Object.keys(changes).length) {
          await updateInstitutionSettings(tx, institution.id, settings);
          await auditSettings(tx, actor, {
            institutionId, action: 'institution.settings', entityType: 'institution', entityId: institution.id, entityLabel: institution.code, changes,
          });
        }
        return { ...institution, settings };
      });
      // As before this API: the cached code tables of this institution are dropped with a change of its rules.
      codeTables.invalidate(institutionId);
      forPages.forget();
      return updated;
    },

    /** The network of the actor's institution, and its zone (whose config:manage changes it). */
    async networkOf(actor: Actor, institutionId: string): Promise<{ network: Network; zone: Institution | undefined }> {
      authorize(actor, 'config:manage', institutionId);
      const institution = await findInstitutionById(db, institutionId);
      // Not in a network: there is nothing to show (404, as for any other absent resource).
      if (!institution?.networkId) throw new AppError('NOT_FOUND', { entity: 'Network of institution', id: institution?.code ?? institutionId });
      const network = (await findNetworkById(db, institution.networkId))!;
      return { network, zone: await findNetworkZone(db, network.id) };
    },

    async changeNetworkSettings(actor: Actor, institutionId: string, patch: SettingsPatch, name?: FieldName): Promise<{ network: Network; zone: Institution | undefined }> {
      const { network, zone } = await service.networkOf(actor, institutionId);
      // A member's administrator reads the network's settings; only the zone's changes them.
      authorize(actor, 'config:manage', zone?.id ?? '');
      return db.transaction(async (tx) => {
        const locked = (await findNetworkById(tx, network.id, true))!;
        const settings = applyNetworkPatch(locked.settings, patch, name);
        const changes = settingsChanges(locked.settings, settings);
        if (Object.keys(changes).length) {
          await updateNetworkSettings(tx, network.id, settings);
          await auditSettings(tx, actor, {
            institutionId: zone?.id ?? null, action: 'network.settings', entityType: 'network', entityId: network.id, entityLabel: network.code, changes,
          });
        }
        return { network: { ...locked, settings }, zone };
      });
    },

    /** The CLI's change, by institution code: the same checks and audit as the API. */
    async updateSettings(code: string, patch: SettingsPatch, actor: Actor = CLI_ACTOR): Promise<Institution> {
      return service.changeSettings(actor, (await byCode(code)).id, patch);
    },

    async updateNetworkSettings(institutionCode: string, patch: SettingsPatch, actor: Actor = CLI_ACTOR): Promise<NetworkSettings> {
      const institution = await byCode(institutionCode);
      assertThat(institution.networkId, 'INVALID_VALUE', { field: 'network', value: institutionCode, reason: 'not in a network' });
      // Carrel itself may change any network's settings; named through the zone, as the API would.
      return (await service.changeNetworkSettings(actor, institution.id, patch)).network.settings;
    },

    async addCodeValues(code: string, tables: Parameters<typeof insertCodeValues>[2]): Promise<void> {
      const institution = await byCode(code);
      await insertCodeValues(db, institution.id, tables);
      codeTables.invalidate(institution.id);
    },
  };
  return service;
}

export type InstitutionService = ReturnType<typeof createInstitutionService>;
