// Use cases on integration profiles: list, read, create, change, delete (User Administrator or
// General System Administrator: permission sis:manage). Every change is audited
// (integration_profile.create / .update / .delete, with the fields that changed).
import type { Db, Queryable } from '../../db/database.js';
import { insertAuditEvent } from '../../db/queries/audit-events.js';
import { isUniqueViolation } from '../../model/db-errors.js';
import { deleteProfile, findProfileByCode, insertProfile, listProfiles, updateProfile } from '../../db/queries/integration-profiles.js';
import { findUnfinishedLoadOfProfile } from '../../db/queries/sis-load-progress.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { auditActor } from '../audit/audit.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import { validateProfile } from './profile.js';
import type { IntegrationProfile, ProfileFields, ProfileInput } from '../../model/profile.js';

type Change = Record<string, { before: unknown; after: unknown }>;

/** The fields of a profile that differ (all of them against nothing, on create or delete). */
function changesOf(before: ProfileFields | undefined, after: ProfileFields | undefined): Change {
  const out: Change = {};
  for (const key of Object.keys({ ...before, ...after }) as (keyof ProfileFields)[]) {
    const b = before?.[key] ?? null;
    const a = after?.[key] ?? null;
    if (JSON.stringify(b) !== JSON.stringify(a)) out[key] = { before: b, after: a };
  }
  return out;
}

const fieldsOf = ({ id: _i, institutionId: _n, createdAt: _c, updatedAt: _u, ...fields }: IntegrationProfile): ProfileFields => fields;

async function audit(tx: Queryable, actor: Actor, action: string, p: IntegrationProfile, changes: Change): Promise<void> {
  await insertAuditEvent(tx, {
    institutionId: p.institutionId,
    ...auditActor(actor),
    action,
    entityType: 'integration_profile',
    entityId: p.id,
    entityLabel: p.code,
    changes,
  });
}

export function createProfileService({ db, codeTables }: { db: Db; codeTables: CodeTableCache }) {
  async function byCode(institutionId: string, code: string): Promise<IntegrationProfile> {
    const profile = await findProfileByCode(db, institutionId, code);
    if (!profile) throw new AppError('NOT_FOUND', { entity: 'Integration profile', id: code });
    return profile;
  }

  async function unique<T>(code: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', { reason: `Integration profile ${code} already exists.` });
      throw err;
    }
  }

  return {
    byCode,

    async list(actor: Actor, institutionId: string): Promise<IntegrationProfile[]> {
      authorize(actor, 'sis:manage', institutionId);
      return listProfiles(db, institutionId);
    },

    async get(actor: Actor, institutionId: string, code: string): Promise<IntegrationProfile> {
      authorize(actor, 'sis:manage', institutionId);
      return byCode(institutionId, code);
    },

    async create(actor: Actor, institutionId: string, input: ProfileInput): Promise<IntegrationProfile> {
      authorize(actor, 'sis:manage', institutionId);
      const fields = validateProfile(input, await codeTables.forInstitution(institutionId));
      return unique(fields.code, () =>
        db.transaction(async (tx) => {
          const created = await insertProfile(tx, institutionId, fields);
          await audit(tx, actor, 'integration_profile.create', created, changesOf(undefined, fieldsOf(created)));
          return created;
        }),
      );
    },

    async update(actor: Actor, institutionId: string, code: string, patch: ProfileInput): Promise<IntegrationProfile> {
      authorize(actor, 'sis:manage', institutionId);
      const current = await byCode(institutionId, code);
      const fields = validateProfile(patch, await codeTables.forInstitution(institutionId), current);
      // The code is every loaded user's external_id: renaming it would orphan them.
      if (fields.code.toLowerCase() !== current.code.toLowerCase()) {
        throw new AppError('EXTERNAL_ID_CHANGED');
      }
      return unique(fields.code, () =>
        db.transaction(async (tx) => {
          const updated = await updateProfile(tx, current.id, fields);
          const changes = changesOf(fieldsOf(current), fieldsOf(updated));
          if (Object.keys(changes).length) await audit(tx, actor, 'integration_profile.update', updated, changes);
          return updated;
        }),
      );
    },

    async remove(actor: Actor, institutionId: string, code: string): Promise<void> {
      authorize(actor, 'sis:manage', institutionId);
      const current = await byCode(institutionId, code);
      await db.transaction(async (tx) => {
        // Jobs name their profile in the payload (no foreign key): a queued or running load would
        // end failed at its next batch. Refused while one is unfinished; a load started after this
        // check still ends failed, saying the profile was deleted (load.ts), and writes nothing more.
        const unfinished = await findUnfinishedLoadOfProfile(tx, current.id);
        if (unfinished) throw new AppError('PROFILE_LOAD_UNFINISHED', { code: current.code, status: unfinished.status, id: unfinished.id });
        await deleteProfile(tx, current.id);
        await audit(tx, actor, 'integration_profile.delete', current, changesOf(fieldsOf(current), undefined));
      });
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
