// Alma's invitation to social login: POST /users?social_authentication=true mails the patron a
// one-time link (token kind 'social_invite'); the page it opens lists the institution's social
// methods, and the first provider sign-in through it binds that social id to the user
// (src/domain/sign-in/social-invite.ts). Here: the token's life (mail, peek, single use).
import { createHash } from 'node:crypto';
import type { Db, Queryable } from '../../db/database.js';
import { findLiveToken, findLiveTokenById, markTokenUsed } from '../../db/queries/identity-tokens.js';
import { findUserById } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { fullName, type User } from '../../model/user.js';
import type { MailService } from '../mail/outbox.js';
import { socialInviteMail } from '../mail/templates.js';
import type { Actor } from '../access/actor.js';
import { auditIdentity } from './identity-audit.js';
import { emailOf, type Links } from './links.js';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

export interface SocialInviteDeps {
  db: Db;
  clock: () => Date;
  mail: MailService;
  links: Pick<Links, 'createToken'>;
  publicUrl: string;
}

export function createSocialInvites({ db, clock, mail, links, publicUrl }: SocialInviteDeps) {
  return {
    /** Queued in the caller's transaction (the user's creation): the mail goes only if the user is written. */
    async send(tx: Queryable, user: User, institution: Institution, actor: Actor): Promise<void> {
      const to = emailOf(user);
      if (!to) throw new AppError('NO_EMAIL_ADDRESS', { id: user.primaryId });
      const { token, expiresAt } = await links.createToken(tx, 'social_invite', user);
      const link = `${publicUrl.replace(/\/+$/, '')}/auth/${encodeURIComponent(institution.code)}/social-invite?token=${token}`;
      const content = socialInviteMail({ institutionName: institution.name, greetingName: fullName(user) || user.primaryId, link, expiresAt }, clock());
      const outboxId = await mail.enqueue(tx, institution.id, { to, ...content });
      await auditIdentity(tx, actor, 'credential.link_sent', user, { kind: 'social_invite', expiresAt, outboxId });
    },

    /**
     * The link is live (not used, not expired, this institution's): its id, kept in the sign-in
     * flow instead of the raw token, and the user it is for. Uses nothing.
     */
    async peek(institutionId: string, token: unknown): Promise<{ tokenId: string; user: User }> {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw new AppError('LINK_INVALID');
      return db.transaction(async (tx) => {
        const row = await findLiveToken(tx, sha256(token), clock());
        if (!row || row.kind !== 'social_invite' || row.institutionId !== institutionId) throw new AppError('LINK_INVALID');
        const user = await findUserById(tx, row.userId);
        if (!user || user.status !== 'ACTIVE') throw new AppError('LINK_INVALID');
        return { tokenId: row.id, user };
      });
    },

    /** Uses the link once, in the caller's transaction (with the binding): the user it was for. */
    async take(tx: Queryable, institutionId: string, tokenId: string): Promise<User> {
      const row = await findLiveTokenById(tx, tokenId, clock());
      if (!row || row.kind !== 'social_invite' || row.institutionId !== institutionId) throw new AppError('LINK_INVALID');
      const user = await findUserById(tx, row.userId, true);
      if (!user || user.status !== 'ACTIVE' || !(await markTokenUsed(tx, row.id, clock()))) throw new AppError('LINK_INVALID');
      return user;
    },
  };
}

export type SocialInvites = ReturnType<typeof createSocialInvites>;
