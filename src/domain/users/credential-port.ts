// The seam to the identity module. Users know that a record may carry a credential and that it
// goes with the record's transaction; only the identity module knows how it is stored.
import type { Queryable } from '../../db/database.js';
import type { Actor } from '../access/actor.js';
import type { Institution } from '../../model/institution.js';
import type { User } from '../../model/user.js';

export interface CredentialPort {
  /** Checks the institution's policy (AppError PASSWORD_POLICY) and stores a new hash. */
  setPassword(tx: Queryable, user: User, password: string, opts: { forceChange: boolean; actor?: Actor }): Promise<void>;
  setForceChange(tx: Queryable, user: User, force: boolean): Promise<void>;
  /** On delete, and on INTERNAL -> EXTERNAL unless the institution keeps a fallback password. */
  removeForUser(tx: Queryable, user: User): Promise<void>;
}

/** Alma's social_authentication=true: the identity module mails the invitation in the creating transaction. */
export interface SocialInvitePort {
  send(tx: Queryable, user: User, institution: Institution, actor: Actor): Promise<void>;
}
