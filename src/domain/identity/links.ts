// One-time links: forgot-password (1 hour), set-password sent by staff (24 hours), e-mail login
// (for the login pages), and unlock (1 hour, sent with every forgot-password mail: it lifts the
// sign-in throttling of throttle.ts without a new password). The raw token exists once, in the
// mail; the database keeps its SHA-256. A newer link of the same kind replaces the older one, and
// a new password ends them all.
import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../../db/database.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { liftThrottle } from '../../db/queries/identity-credentials.js';
import { bumpCounter, rememberAddress } from '../../db/queries/identity-login.js';
import { findLiveToken, insertToken, invalidateTokens, markTokenUsed, type TokenKind } from '../../db/queries/identity-tokens.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import type { MailService } from '../mail/outbox.js';
import { passwordLinkMail } from '../mail/templates.js';
import { fullName, type User } from '../../model/user.js';
import type { Credentials } from './credentials.js';
import { auditIdentity, type IdentityActor } from './identity-audit.js';
import { addressBucket } from './throttle.js';

export interface LinkDeps {
  db: Db;
  clock: () => Date;
  mail: MailService;
  credentials: Credentials;
  /** Base of the links in mails, e.g. https://carrel.example.edu */
  publicUrl: string;
  ttlMs: Record<TokenKind, number>;
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

// Forgot-password requests are throttled silently (the answer never changes): per address and
// per user, so nobody can flood a mailbox or the outbox.
const RESET_PER_ADDRESS = 20;
const RESET_ADDRESS_WINDOW_S = 15 * 60;
const RESET_PER_USER = 5;
const RESET_USER_WINDOW_S = 3600;

/** The address links go to: the preferred e-mail, else the first. */
export function emailOf(user: User): string | undefined {
  const emails = user.contactInfo?.emails ?? [];
  return (emails.find((e) => e.preferred) ?? emails[0])?.address;
}

/** May this user hold a local password at all? (The login checks this too: a stored password of one who may not is no way in.) */
export function mayHavePassword(user: { recordType: string; accountType: string }, institution: Pick<Institution, 'settings'>): boolean {
  // Contacts (vendors, other libraries' staff) are records, not accounts: they never sign in.
  if (user.recordType === 'CONTACT') return false;
  return user.accountType === 'INTERNAL' || institution.settings.externalPasswordFallback;
}

export function createLinks({ db, clock, mail, credentials, publicUrl, ttlMs }: LinkDeps) {
  async function createToken(tx: Queryable, kind: TokenKind, user: User): Promise<{ token: string; expiresAt: Date }> {
    const now = clock();
    await invalidateTokens(tx, user.id, kind);
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + ttlMs[kind]);
    await insertToken(tx, { tokenHash: sha256(token), kind, userId: user.id, institutionId: user.institutionId, expiresAt, now });
    return { token, expiresAt };
  }

  /** A set-password or reset link by e-mail, queued in the caller's transaction. */
  async function sendPasswordLink(
    tx: Queryable,
    kind: 'reset' | 'set_password',
    user: User,
    institution: Institution,
  ): Promise<{ to: string; expiresAt: Date; outboxId: number }> {
    const to = emailOf(user);
    if (!to) throw new AppError('NO_EMAIL_ADDRESS', { id: user.primaryId });
    const { token, expiresAt } = await createToken(tx, kind, user);
    const pages = `${publicUrl.replace(/\/+$/, '')}/auth/${encodeURIComponent(institution.code)}`;
    const link = `${pages}/set-password?token=${token}`;
    // Whoever asks for a reset may simply be throttled (an attacker guessing): the same mail lets them back in.
    const unlockLink = kind === 'reset' ? `${pages}/unlock?token=${(await createToken(tx, 'unlock', user)).token}` : undefined;
    const greetingName = fullName(user) || user.primaryId;
    const content = passwordLinkMail({ kind, institutionName: institution.name, greetingName, link, expiresAt, ...(unlockLink ? { unlockLink } : {}) }, clock());
    const outboxId = await mail.enqueue(tx, institution.id, { to, ...content });
    return { to, expiresAt, outboxId };
  }

  async function institutionOf(q: Queryable, id: string): Promise<Institution> {
    const institution = await findInstitutionById(q, id);
    if (!institution) throw new AppError('NOT_FOUND', { entity: 'Institution', id });
    return institution;
  }

  return {
    createToken,
    sendPasswordLink,

    /** Uses a link once: the user it was for, or AppError LINK_INVALID (expired, used, replaced). */
    async consumeToken(kinds: TokenKind[], institutionId: string, token: unknown): Promise<User> {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw new AppError('LINK_INVALID');
      return db.transaction(async (tx) => {
        const row = await findLiveToken(tx, sha256(token), clock());
        if (!row || !kinds.includes(row.kind) || row.institutionId !== institutionId) throw new AppError('LINK_INVALID');
        const user = await findUserById(tx, row.userId);
        if (!user || !(await markTokenUsed(tx, row.id, clock()))) throw new AppError('LINK_INVALID');
        return user;
      });
    },

    /**
     * Forgot password. Always answers the same (nothing), whether or not the user exists, has an
     * e-mail address, or asked too often: the page says "if the account exists, a mail is on its way".
     */
    async requestPasswordReset(institutionId: string, identifier: string, clientAddress: string | null): Promise<void> {
      const now = clock();
      const bucket = addressBucket(clientAddress);
      if (bucket && (await bumpCounter(db, `reset-addr:${bucket}`, now, RESET_ADDRESS_WINDOW_S)) > RESET_PER_ADDRESS) return;
      const id = typeof identifier === 'string' ? identifier.trim() : '';
      if (!id || id.length > 255) return;
      const user = await findUserByIdentifier(db, institutionId, id);
      if (!user || user.status !== 'ACTIVE' || !emailOf(user)) return;
      const institution = await institutionOf(db, institutionId);
      if (!mayHavePassword(user, institution)) return;
      if ((await bumpCounter(db, `reset-user:${user.id}`, now, RESET_USER_WINDOW_S)) > RESET_PER_USER) return;
      await db.transaction(async (tx) => {
        const sent = await sendPasswordLink(tx, 'reset', user, institution);
        await auditIdentity(tx, { kind: 'self' }, 'credential.link_sent', user, { kind: 'reset', expiresAt: sent.expiresAt, outboxId: sent.outboxId });
      });
    },

    /**
     * The unlock page's action: lifts the account's guess budget and every (account, source)
     * streak (throttle.ts), once, and makes the address it is used from familiar to the account.
     */
    async unlockWithToken(institutionId: string, token: unknown, clientAddress: string | null): Promise<User> {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw new AppError('LINK_INVALID');
      return db.transaction(async (tx) => {
        const now = clock();
        const row = await findLiveToken(tx, sha256(token), now);
        if (!row || row.kind !== 'unlock' || row.institutionId !== institutionId) throw new AppError('LINK_INVALID');
        const user = await findUserById(tx, row.userId);
        if (!user || !(await markTokenUsed(tx, row.id, now))) throw new AppError('LINK_INVALID');
        await liftThrottle(tx, user.id, now);
        const bucket = addressBucket(clientAddress);
        if (bucket) await rememberAddress(tx, user.id, bucket, now);
        await auditIdentity(tx, { kind: 'self' }, 'credential.unlocked', user, { address: bucket });
        return user;
      });
    },

    /**
     * The set-password page's action (forgot-password and staff links alike): a valid link and a
     * new password that passes the policy. A refused password leaves the link usable.
     */
    async resetPasswordWithToken(institutionId: string, token: unknown, password: unknown): Promise<User> {
      if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) throw new AppError('LINK_INVALID');
      return db.transaction(async (tx) => {
        const now = clock();
        const row = await findLiveToken(tx, sha256(token), now);
        if (!row || (row.kind !== 'reset' && row.kind !== 'set_password') || row.institutionId !== institutionId) {
          throw new AppError('LINK_INVALID');
        }
        const user = await findUserById(tx, row.userId);
        const institution = await institutionOf(tx, institutionId);
        if (!user || user.status !== 'ACTIVE' || !mayHavePassword(user, institution)) throw new AppError('LINK_INVALID');
        if (!(await markTokenUsed(tx, row.id, now))) throw new AppError('LINK_INVALID');
        await credentials.storePassword(tx, user, password, { forceChange: false }, institution.settings);
        const actor: IdentityActor = { kind: 'self' };
        await auditIdentity(tx, actor, 'credential.password_reset', user, { kind: row.kind });
        return user;
      });
    },
  };
}

export type Links = ReturnType<typeof createLinks>;
