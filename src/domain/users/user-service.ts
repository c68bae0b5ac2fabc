// Use cases on users: find, search, create, replace (Alma's swap-all PUT), delete. Each write is
// one transaction: validation, identifier uniqueness, the record, credentials, the audit event.
import { isUniqueViolation } from '../../model/db-errors.js';
import type { Db, Queryable } from '../../db/database.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { findUserById, findUserByIdentifier, findUsersByIds, searchUsers, planForSearchAsYouType, type BriefUserRow } from '../../db/queries/users.js';
import { AppError, assertThat } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { Institution } from '../../model/institution.js';
import { parseBriefSearch, type BriefSearchParams } from './brief-search.js';
import type { CredentialPort, SocialInvitePort } from './credential-port.js';
import { mergeForReplace } from './merge-user.js';
import { almaFieldName, markManualEdits } from './manual-edit-rules.js';
import type { User, UserInput } from '../../model/user.js';
import { assertMandatoryIdentifier, validateUser } from './validate-user.js';
import { checkIdentifiers, deleteUsersAudited, uniquenessOf, writeUsers, type NamedUserGate, type Uniqueness, type UserWrite } from './write-users.js';
import { addGeneratedIdentifiers, generatePrimaryId, generatesPrimaryId, identifierToGenerate } from './identifier-generation.js';

export interface UserServiceDeps {
  db: Db;
  codeTables: CodeTableCache;
  credentials: CredentialPort;
  /** Absent: social_authentication=true is refused (a Carrel without the identity module's mail). */
  invites?: SocialInvitePort;
  /** The named-user licence every write obeys (domain/institutions/named-user-licence.ts). */
  licence: NamedUserGate;
}

export interface FindOptions {
  /** Alma's user_id_type: all_unique (default), an identifier type code, or linking_id. */
  idType?: string | undefined;
}

export interface WriteOptions extends FindOptions {
  /** If-Match: the version the client read; a newer one on the server refuses the write. */
  ifMatch?: number | undefined;
}

export interface CreateOptions {
  /** Alma's social_authentication: mail the user an invitation to bind a social login (Google, Facebook, X). */
  socialAuthentication?: boolean;
}

export interface ReplaceOptions extends WriteOptions {
  /** Protected fields to take from the input even where staff edited them by hand. */
  override?: string[] | undefined;
}

export function createUserService({ db, codeTables, credentials, invites, licence }: UserServiceDeps) {
  async function institutionOf(id: string): Promise<Institution> {
    const institution = await findInstitutionById(db, id);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id });
    return institution;
  }

  async function normalizeIdType(institutionId: string, idType: string | undefined): Promise<string | undefined> {
    if (!idType || idType === 'all_unique') return undefined;
    if (idType === 'linking_id' || idType === 'primary_id') return idType;
    const type = (await codeTables.forInstitution(institutionId)).get('UserIdentifierTypes', idType);
    if (!type) throw new AppError('INVALID_PARAMETER', { reason: `user_id_type ${idType.slice(0, 40)} is not an identifier type` });
    return type.code;
  }

  async function findOrFail(q: Queryable, institutionId: string, id: string, idType: string | undefined, notFound: '401861' | '401890') {
    const user = await findUserByIdentifier(q, institutionId, id, idType);
    if (user) return user;
    if (notFound === '401861' && !idType) throw new AppError('USER_NOT_FOUND', { id });
    throw new AppError('USER_NOT_FOUND_BY_TYPE', { id, type: idType ?? 'all_unique' });
  }

  /** One user through the one write path: a batch of one, refused with the batch's own error. */
  async function writeOne(tx: Queryable, actor: Actor, institution: Institution, write: UserWrite, uniqueness?: Uniqueness): Promise<User> {
    const { refused } = await checkIdentifiers(tx, uniqueness ?? (await uniquenessOf(tx, institution)), [write]);
    if (refused[0]) throw refused[0].error;
    const written = await writeUsers(tx, actor, institution.id, [write], { readBack: true, licence });
    if (written.refused[0]) throw written.refused[0].error;
    return written.users[0]!;
  }

  async function withUniqueGuard<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      // The advisory locks make this rare; the unique index is the last word.
      if (isUniqueViolation(err)) throw new AppError('IDENTIFIER_TAKEN', { type: 'identifier', value: '(a value of this user)' });
      throw err;
    }
  }

  async function setCredentials(tx: Queryable, user: User, input: UserInput, actor: Actor) {
    if (input.password) {
      // Contacts do not sign in (identity/links.ts: mayHavePassword says the same to every other path).
      assertThat(user.recordType !== 'CONTACT', 'ACTION_NOT_SUPPORTED', { action: 'a password for a CONTACT user (contacts do not sign in)' });
      assertThat(user.accountType === 'INTERNAL' || (await institutionOf(user.institutionId)).settings.externalPasswordFallback,
        'ACTION_NOT_SUPPORTED', { action: 'a password for an EXTERNAL user' });
      await credentials.setPassword(tx, user, input.password, { forceChange: input.forcePasswordChange === true, actor });
    } else if (input.forcePasswordChange !== undefined) {
      await credentials.setForceChange(tx, user, input.forcePasswordChange);
    }
  }

  /**
   * A new user, in one transaction: a primary id generated when none was given and the record
   * type's rule makes them (or at desk registration), validation, the identifier the record
   * type's rule generates when the user comes without one (before the mandatory identifier is
   * checked), then the one write path, credentials and the invitation.
   */
  async function createUser(actor: Actor, institution: Institution, input: UserInput, opts: CreateOptions, how: { registration?: boolean } = {}): Promise<User> {
    const tables = await codeTables.forInstitution(institution.id);
    const fields: UserInput = {
      ...input,
      statusDate: new Date().toISOString().slice(0, 10),
      linkingId: null,
      sourceInstitutionCode: null,
      sourceLinkId: null,
    };
    const recordType = String(input.recordType ?? '').trim().toUpperCase();
    const needsPrimaryId = !input.primaryId?.trim() && (how.registration === true || generatesPrimaryId(institution, recordType));
    // Refused before a transaction (and a number) is taken, when nothing has to be generated first.
    const validated = needsPrimaryId ? undefined : validateUser({ institution, tables }, fields);
    if (validated && !identifierToGenerate(institution, validated)) assertMandatoryIdentifier(institution, validated);
    return withUniqueGuard(() =>
      db.transaction(async (tx) => {
        const uniqueness = await uniquenessOf(tx, institution);
        const gen = { institution, tables, uniqueness };
        const record =
          validated ?? validateUser({ institution, tables }, { ...fields, primaryId: await generatePrimaryId(tx, gen, recordType, input) });
        const [completed] = await addGeneratedIdentifiers(tx, gen, [record]);
        if (completed instanceof AppError) throw completed;
        assertMandatoryIdentifier(institution, completed!);
        const context = how.registration ? { registration: true } : {};
        const user = await writeOne(tx, actor, institution, { record: completed!, manualEdits: [], context }, uniqueness);
        await setCredentials(tx, user, input, actor);
        // In the same transaction: no mail for a user that was not written, no user without its mail.
        if (opts.socialAuthentication) {
          assertThat(invites, 'ACTION_NOT_SUPPORTED', { action: 'social_authentication' });
          await invites.send(tx, user, institution, actor);
        }
        return user;
      }),
    );
  }

  return {
    async get(actor: Actor, institutionId: string, id: string, opts: FindOptions = {}): Promise<User> {
      authorize(actor, 'users:read', institutionId);
      const idType = await normalizeIdType(institutionId, opts.idType);
      return findOrFail(db, institutionId, id, idType, '401861');
    },

    async search(
      actor: Actor,
      institutionId: string,
      params: BriefSearchParams,
      expandFull = false,
    ): Promise<{ total: number; totalExact?: boolean; rows: BriefUserRow[]; users?: User[] }> {
      authorize(actor, 'users:read', institutionId);
      const search = parseBriefSearch(params);
      const { atLeast, ...found } = await db.transaction(async (tx) => {
        await planForSearchAsYouType(tx);
        return searchUsers(tx, institutionId, search);
      });
      // A search counted up to a limit says whether its total is the whole count.
      const result = search.countUpTo === undefined ? found : { ...found, totalExact: !atLeast };
      if (!expandFull) return result;
      return { ...result, users: await findUsersByIds(db, result.rows.map((r) => r.id)) };
    },

    async create(actor: Actor, institutionId: string, input: UserInput, opts: CreateOptions = {}): Promise<User> {
      authorize(actor, 'users:write', institutionId);
      return createUser(actor, await institutionOf(institutionId), input, opts);
    },

    /**
     * Desk registration (users:register, which circulation desks hold without users:write): a
     * PUBLIC patron only, with no roles, its identifiers given now or generated; afterwards only
     * users:write may change them (replace and the rest authorize that).
     */
    async register(actor: Actor, institutionId: string, input: UserInput): Promise<User> {
      authorize(actor, 'users:register', institutionId);
      const recordType = String(input.recordType ?? 'PUBLIC').trim().toUpperCase();
      assertThat(recordType === 'PUBLIC', 'REGISTRATION_PUBLIC_ONLY', { recordType: recordType.slice(0, 40) });
      assertThat(!input.roles?.length, 'ACTION_NOT_SUPPORTED', { action: 'roles at desk registration' });
      assertThat(!input.password, 'ACTION_NOT_SUPPORTED', { action: 'a password at desk registration' });
      return createUser(actor, await institutionOf(institutionId), { ...input, recordType: 'PUBLIC', roles: [] }, {}, { registration: true });
    },

    /**
     * Gives the user `claim` picks (in this transaction, e.g. by using a one-time link) the
     * identifier of this type, replacing one of the same type: Alma's social invitation binding
     * the patron's Google, Facebook or X id. The one write path's rules apply (the type allowed
     * for the record type, the value free in the uniqueness scope, the audit event).
     */
    async setIdentifier(actor: Actor, institution: Institution, claim: (tx: Queryable) => Promise<User>, idType: string, value: string): Promise<User> {
      const tables = await codeTables.forInstitution(institution.id);
      return withUniqueGuard(() =>
        db.transaction(async (tx) => {
          const existing = await claim(tx);
          assertThat(existing.institutionId === institution.id, 'NOT_FOUND', { entity: 'User', id: existing.primaryId });
          const same = existing.identifiers.find((i) => i.idType === idType);
          if (same && same.value.toLowerCase() === value.toLowerCase()) return existing;
          const identifiers = [
            ...existing.identifiers.filter((i) => i.idType !== idType),
            { idType, value, note: null, status: 'ACTIVE' as const, segmentType: 'External' as const },
          ];
          const record = validateUser({ institution, tables, existing }, { ...existing, identifiers });
          return writeOne(tx, actor, institution, { existing, record, manualEdits: existing.manualEdits, context: { bound: idType } });
        }),
      );
    },

    async replace(actor: Actor, institutionId: string, id: string, input: UserInput, opts: ReplaceOptions = {}): Promise<User> {
      authorize(actor, 'users:write', institutionId);
      const institution = await institutionOf(institutionId);
      const tables = await codeTables.forInstitution(institutionId);
      const idType = await normalizeIdType(institutionId, opts.idType);
      const override = (opts.override ?? []).map((f) => f.trim()).filter(Boolean);
      return withUniqueGuard(() =>
        db.transaction(async (tx) => {
          const found = await findOrFail(tx, institutionId, id, idType, '401890');
          const existing = (await findUserById(tx, found.id, true))!;
          if (opts.ifMatch !== undefined && opts.ifMatch !== existing.version) {
            throw new AppError('VERSION_MISMATCH', { given: opts.ifMatch, current: existing.version });
          }
          const { merged, manualEdits: kept } = mergeForReplace(existing, input, override, actor);
          const record = validateUser({ institution, tables, existing }, merged);
          // Staff or an API key editing a protected field by hand: SIS loads keep that value until
          // it is restored (an API key's, unless the profile says apiKeyEditsAreManual: false).
          const { manualEdits, origins } = markManualEdits(actor, existing, record, kept, new Date());
          if (existing.accountType === 'EXTERNAL') {
            assertThat(record.accountType === 'EXTERNAL', 'ACTION_NOT_SUPPORTED', {
              action: 'changing an EXTERNAL user to INTERNAL by update (use the account-type toggle)',
            });
            assertThat(record.externalId === existing.externalId, 'EXTERNAL_ID_CHANGED');
          }
          // The audit event names the fields this edit marked (the diff shows their values).
          const marked = manualEdits.filter((f) => origins[f] !== existing.manualEditOrigins?.[f]).map(almaFieldName);
          const context = { ...(override.length ? { override } : {}), ...(marked.length ? { manualEdits: marked } : {}) };
          const user = await writeOne(tx, actor, institution, { existing, record, manualEdits, manualEditOrigins: origins, context });
          if (existing.accountType === 'INTERNAL' && user.accountType === 'EXTERNAL' && !institution.settings.externalPasswordFallback) {
            await credentials.removeForUser(tx, user);
          }
          await setCredentials(tx, user, input, actor);
          return user;
        }),
      );
    },

    async remove(actor: Actor, institutionId: string, id: string, opts: WriteOptions = {}): Promise<void> {
      authorize(actor, 'users:write', institutionId);
      const idType = await normalizeIdType(institutionId, opts.idType);
      await db.transaction(async (tx) => {
        const found = await findOrFail(tx, institutionId, id, idType, '401890');
        const existing = (await findUserById(tx, found.id, true))!;
        if (opts.ifMatch !== undefined && opts.ifMatch !== existing.version) {
          throw new AppError('VERSION_MISMATCH', { given: opts.ifMatch, current: existing.version });
        }
        // Deleting a user deletes its password with it, in the same transaction.
        await credentials.removeForUser(tx, existing);
        await deleteUsersAudited(tx, actor, [existing]);
      });
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
