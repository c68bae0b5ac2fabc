// Use cases on integration profiles: list, read, create, change, delete (User Administrator or
// General System Administrator: permission sis:manage).
import type { Db } from '../../db/database.js';
import { isUniqueViolation } from '../../model/db-errors.js';
import { deleteProfile, findProfileByCode, insertProfile, listProfiles, updateProfile } from '../../db/queries/integration-profiles.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import { validateProfile } from './profile.js';
import type { IntegrationProfile, ProfileInput } from '../../model/profile.js';

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
      return unique(fields.code, () => insertProfile(db, institutionId, fields));
    },

    async update(actor: Actor, institutionId: string, code: string, patch: ProfileInput): Promise<IntegrationProfile> {
      authorize(actor, 'sis:manage', institutionId);
      const current = await byCode(institutionId, code);
      const fields = validateProfile(patch, await codeTables.forInstitution(institutionId), current);
      // The code is every loaded user's external_id: renaming it would orphan them.
      if (fields.code.toLowerCase() !== current.code.toLowerCase()) {
        throw new AppError('EXTERNAL_ID_CHANGED');
      }
      return unique(fields.code, () => updateProfile(db, current.id, fields));
    },

    async remove(actor: Actor, institutionId: string, code: string): Promise<void> {
      authorize(actor, 'sis:manage', institutionId);
      await deleteProfile(db, (await byCode(institutionId, code)).id);
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;
