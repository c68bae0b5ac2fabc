// The identity module: passwords (argon2id, policy, legacy hashes), login with throttling,
// one-time links by e-mail, account-type toggles, sessions. The only code that reads the identity
// schema; the rest of Carrel sees the CredentialPort and these use cases.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/database.js';
import { insertSession, type SessionRow } from '../../db/queries/identity-sessions.js';
import { AppError } from '../../errors.js';
import { authorize, type Actor } from '../access/actor.js';
import type { MailService } from '../mail/outbox.js';
import type { User } from '../../model/user.js';
import { createAccountTypes } from './account-type.js';
import { createBreakGlass } from './break-glass.js';
import { createCredentials } from './credentials.js';
import { createLinks } from './links.js';
import { createLogin } from './login.js';
import { createLoginThrottle } from './login-throttle.js';
import { createPasswordHasher, type Argon2Params, type PasswordHasher } from './password-hasher.js';
import { createSignInStatus } from './sign-in-status.js';
import { createSocialInvites } from './social-invites.js';
import { createStaffActions } from './staff-actions.js';
import { sourceOf } from './throttle.js';

export interface IdentityOptions {
  argon2: Argon2Params;
  resetLinkMinutes: number;
  setPasswordLinkHours: number;
  emailLoginLinkMinutes: number;
  /** Default 168 (a week). */
  socialInviteLinkHours?: number;
  loginAddressMaxFailures: number;
  loginAddressWindowMinutes: number;
  /** Base of the links in mails. */
  publicUrl: string;
}

export interface IdentityDeps {
  db: Db;
  mail: MailService;
  clock: () => Date;
  options: IdentityOptions;
  /** Tests may wrap the hasher (to count verifies); everyone else gets argon2id at options.argon2. */
  hasher?: PasswordHasher;
}

export function createIdentityService({ db, mail, clock, options, hasher: given }: IdentityDeps) {
  const hasher = given ?? createPasswordHasher(options.argon2);
  const credentials = createCredentials({ hasher, clock });
  const loginThrottle = createLoginThrottle({
    db,
    addressMaxFailures: options.loginAddressMaxFailures,
    addressWindowMinutes: options.loginAddressWindowMinutes,
  });
  const login = createLogin({ db, hasher, clock, credentials, throttle: loginThrottle, addressWindowMinutes: options.loginAddressWindowMinutes });
  const links = createLinks({
    db,
    clock,
    mail,
    credentials,
    publicUrl: options.publicUrl,
    ttlMs: {
      reset: options.resetLinkMinutes * 60_000,
      set_password: options.setPasswordLinkHours * 3_600_000,
      email_login: options.emailLoginLinkMinutes * 60_000,
      unlock: options.resetLinkMinutes * 60_000,
      social_invite: (options.socialInviteLinkHours ?? 168) * 3_600_000,
    },
  });
  const accountTypes = createAccountTypes({ db, clock, credentials, links });
  const staff = createStaffActions({ db, clock, hasher, credentials, links });
  const breakGlass = createBreakGlass({ db, mail, clock });
  const signInStatus = createSignInStatus({ db, clock });
  const socialInvites = createSocialInvites({ db, clock, mail, links, publicUrl: options.publicUrl });

  return {
    /** Stops the hashing threads this service started (a hasher given by a test is its own). */
    close: async () => {
      if (!given) await hasher.close?.();
    },

    /** For the user service: passwords on POST/PUT, removal on DELETE and INTERNAL -> EXTERNAL. */
    credentialPort: credentials.port,

    /** For the user service: Alma's social-login invitation mail on POST /users?social_authentication=true. */
    socialInvitePort: { send: socialInvites.send },
    /** The invitation page and the binding after the provider verified (src/domain/sign-in/social-invite.ts). */
    peekSocialInvite: socialInvites.peek,
    takeSocialInvite: socialInvites.take,

    verifyLogin: login.verifyLogin,
    /** The limits around a password checked elsewhere (the LDAP method's bind). */
    loginThrottle,
    /**
     * Alma's op=auth: an application with an API key (read-only will do) asks whether the password
     * is right. It is throttled per end-user address when the key is trusted to give one
     * (clientAddress, from X-Carrel-Client-Address), else per key (throttle.ts).
     */
    async checkPassword(
      actor: Actor,
      institutionId: string,
      identifier: string,
      password: unknown,
      clientAddress: string | null = null,
    ): Promise<'ok' | 'must_change'> {
      authorize(actor, 'users:read', institutionId);
      const key = actor.kind === 'apiKey' ? { id: actor.id, trustsClientAddress: actor.trustsClientAddress === true } : undefined;
      const outcome = await login.checkPassword(institutionId, identifier, password, sourceOf(clientAddress, key));
      if (outcome === 'failed') throw new AppError('AUTHENTICATION_FAILED');
      return outcome;
    },
    changePassword: login.changePassword,

    requestPasswordReset: links.requestPasswordReset,
    resetPasswordWithToken: links.resetPasswordWithToken,
    unlockWithToken: links.unlockWithToken,
    consumeToken: links.consumeToken,
    /** A raw token (shown once) for a link of this kind; used inside the caller's transaction. */
    createToken: links.createToken,

    /** A browser session for the login pages: the raw cookie value is returned once, its hash kept. */
    async createSession(
      user: Pick<User, 'id' | 'institutionId'>,
      opts: { ttlMinutes: number; userAgent?: string | null; clientAddress?: string | null; authMethod?: string },
    ): Promise<{ cookie: string; session: SessionRow }> {
      const cookie = randomBytes(32).toString('base64url');
      const now = clock();
      const session = await insertSession(db, {
        idHash: createHash('sha256').update(cookie).digest(),
        userId: user.id,
        institutionId: user.institutionId,
        authMethod: opts.authMethod ?? 'password',
        now,
        expiresAt: new Date(now.getTime() + opts.ttlMinutes * 60_000),
        userAgent: opts.userAgent?.slice(0, 500) ?? null,
        clientAddress: opts.clientAddress ?? null,
      });
      return { cookie, session };
    },

    /** Break-glass accounts: marking them, and what every sign-in path calls after a success. */
    breakGlass,
    /** For the outage jobs (outage.ts): the toggle of one user in the caller's transaction, and password removal. */
    toggleInTx: accountTypes.toggleInTx,
    removePasswordInTx: credentials.removePassword,

    toggleAccountType: accountTypes.toggleAccountType,
    bulkToggleAccountType: accountTypes.bulkToggleAccountType,
    ...staff,
    /** What the console's Sign-in tab shows (users:read): password, forced change, lock-out, break-glass. */
    signInStatus: signInStatus.signInStatus,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
