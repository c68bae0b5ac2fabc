// The e-mail-link method's two steps. Request: the person gives a user name, card number or
// e-mail address; if exactly one active account matches and has an address, a single-use link
// (token kind 'email_login', the raw token only in the mail) is queued in the same transaction
// as its audit event. The answer never changes, so the page tells nobody which accounts exist;
// requests are throttled silently per address and per account (no mail bombing). Finish: the
// link's token, used once, names the user, who is admitted like any verified user.
import type { Db } from '../../db/database.js';
import { bumpCounter } from '../../db/queries/identity-login.js';
import { findUserById, findUserByIdentifier, findUserIdsByEmail } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { MATCH_PRIMARY_ID } from '../../model/login-method.js';
import { fullName, type User } from '../../model/user.js';
import type { SignInMeta } from '../identity/browser-sessions.js';
import { auditIdentity } from '../identity/identity-audit.js';
import type { IdentityService } from '../identity/identity-service.js';
import { emailOf } from '../identity/links.js';
import { addressBucket } from '../identity/throttle.js';
import type { MailService } from '../mail/outbox.js';
import { emailLoginMail } from '../mail/templates.js';
import { safeReturnTo } from './return-to.js';
import type { SignIn, SignInOutcome } from './sign-in.js';
import { methodUrls } from './urls.js';

const PER_ADDRESS = 20;
const ADDRESS_WINDOW_S = 15 * 60;
const PER_USER = 5;
const USER_WINDOW_S = 3600;

export interface EmailLinkDeps {
  db: Db;
  clock: () => Date;
  publicUrl: string;
  identity: Pick<IdentityService, 'createToken' | 'consumeToken'>;
  mail: MailService;
  signIn: SignIn;
}

export function createEmailLinkSignIn({ db, clock, publicUrl, identity, mail, signIn }: EmailLinkDeps) {
  async function linkMethod(institution: Institution, code: string) {
    const m = await signIn.live(institution, code);
    if (m.module.kind !== 'link') throw new AppError('LOGIN_METHOD_NOT_FOUND', { code });
    return m;
  }

  /** The one account `given` names: by the method's match, or by e-mail address when allowed. */
  async function accountOf(institution: Institution, match: string, byEmail: boolean, given: string): Promise<User | undefined> {
    if (byEmail && given.includes('@')) {
      const ids = await findUserIdsByEmail(db, institution.id, given);
      // An address several accounts share names none of them.
      return ids.length === 1 ? findUserById(db, ids[0]!) : undefined;
    }
    return findUserByIdentifier(db, institution.id, given, match === MATCH_PRIMARY_ID ? 'primary_id' : match);
  }

  return {
    /** Always resolves the same way (nothing), whether or not a mail went out. */
    async request(institution: Institution, code: string, given: unknown, returnTo: unknown, meta: SignInMeta): Promise<void> {
      const m = await linkMethod(institution, code);
      const now = clock();
      const bucket = addressBucket(meta.clientAddress);
      if (bucket && (await bumpCounter(db, `email-login-addr:${bucket}`, now, ADDRESS_WINDOW_S)) > PER_ADDRESS) return;
      const value = typeof given === 'string' ? given.trim() : '';
      if (!value || value.length > 255) return;
      const user = await accountOf(institution, m.method.match, m.method.config.by_email !== false, value);
      const to = user && emailOf(user);
      if (!user || !to || user.status !== 'ACTIVE' || user.recordType === 'CONTACT' || signIn.isExpired(user)) return;
      if ((await bumpCounter(db, `email-login-user:${user.id}`, now, USER_WINDOW_S)) > PER_USER) return;
      const back = safeReturnTo(returnTo, institution.code);
      await db.transaction(async (tx) => {
        const { token, expiresAt } = await identity.createToken(tx, 'email_login', user);
        const link = `${methodUrls(publicUrl, institution.code, m.method.code).callback}?token=${token}${back ? `&return=${encodeURIComponent(back)}` : ''}`;
        const content = emailLoginMail({ institutionName: institution.name, greetingName: fullName(user) || user.primaryId, link, expiresAt }, clock());
        const outboxId = await mail.enqueue(tx, institution.id, { to, ...content });
        await auditIdentity(tx, { kind: 'self' }, 'credential.link_sent', user, { kind: 'email_login', method: m.method.code, expiresAt, outboxId });
      });
    },

    /** The link's token, used once: the user it was for, admitted (active, not expired) into a session. */
    async finish(institution: Institution, code: string, token: unknown, returnTo: unknown, meta: SignInMeta): Promise<SignInOutcome> {
      const m = await linkMethod(institution, code);
      let user: User;
      try {
        user = await identity.consumeToken(['email_login'], institution.id, token);
      } catch (err) {
        if (err instanceof AppError && err.code === 'LINK_INVALID') {
          return signIn.refuse(institution, m.method.code, meta, { refused: 'expired', detail: 'link unknown, used, replaced or expired' });
        }
        throw err;
      }
      return signIn.admit(institution, m.method, user, meta, typeof returnTo === 'string' ? returnTo : null);
    },
  };
}

export type EmailLinkSignIn = ReturnType<typeof createEmailLinkSignIn>;
