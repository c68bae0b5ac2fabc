// Just-in-time creation of a user an IdP vouched for and Carrel does not know, when (and only
// when) the method says so: EXTERNAL, of the method's record type and group, its external id the
// method's code, the verified value as primary id (and as the matched identifier, when the method
// matches on one), names and e-mail from what the IdP released. It goes through the user service,
// so the one write path's rules apply (validation, uniqueness, the audit event).
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { MATCH_PRIMARY_ID, type LoginMethod } from '../../model/login-method.js';
import type { User, UserInput } from '../../model/user.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { UserService } from '../users/user-service.js';
import type { Verified } from './method.js';

export interface JitCreator {
  create(institution: Institution, method: LoginMethod, verified: Verified): Promise<{ user: User } | { error: string }>;
}

export function createJitCreator(users: Pick<UserService, 'create'>, codeTables: CodeTableCache): JitCreator {
  return {
    async create(institution, method, verified) {
      if (!method.jit) return { error: 'the method creates no users' };
      const tables = await codeTables.forInstitution(institution.id);
      const emailType = tables.get('UserEmailTypes', 'personal')?.code ?? tables.list('UserEmailTypes')[0]?.code;
      const input: UserInput = {
        primaryId: verified.subject,
        recordType: method.jit.recordType,
        accountType: 'EXTERNAL',
        externalId: method.code,
        status: 'ACTIVE',
        // A group the IdP's affiliation maps to (SAML affiliation_groups) before the method's default.
        userGroup: verified.userGroup ?? method.jit.userGroup,
        firstName: verified.firstName?.slice(0, 255) ?? null,
        lastName: verified.lastName?.slice(0, 255) ?? null,
        identifiers: method.match === MATCH_PRIMARY_ID ? [] : [{ idType: method.match, value: verified.subject, note: null, status: 'ACTIVE', segmentType: 'External' }],
        ...(verified.email && emailType
          ? { contactInfo: { addresses: [], phones: [], emails: [{ address: verified.email, description: null, types: [emailType], preferred: true, segmentType: 'External' }] } }
          : {}),
      } as UserInput;
      try {
        return { user: await users.create({ kind: 'system', label: `sign-in:${method.code}` }, institution.id, input) };
      } catch (err) {
        // The institution's rules refuse it (a mandatory identifier, the primary-id format, a
        // value another user holds): the person gets the "no account" page, the audit log the why.
        if (err instanceof AppError) return { error: err.message.slice(0, 300) };
        throw err;
      }
    },
  };
}
