// Alma's social-login invitation, sign-in side. The mailed link (token kind 'social_invite',
// src/domain/identity/social-invites.ts) opens a page listing the institution's social methods;
// choosing one begins that method's flow with the link's id kept in the flow (never the raw
// token). When the provider has verified the person, the link is used once and the social id
// becomes the user's identifier of the method's type (GOOGLE_ID, FACEBOOK_ID, TWITTER_ID) in the
// same transaction, through the user service's one write path; then the user is signed in.
import type { Db, Queryable } from '../../db/database.js';
import { listLoginMethods } from '../../db/queries/login-methods.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import type { LoginMethod, LoginMethodType } from '../../model/login-method.js';
import type { User } from '../../model/user.js';
import type { UserService } from '../users/user-service.js';
import type { Verified } from './method.js';
import { configProblem } from './login-methods.js';
import { methodModules } from './methods/index.js';

/** The types an invitation may bind: each fixed to its identifier type by its module. */
export const SOCIAL_TYPES: readonly LoginMethodType[] = ['google', 'facebook', 'twitter'];

/** The flow key that carries the invitation's token id (namespaced apart from a module's own keys). */
export const INVITE_FLOW_KEY = 'carrel_invite';

export interface InviteTokens {
  take(tx: Queryable, institutionId: string, tokenId: string): Promise<User>;
}

export type BindResult = { user: User } | { refused: 'link_invalid' | 'not_social' | 'taken' | 'not_allowed'; detail: string };

export function createSocialInviteBinder(db: Db, users: Pick<UserService, 'setIdentifier'>, tokens: InviteTokens) {
  return {
    /** The institution's social methods an invitation page offers: enabled, usable, fixed to their type. */
    async methods(institution: Institution): Promise<LoginMethod[]> {
      const all = await listLoginMethods(db, institution.id);
      return all
        .filter((m) => m.enabled && SOCIAL_TYPES.includes(m.type))
        .filter((m) => {
          const mod = methodModules.get(m.type);
          return mod && mod.match === m.match && !configProblem(mod, m.config);
        })
        .sort((a, b) => a.position - b.position);
    },

    async bind(institution: Institution, method: LoginMethod, verified: Verified, tokenId: string): Promise<BindResult> {
      const fixed = methodModules.get(method.type)?.match;
      if (!SOCIAL_TYPES.includes(method.type) || !fixed || method.match !== fixed) {
        return { refused: 'not_social', detail: `method ${method.code} (${method.type}) cannot bind an invitation` };
      }
      try {
        const user = await users.setIdentifier(
          { kind: 'system', label: `social-invite:${method.code}` },
          institution,
          (tx) => tokens.take(tx, institution.id, tokenId),
          fixed,
          verified.subject,
        );
        return { user };
      } catch (err) {
        // The transaction rolled back: the link stays usable (another account may be chosen).
        if (err instanceof AppError && err.code === 'LINK_INVALID') return { refused: 'link_invalid', detail: 'invitation used, expired or replaced' };
        if (err instanceof AppError && err.code === 'IDENTIFIER_TAKEN') return { refused: 'taken', detail: `${fixed} already bound to another user` };
        if (err instanceof AppError) return { refused: 'not_allowed', detail: err.message.slice(0, 200) };
        throw err;
      }
    },
  };
}

export type SocialInviteBinder = ReturnType<typeof createSocialInviteBinder>;
