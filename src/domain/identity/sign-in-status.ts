// What staff see of a user's sign-in (the console's Sign-in tab): whether there is a local
// password, whether it must be changed at the next sign-in, whether sign-in is being refused
// (throttle.ts: the account's guess budget spent, or places whose streak reached the maximum),
// and whether it is a break-glass account. Facts only: never a hash, its algorithm or a token.
// Anyone who may read users may read these (a desk tells a patron why they cannot sign in);
// changing any of them stays credentials:manage (staff-actions.ts).
import type { Db } from '../../db/database.js';
import { findSignInStatus } from '../../db/queries/identity-credentials.js';
import { countLockedSources } from '../../db/queries/identity-login.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { User } from '../../model/user.js';
import { mayHavePassword } from './links.js';
import { debtAllowanceMs, throttleRule } from './throttle.js';

export interface SignInStatus {
  user: User;
  hasPassword: boolean;
  /** A local password is possible for this user at all (not a CONTACT; INTERNAL, or the institution's fallback). */
  passwordAllowed: boolean;
  mustChange: boolean;
  /** An imported hash, re-hashed at the next sign-in. */
  imported: boolean;
  passwordChangedAt: Date | null;
  lastLoginAt: Date | null;
  /** The guess budget is spent: places the account has not signed in from are refused until lockedUntil. */
  lockedOut: boolean;
  lockedUntil: Date | null;
  /** Places (addresses, API keys) refused after too many failures in a row. */
  lockedPlaces: number;
  breakGlass: boolean;
}

export function createSignInStatus({ db, clock }: { db: Db; clock: () => Date }) {
  return {
    async signInStatus(actor: Actor, institutionId: string, ref: string): Promise<SignInStatus> {
      authorize(actor, 'users:read', institutionId);
      // By identifier within the caller's institution: another institution's user is not found.
      const user = await findUserByIdentifier(db, institutionId, ref);
      if (!user) throw new AppError('USER_NOT_FOUND', { id: ref.slice(0, 60) });
      const institution = await findInstitutionById(db, institutionId);
      if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id: institutionId });
      const now = clock();
      const c = await findSignInStatus(db, user.id);
      const rule = throttleRule(institution.settings);
      // The budget refuses unfamiliar places while its debt runs further ahead than the rule allows
      // (throttle.ts: admits); it is lifted again once the debt is back within that.
      const allowance = debtAllowanceMs(rule);
      const debt = c?.guessDebtUntil?.getTime() ?? 0;
      const lockedOut = debt - now.getTime() > allowance;
      return {
        user,
        hasPassword: c?.hasPassword === true,
        passwordAllowed: mayHavePassword(user, institution),
        mustChange: c?.hasPassword === true && c.mustChange,
        imported: c?.hasPassword === true && c.legacy,
        passwordChangedAt: c?.hasPassword ? c.passwordChangedAt : null,
        lastLoginAt: c?.lastLoginAt ?? null,
        lockedOut,
        lockedUntil: lockedOut ? new Date(debt - allowance) : null,
        lockedPlaces: await countLockedSources(db, user.id, rule.pairMax, now, c?.throttleResetAt ?? null),
        breakGlass: c?.breakGlass === true,
      };
    },
  };
}
