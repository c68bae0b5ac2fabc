// Browser sessions: one way in (establish: a fresh session id every time, so a fixated cookie is
// worthless; the shared-account policy; the audit event) for the local password and every login
// method alike; idle and absolute timeouts; sign out.
// The cookie value is a random secret returned once; only its SHA-256 is stored.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/database.js';
import { findCredential, setConcurrentSessions, type CredentialRow } from '../../db/queries/identity-credentials.js';
import {
  beginSession,
  findLiveSessionByHash,
  findSignInState,
  revokeSessions,
  touchSession,
  type SessionRow,
} from '../../db/queries/identity-sessions.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, staffActor, type Actor } from '../access/actor.js';
import { auditIdentity } from './identity-audit.js';
import { auditSignIn, signInEvent } from './sign-in-audit.js';
import type { SessionUser, User } from '../../model/user.js';
import type { IdentityService } from './identity-service.js';

export interface BrowserSessionOptions {
  idleMinutes: number;
  absoluteMinutes: number;
}

export type EstablishResult =
  /** The account is set to refuse a second live session (a shared back-up admin). */
  | { kind: 'refused_in_use' }
  | { kind: 'ok'; cookie: string; user: SessionUser; mustChange: boolean; inUseElsewhere: boolean };

export type SignInResult = { kind: 'failed' } | EstablishResult;

export interface SignInMeta {
  clientAddress: string | null;
  userAgent: string | null;
  /** The browser's current session cookie, ended by the new sign-in. */
  previousCookie?: string | undefined;
}

/** auth_method of a session begun with the local password. */
export const PASSWORD_METHOD = 'password';

export interface ResolvedSession {
  session: SessionRow;
  user: User;
  mustChange: boolean;
}

/**
 * The CSRF token of a session for /api/v1: derived from the cookie's secret (keyed, and unlike the
 * stored SHA-256), so it needs no storage, dies with the session, and only a page that can read
 * a same-origin answer (GET /api/v1/session) learns it; the HttpOnly cookie itself never shows.
 */
export function csrfTokenOf(cookie: string): string {
  return createHmac('sha256', cookie).update('carrel /api/v1 csrf').digest('base64url');
}

export function csrfTokenMatches(cookie: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length > 100) return false;
  const want = Buffer.from(csrfTokenOf(cookie));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}

const hashOf = (cookie: string) => createHash('sha256').update(cookie).digest();
// Touching a session on every page view would be a write per click; once a minute keeps the idle
// timeout exact to the minute.
const TOUCH_EVERY_MS = 60_000;

export function createBrowserSessions(db: Db, identity: IdentityService, clock: () => Date, sessionOpts: BrowserSessionOptions) {
  async function find(cookie: string | undefined): Promise<SessionRow | undefined> {
    if (!cookie || cookie.length > 100) return undefined;
    const now = clock();
    const session = await findLiveSessionByHash(db, hashOf(cookie), now);
    if (!session) return undefined;
    if (now.getTime() - session.lastSeenAt.getTime() > sessionOpts.idleMinutes * 60_000) {
      await revokeSessions(db, session.userId, now, { sessionId: session.id });
      return undefined;
    }
    return session;
  }

  /**
   * The one way a browser session begins, whatever proved who the user is (the local password,
   * an IdP, an e-mailed link): rotation (the browser's previous session ends, the new one gets a
   * new id, so a fixated cookie is worthless), the account's concurrent-session policy, the
   * method's code in identity.session.auth_method, and the audit event. Two round trips: one read
   * (policy, flags, live sessions, the previous session) and one write (the previous session ended,
   * the new one, its audit event: one statement, one commit); a break-glass account's mails after.
   */
  async function establish(user: SessionUser, opts: { method: string; mustChange: boolean; meta: SignInMeta; extra?: Record<string, unknown> }): Promise<EstablishResult> {
    const { meta } = opts;
    const now = clock();
    const previousHash = meta.previousCookie && meta.previousCookie.length <= 100 ? hashOf(meta.previousCookie) : null;
    const state = await findSignInState(db, user.id, now, previousHash);
    const policy = state.concurrentSessions;
    if (state.others > 0 && policy === 'refuse') {
      await auditSignIn(db, { institutionId: user.institutionId, user, method: opts.method, address: meta.clientAddress, reason: 'in_use' });
      return { kind: 'refused_in_use' };
    }
    const cookie = randomBytes(32).toString('base64url');
    const sessionId = randomUUID();
    await beginSession(
      db,
      {
        id: sessionId,
        idHash: hashOf(cookie),
        userId: user.id,
        institutionId: user.institutionId,
        authMethod: opts.method,
        now,
        expiresAt: new Date(now.getTime() + sessionOpts.absoluteMinutes * 60_000),
        userAgent: meta.userAgent?.slice(0, 500) ?? null,
        clientAddress: meta.clientAddress,
        // Rotation: whatever session this browser had ends here; the new one gets a new id.
        revokeId: state.previous?.id ?? null,
      },
      signInEvent({
        institutionId: user.institutionId,
        user,
        method: opts.method,
        address: meta.clientAddress,
        extra: { session: sessionId, ...(opts.extra ?? {}) },
      }),
    );
    // A break-glass account's every sign-in is announced to the network (break-glass.ts).
    if (state.breakGlass) {
      await identity.breakGlass.announce(user, { method: opts.method, address: meta.clientAddress, userAgent: meta.userAgent, sessionId });
    }
    // A forced change of the local password holds up a session the password began, no other.
    const mustChange = opts.mustChange || (opts.method === PASSWORD_METHOD && state.mustChange);
    return { kind: 'ok', cookie, user, mustChange, inUseElsewhere: state.others > 0 && policy === 'warn' };
  }

  /** The signed-in user behind a cookie, or undefined when it is unknown, expired or idle too long. */
  async function resolve(cookie: string | undefined): Promise<ResolvedSession | undefined> {
    const session = await find(cookie);
    if (!session) return undefined;
    const now = clock();
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) await touchSession(db, session.id, now);
    const user = await findUserById(db, session.userId);
    if (!user || user.status !== 'ACTIVE') return undefined;
    // A forced password change concerns the local password only: a session an IdP began is not held up by it.
    if (session.authMethod !== PASSWORD_METHOD) return { session, user, mustChange: false };
    const credential = await findCredential(db, user.id);
    return { session, user, mustChange: credential?.mustChange === true };
  }

  return {
    establish,

    /** The local password form: any identifier of the user and the password (login.ts decides). */
    async signIn(institutionId: string, identifier: unknown, password: unknown, meta: SignInMeta): Promise<SignInResult> {
      const id = typeof identifier === 'string' ? identifier : '';
      const result = await identity.verifyLogin(institutionId, id, password, meta.clientAddress);
      if (result.outcome === 'failed') {
        // Who the attempt was against, for the audit log only (the page says the same either way).
        const target = id.trim() && id.length <= 255 ? await findUserByIdentifier(db, institutionId, id.trim()) : undefined;
        await auditSignIn(db, { institutionId, user: target, method: PASSWORD_METHOD, address: meta.clientAddress, reason: 'bad_credentials' });
        return { kind: 'failed' };
      }
      return establish(result.user, { method: PASSWORD_METHOD, mustChange: result.outcome === 'must_change', meta });
    },

    resolve,

    /**
     * The staff actor of a session for /api/v1: its user's active roles decide. Undefined for no
     * session; 'must_change' when the user must first choose a new password (that session may do
     * nothing else).
     */
    async apiActor(cookie: string | undefined): Promise<{ actor: Actor; resolved: ResolvedSession } | 'must_change' | undefined> {
      const resolved = await resolve(cookie);
      if (!resolved) return undefined;
      if (resolved.mustChange) return 'must_change';
      return { actor: staffActor(resolved.user, resolved.session.id, clock()), resolved };
    },

    async signOut(cookie: string | undefined): Promise<void> {
      const session = await find(cookie);
      if (session) await revokeSessions(db, session.userId, clock(), { sessionId: session.id });
    },

    /**
     * Shared accounts (a back-up admin several people know): 'warn' tells whoever signs in that
     * the account is already in use elsewhere, 'refuse' turns the second sign-in away.
     */
    async setSessionPolicy(actor: Actor, institutionId: string, ref: string, policy: CredentialRow['concurrentSessions']): Promise<void> {
      authorize(actor, 'credentials:manage', institutionId);
      await db.transaction(async (tx) => {
        const user = await findUserByIdentifier(tx, institutionId, ref);
        if (!user) throw new AppError('USER_NOT_FOUND', { id: ref });
        const before = (await findCredential(tx, user.id))?.concurrentSessions ?? 'allow';
        await setConcurrentSessions(tx, user.id, institutionId, policy, clock());
        await auditIdentity(tx, actor, 'session.policy', user, {}, { concurrentSessions: { before, after: policy } });
      });
    },

    /** A new password ends every other session of the user; this one goes on. */
    async changePassword(s: ResolvedSession, current: unknown, next: unknown, clientAddress: string | null): Promise<void> {
      await identity.changePassword(s.user.id, current, next, { clientAddress, keepSessionId: s.session.id });
      await revokeSessions(db, s.user.id, clock(), { exceptId: s.session.id });
    },
  };
}

export type BrowserSessions = ReturnType<typeof createBrowserSessions>;
