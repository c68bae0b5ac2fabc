// Networks and institutions: creating a network zone or a member, settings, code tables.
import type { Db } from '../../db/database.js';
import { insertAuditEvents } from '../../db/queries/audit-events.js';
import { insertCodeValues } from '../../db/queries/code-tables.js';
import {
  findInstitutionByCode,
  findInstitutionById,
  findNetworkByCode,
  findNetworkById,
  insertInstitution,
  insertNetwork,
  listInstitutions,
  updateInstitutionSettings,
  updateNetworkSettings,
} from '../../db/queries/institutions.js';
import { AppError, assertThat } from '../../errors.js';
import type { Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import { assertMailHeaders } from '../mail/outbox.js';
import type { CodeTableCache } from './code-tables.js';
import { DEFAULT_CODE_TABLES } from './default-code-tables.js';
import { INSTITUTION_CODE, type Institution, type InstitutionSettings, type NetworkSettings } from '../../model/institution.js';

export interface CreateInstitutionInput {
  code: string;
  name: string;
  /** Creates a network with this institution as its network zone. */
  networkZone?: boolean;
  /** Joins the network whose code (or whose zone's code) this is. */
  network?: string | undefined;
}

export function createInstitutionService(db: Db, codeTables: CodeTableCache) {
  async function byCode(code: string): Promise<Institution> {
    const institution = await findInstitutionByCode(db, code);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: code });
    return institution;
  }

  return {
    byCode,
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

    async updateSettings(code: string, patch: Partial<InstitutionSettings>): Promise<Institution> {
      const institution = await byCode(code);
      if (patch.primaryIdentifierRegex) {
        try {
          new RegExp(patch.primaryIdentifierRegex, 'u');
        } catch {
          throw new AppError('INVALID_VALUE', { field: 'primaryIdentifierRegex', value: patch.primaryIdentifierRegex, reason: 'not a regular expression' });
        }
      }
      const settings = { ...institution.settings, ...patch };
      await updateInstitutionSettings(db, institution.id, settings);
      codeTables.invalidate(institution.id);
      return { ...institution, settings };
    },

    /** Changes the network's settings (audited as network.settings: which setting, before and after). */
    async updateNetworkSettings(
      institutionCode: string,
      patch: Partial<NetworkSettings>,
      actor: Actor = { kind: 'system', label: 'institution settings' },
    ): Promise<NetworkSettings> {
      const institution = await byCode(institutionCode);
      assertThat(institution.networkId, 'INVALID_VALUE', { field: 'network', value: institutionCode, reason: 'not in a network' });
      const network = (await findNetworkById(db, institution.networkId))!;
      // Refused now rather than at the first break-glass sign-in, when nobody is watching.
      for (const to of patch.breakGlassNotify ?? []) assertMailHeaders({ to, subject: '' });
      for (const to of patch.namedUserNotify ?? []) assertMailHeaders({ to, subject: '' });
      const { namedUserLicense: licence, namedUserWarnPercent: percent, namedUserAtLimit: atLimit } = patch;
      assertThat(licence === undefined || licence === null || (Number.isInteger(licence) && licence >= 0), 'INVALID_VALUE', {
        field: 'namedUserLicense', value: String(licence), reason: 'a whole number of named users, or null when not tracked',
      });
      assertThat(percent === undefined || (Number.isInteger(percent) && percent >= 1 && percent <= 100), 'INVALID_VALUE', {
        field: 'namedUserWarnPercent', value: String(percent), reason: 'a whole percent from 1 to 100',
      });
      assertThat(atLimit === undefined || atLimit === 'warn' || atLimit === 'refuse', 'INVALID_VALUE', {
        field: 'namedUserAtLimit', value: String(atLimit).slice(0, 20), reason: 'warn or refuse',
      });
      const settings = { ...network.settings, ...patch };
      const changes = Object.fromEntries(
        (Object.keys(patch) as (keyof NetworkSettings)[])
          .filter((k) => JSON.stringify(network.settings[k]) !== JSON.stringify(settings[k]))
          .map((k) => [k, { before: network.settings[k], after: settings[k] }]),
      );
      await db.transaction(async (tx) => {
        await updateNetworkSettings(tx, network.id, settings);
        if (Object.keys(changes).length) {
          await insertAuditEvents(tx, [{
            institutionId: institution.id,
            ...auditActor(actor),
            action: 'network.settings',
            entityType: 'network',
            entityId: network.id,
            entityLabel: network.code,
            changes,
          }]);
        }
      });
      return settings;
    },

    async addCodeValues(code: string, tables: Parameters<typeof insertCodeValues>[2]): Promise<void> {
      const institution = await byCode(code);
      await insertCodeValues(db, institution.id, tables);
      codeTables.invalidate(institution.id);
    },
  };
}

export type InstitutionService = ReturnType<typeof createInstitutionService>;
