// Browser sessions for the login pages: sign in (a fresh session id every time, so a fixated
// cookie is worthless), idle and absolute timeouts, shared-account warning or refusal, sign out.
// The cookie value is a random secret returned once; only its SHA-256 is stored.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/database.js';
import { findCredential, setConcurrentSessions, type CredentialRow } from '../../db/queries/identity-credentials.js';
import {
  findLiveSessionByHash,
  listLiveSessions,
  revokeSessions,
  touchSession,
  type SessionRow,
} from '../../db/queries/identity-sessions.js';
import { findUserById, findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { authorize, staffActor, type Actor } from '../access/actor.js';
import { auditSignIn, namedUser } from './sign-in-events.js';
import { auditIdentity } from './identity-audit.js';
import type { User } from '../../model/user.js';
import type { IdentityService } from './identity-service.js';

export interface BrowserSessionOptions {
  idleMinutes: number;
  absoluteMinutes: number;
}

export type SignInResult =
  | { kind: 'failed' }
  /** The account is set to refuse a second live session (a shared back-up admin). */
  | { kind: 'refused_in_use' }
  | { kind: 'ok'; cookie: string; user: User; mustChange: boolean; inUseElsewhere: boolean };

export interface ResolvedSession {
  session: SessionRow;
  user: User;
  mustChange: boolean;
}

const hashOf = (cookie: string) => createHash('sha256').update(cookie).digest();

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
// Touching a session on every page view would be a write per click; once a minute keeps the idle
// timeout exact to the minute.
const TOUCH_EVERY_MS = 60_000;

export function createBrowserSessions(db: Db, identity: IdentityService, clock: () => Date, opts: BrowserSessionOptions) {
  async function find(cookie: string | undefined): Promise<SessionRow | undefined> {
    if (!cookie || cookie.length > 100) return undefined;
    const now = clock();
    const session = await findLiveSessionByHash(db, hashOf(cookie), now);
    if (!session) return undefined;
    if (now.getTime() - session.lastSeenAt.getTime() > opts.idleMinutes * 60_000) {
      await revokeSessions(db, session.userId, now, { sessionId: session.id });
      return undefined;
    }
    return session;
  }

  /** The signed-in user behind a cookie, or undefined when it is unknown, expired or idle too long. */
  async function resolve(cookie: string | undefined): Promise<ResolvedSession | undefined> {
    const session = await find(cookie);
    if (!session) return undefined;
    const now = clock();
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_EVERY_MS) await touchSession(db, session.id, now);
    const user = await findUserById(db, session.userId);
    if (!user || user.status !== 'ACTIVE') return undefined;
    const credential = await findCredential(db, user.id);
    return { session, user, mustChange: credential?.mustChange === true };
  }

  return {
    async signIn(
      institutionId: string,
      identifier: unknown,
      password: unknown,
      meta: { clientAddress: string | null; userAgent: string | null; previousCookie?: string | undefined },
    ): Promise<SignInResult> {
      const result = await identity.verifyLogin(institutionId, typeof identifier === 'string' ? identifier : '', password, meta.clientAddress);
      const attempt = { institutionId, method: 'password', address: meta.clientAddress };
      if (result.outcome === 'failed') {
        // One reason whatever it was: the login never says, and the audit needs no more to count.
        await auditSignIn(db, { ...attempt, user: await namedUser(db, institutionId, identifier), outcome: 'failure', reason: 'bad_credentials' });
        return { kind: 'failed' };
      }
      const user = result.user;
      const previous = await find(meta.previousCookie);
      const now = clock();
      const live = (await listLiveSessions(db, user.id, now)).filter((s) => s.id !== previous?.id);
      const credential = await findCredential(db, user.id);
      const policy = credential?.concurrentSessions ?? 'allow';
      if (live.length > 0 && policy === 'refuse') {
        await auditSignIn(db, { ...attempt, user, outcome: 'failure', reason: 'in_use' });
        return { kind: 'refused_in_use' };
      }
      // Rotation: whatever session this browser had ends here; the new one gets a new id.
      if (previous) await revokeSessions(db, previous.userId, now, { sessionId: previous.id });
      const { cookie, session } = await identity.createSession(user, {
        ttlMinutes: opts.absoluteMinutes,
        userAgent: meta.userAgent,
        clientAddress: meta.clientAddress,
      });
      await auditSignIn(db, { ...attempt, user, outcome: 'success', sessionId: session.id });
      await identity.breakGlass.noteSignIn(user, { method: 'password', address: meta.clientAddress, userAgent: meta.userAgent, sessionId: session.id });
      return {
        kind: 'ok',
        cookie,
        user,
        mustChange: result.outcome === 'must_change' || credential?.mustChange === true,
        inUseElsewhere: live.length > 0 && policy === 'warn',
      };
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
