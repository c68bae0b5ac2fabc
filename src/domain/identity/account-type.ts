// Toggling a user between EXTERNAL (signs in through the campus IdP, loaded by SIS) and INTERNAL
// (a local password): the SSO-outage procedure of the seeds, one user or a whole set at a time.
//
// Alma wants external_id (the SIS profile the user came from) set on EXTERNAL users and empty on
// INTERNAL ones. Toggling to INTERNAL therefore clears it, and keeps the old value in
// identity.account_toggle, so that toggling back restores it without staff having to know it;
// while INTERNAL the user is left alone by SIS loads, as in Alma. A value given with the toggle
// back wins over the remembered one.
import type { Db, Queryable } from '../../db/database.js';
import { findPreviousExternalId, forgetExternalId, rememberExternalId } from '../../db/queries/identity-account-toggles.js';
import { findCredential } from '../../db/queries/identity-credentials.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { updateAccountType } from '../../db/queries/user-batches.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError, assertThat } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import { diffUsers } from '../audit/audit.js';
import type { Institution } from '../../model/institution.js';
import type { AccountType, User } from '../../model/user.js';
import type { Credentials } from './credentials.js';
import { auditIdentity } from './identity-audit.js';
import type { Links } from './links.js';

export interface ToggleInput {
  accountType: AccountType;
  /** EXTERNAL -> INTERNAL: a temporary password (forced change by default) ... */
  password?: string | undefined;
  forceChange?: boolean | undefined;
  /** ... or a set-password link by e-mail. */
  sendLink?: boolean | undefined;
  /** INTERNAL -> EXTERNAL: the SIS profile; defaults to the one the user had before. */
  externalId?: string | undefined;
}

export interface ToggleResult {
  user: User;
  /** What happened to the local password. */
  password: 'set' | 'link_sent' | 'kept' | 'removed' | 'none';
}

export interface BulkResult {
  userId: string;
  ok: boolean;
  accountType?: AccountType;
  password?: ToggleResult['password'];
  error?: { code: string; message: string };
}

export const MAX_BULK = 1000;

export function createAccountTypes({ db, clock, credentials, links }: { db: Db; clock: () => Date; credentials: Credentials; links: Links }) {
  async function toggleIn(
    tx: Queryable,
    actor: Actor,
    institution: Institution,
    ref: string,
    input: ToggleInput,
    context: Record<string, unknown>,
  ): Promise<ToggleResult> {
    const found = await findUserByIdentifier(tx, institution.id, ref);
    if (!found) throw new AppError('USER_NOT_FOUND', { id: ref });
    const before = (await findUserById(tx, found.id, true))!;
    assertThat(input.accountType === 'INTERNAL' || input.accountType === 'EXTERNAL', 'ACCOUNT_TYPE_INVALID', { value: String(input.accountType) });
    if (before.accountType === input.accountType) {
      throw new AppError('CONFLICT', { reason: `User ${before.primaryId} is already ${before.accountType}.` });
    }
    let password: ToggleResult['password'];
    let user: User;
    if (input.accountType === 'INTERNAL') {
      const hasPassword = !!(await findCredential(tx, before.id))?.hash;
      assertThat(input.password || input.sendLink || hasPassword, 'MANDATORY_FIELD', {
        field: 'password or send_link (an INTERNAL user needs a way to sign in)',
      });
      if (before.externalId) await rememberExternalId(tx, before.id, institution.id, before.externalId, clock());
      await updateAccountType(tx, before.id, 'INTERNAL', null);
      user = (await findUserById(tx, before.id))!;
      if (input.password) {
        await credentials.storePassword(tx, user, input.password, { forceChange: input.forceChange ?? true }, institution.settings);
        password = 'set';
      } else if (input.sendLink) {
        await links.sendPasswordLink(tx, 'set_password', user, institution);
        password = 'link_sent';
      } else {
        password = 'kept';
      }
    } else {
      const given = input.externalId?.trim();
      assertThat(!given || given.length <= 255, 'INVALID_VALUE', { field: 'external_id', value: given?.slice(0, 60) ?? '', reason: 'at most 255 characters' });
      const externalId = given || (await findPreviousExternalId(tx, before.id));
      if (!externalId) throw new AppError('EXTERNAL_ID_REQUIRED');
      await updateAccountType(tx, before.id, 'EXTERNAL', externalId);
      await forgetExternalId(tx, before.id);
      user = (await findUserById(tx, before.id))!;
      if (institution.settings.externalPasswordFallback) password = 'kept';
      else password = (await credentials.removePassword(tx, user)) ? 'removed' : 'none';
    }
    await auditIdentity(tx, actor, 'user.account_type', user, { password, ...context }, diffUsers(before, user));
    return { user, password };
  }

  async function institutionFor(actor: Actor, institutionId: string): Promise<Institution> {
    authorize(actor, 'credentials:manage', institutionId);
    const institution = await findInstitutionById(db, institutionId);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
    return institution;
  }

  return {
    /** One toggle in the caller's transaction (an outage job's unit of work; it authorized at enqueue). */
    toggleInTx: toggleIn,

    async toggleAccountType(actor: Actor, institutionId: string, ref: string, input: ToggleInput): Promise<ToggleResult> {
      const institution = await institutionFor(actor, institutionId);
      return db.transaction((tx) => toggleIn(tx, actor, institution, ref, input, {}));
    },

    /**
     * A whole set (an SSO outage, and back). Each user is its own transaction: one user without an
     * e-mail address does not keep the others from signing in. A temporary password is not offered
     * in bulk: one password shared by many people is not a secret.
     */
    async bulkToggleAccountType(
      actor: Actor,
      institutionId: string,
      refs: string[],
      input: Pick<ToggleInput, 'accountType' | 'sendLink'>,
    ): Promise<BulkResult[]> {
      const institution = await institutionFor(actor, institutionId);
      assertThat(refs.length <= MAX_BULK, 'INVALID_PARAMETER', { reason: `at most ${MAX_BULK} users per call` });
      const results: BulkResult[] = [];
      for (const ref of [...new Set(refs)]) {
        try {
          const r = await db.transaction((tx) => toggleIn(tx, actor, institution, ref, { accountType: input.accountType, sendLink: input.sendLink }, { bulk: true }));
          results.push({ userId: ref, ok: true, accountType: r.user.accountType, password: r.password });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          results.push({ userId: ref, ok: false, error: { code: err.alma, message: err.message } });
        }
      }
      return results;
    },
  };
}
