// The seam to the identity module. Users know that a record may carry a credential and that it
// goes with the record's transaction; only the identity module knows how it is stored.
import type { Queryable } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { User } from './user.js';

export interface CredentialPort {
  setPassword(tx: Queryable, user: User, password: string, opts: { forceChange: boolean }): Promise<void>;
  setForceChange(tx: Queryable, user: User, force: boolean): Promise<void>;
  /** On delete, and on INTERNAL -> EXTERNAL unless the institution keeps a fallback password. */
  removeForUser(tx: Queryable, user: User): Promise<void>;
}

/** Until the identity service is enabled, a password is refused rather than silently dropped. */
export const noCredentials: CredentialPort = {
  async setPassword() {
    throw new AppError('PASSWORDS_NOT_AVAILABLE');
  },
  async setForceChange(_tx, _user, force) {
    if (force) throw new AppError('PASSWORDS_NOT_AVAILABLE');
  },
  async removeForUser() {},
};
