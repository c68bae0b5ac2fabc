// Storing and removing passwords, always inside the caller's transaction: the policy check, the
// argon2id hash, the row, and what a new secret must end (outstanding links, other sessions).
// This is also the CredentialPort the user service calls on POST/PUT/DELETE of a user.
import type { Queryable } from '../../db/database.js';
import { clearPassword, setMustChange, upsertPassword } from '../../db/queries/identity-credentials.js';
import { revokeSessions } from '../../db/queries/identity-sessions.js';
import { invalidateTokens } from '../../db/queries/identity-tokens.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { AppError } from '../../errors.js';
import type { InstitutionSettings } from '../../model/institution.js';
import type { CredentialPort } from '../users/credential-port.js';
import type { User } from '../../model/user.js';
import { auditIdentity, type IdentityActor } from './identity-audit.js';
import type { PasswordHasher } from './password-hasher.js';
import { normalizePassword, passwordPolicyViolation, policyDescription, MAX_PASSWORD_LENGTH } from './password-policy.js';

export interface CredentialDeps {
  hasher: PasswordHasher;
  clock: () => Date;
}

export interface StoreOptions {
  forceChange: boolean;
  /** The session the change was made in stays signed in; every other one ends. */
  keepSessionId?: string | undefined;
}

export async function settingsOf(tx: Queryable, institutionId: string): Promise<InstitutionSettings> {
  const institution = await findInstitutionById(tx, institutionId);
  if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
  return institution.settings;
}

/** The NFC password, or AppError PASSWORD_POLICY with the reason it may not be used by this user. */
export async function acceptablePassword(raw: unknown, user: User, settings: InstitutionSettings): Promise<string> {
  const password = normalizePassword(raw);
  if (password === undefined) {
    const reason = typeof raw === 'string' && raw.length > 0 ? `It must be at most ${MAX_PASSWORD_LENGTH} characters long.` : 'It is empty.';
    throw new AppError('PASSWORD_POLICY', { reason, policy: policyDescription(settings) });
  }
  const violation = await passwordPolicyViolation(password, user, settings);
  if (violation) throw new AppError('PASSWORD_POLICY', { reason: violation, policy: policyDescription(settings) });
  return password;
}

export function createCredentials({ hasher, clock }: CredentialDeps) {
  /** Checks the policy, hashes, stores; ends the user's outstanding links and other sessions. */
  async function storePassword(tx: Queryable, user: User, raw: unknown, opts: StoreOptions, settings?: InstitutionSettings): Promise<void> {
    const password = await acceptablePassword(raw, user, settings ?? (await settingsOf(tx, user.institutionId)));
    const now = clock();
    await upsertPassword(tx, {
      userId: user.id,
      institutionId: user.institutionId,
      algorithm: 'argon2id',
      hash: await hasher.hash(password),
      legacy: false,
      mustChange: opts.forceChange,
      now,
    });
    await invalidateTokens(tx, user.id, null);
    await revokeSessions(tx, user.id, now, { exceptId: opts.keepSessionId });
  }

  /** No local password any more: links and sessions made with it end too. */
  async function removePassword(tx: Queryable, user: User): Promise<boolean> {
    const now = clock();
    const removed = await clearPassword(tx, user.id, now);
    await invalidateTokens(tx, user.id, null);
    if (removed) await revokeSessions(tx, user.id, now);
    return removed;
  }

  const port: CredentialPort = {
    async setPassword(tx, user, password, opts) {
      await storePassword(tx, user, password, { forceChange: opts.forceChange });
      const actor: IdentityActor = opts.actor ?? { kind: 'system', label: 'user service' };
      await auditIdentity(tx, actor, 'credential.password_set', user, { forceChange: opts.forceChange, via: 'users api' });
    },
    async setForceChange(tx, user, force) {
      // Without a password there is nothing to change at the next login: a no-op, as in Alma.
      await setMustChange(tx, user.id, force, clock());
    },
    async removeForUser(tx, user) {
      await removePassword(tx, user);
    },
  };

  return { storePassword, removePassword, port };
}

export type Credentials = ReturnType<typeof createCredentials>;
