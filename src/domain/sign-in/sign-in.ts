// The sign-in service: every login method's way in. A module proves who the person is (method.ts);
// this service keeps the redirect methods' flows, asks the module, matches what it verified to a
// user in one indexed query (the method's `match`: primary_id or an identifier type, compared
// case-insensitively as the unique indexes are), refuses an unknown, inactive or expired user
// (or creates an unknown one just in time when the method says so, through the one write path),
// and hands the user to the one sessions function (browser-sessions.ts: establish).
//
// Flows: begin() stores a flow (the module's state, the return URL) under the SHA-256 of a random
// flow id, for ten minutes, used once. The id goes to the browser twice: in a cookie (HttpOnly,
// SameSite=Lax, path /auth/{institution}/) and where the protocol carries state (OIDC `state`,
// SAML RelayState, the CAS service URL). An OIDC or CAS callback is a top-level GET navigation,
// so the Lax cookie arrives and the flow is found by it: a callback in another browser (a link
// an attacker sends, to sign the victim in as the attacker) finds no flow. A SAML POST to the ACS
// is cross-site, so a Lax cookie does not arrive: there the flow is found by RelayState, and the
// SAML module binds the answer to the request by checking InResponseTo against the request id it
// kept in the flow.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../db/database.js';
import { institutionHasPasswords } from '../../db/queries/identity-credentials.js';
import { listLoginMethods } from '../../db/queries/login-methods.js';
import { insertLoginFlow, pruneLoginFlows, takeLoginFlow } from '../../db/queries/login-flows.js';
import { claimSingleUse, pruneSingleUse } from '../../db/queries/single-use.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import type { Institution } from '../../model/institution.js';
import { MATCH_PRIMARY_ID, type LoginMethod } from '../../model/login-method.js';
import type { SessionUser, User } from '../../model/user.js';
import type { BrowserSessions, SignInMeta } from '../identity/browser-sessions.js';
import type { LoginThrottle } from '../identity/login-throttle.js';
import { sourceOf } from '../identity/throttle.js';
import { auditSignIn } from '../identity/sign-in-audit.js';
import { configProblem } from './login-methods.js';
import { isRefusal, type Callback, type MethodContext, type MethodModule, type Refusal, type Verified } from './method.js';
import { methodModules } from './methods/index.js';
import { safeReturnTo, withReturn } from './return-to.js';
import { methodUrls } from './urls.js';
import type { JitCreator } from './jit.js';
import { INVITE_FLOW_KEY, type SocialInviteBinder } from './social-invite.js';
import { ttlCache } from '../ttl-cache.js';

export const FLOW_MINUTES = 10;
const FLOW_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** What the person is told (never the module's reason): each has its own page. */
export type RefusalKind =
  /** The counterpart could not be reached: the page says so and offers local login. */
  | 'unavailable'
  /** The counterpart said no, or its answer did not hold up. */
  | 'failed'
  /** Verified, but no library account goes with it (and the method creates none). */
  | 'unknown_user'
  | 'inactive'
  | 'expired'
  /** The account refuses a second live session. */
  | 'in_use'
  /** A social invitation that is used or expired, or a social account already bound to someone else. */
  | 'invite_failed';

export type SignInOutcome =
  | { kind: 'ok'; cookie: string; user: SessionUser; mustChange: boolean; inUseElsewhere: boolean; returnTo: string | null }
  | { kind: 'refused'; refusal: RefusalKind };

export interface Begun {
  redirect: string;
  /** The flow id: the route sets it as the flow cookie. */
  flowId: string;
}

/** A usable method: enabled, with a module, and a stored config that still fits it. */
export interface LiveMethod {
  method: LoginMethod;
  module: MethodModule;
}

export interface SignInDeps {
  db: Db;
  clock: () => Date;
  publicUrl: string;
  sessions: Pick<BrowserSessions, 'establish'>;
  /** The local password's limits (login-throttle.ts): a password method's checks count there too. */
  throttle: LoginThrottle;
  jit: JitCreator;
  /** Alma's social invitation: binds the verified social id to the invited user (social-invite.ts). */
  invites?: SocialInviteBinder;
  log?: (msg: string, detail: Record<string, unknown>) => void;
}

/** Errors that mean the counterpart is not answering, whoever threw them. */
function looksUnreachable(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string }; name?: string; message?: string };
  const code = e?.code ?? e?.cause?.code ?? '';
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_)/.test(code)
    || e?.name === 'TimeoutError' || e?.name === 'AbortError' || /fetch failed/i.test(e?.message ?? '');
}

/**
 * How long a process may go on using an institution's login methods as it read them (every login
 * page and sign-in reads them): the login-method service forgets them at once in its own process
 * (src/app.ts wires forgetMethods), other processes see a change within this.
 */
const METHODS_TTL_MS = 5_000;

export function createSignIn({ db, clock, publicUrl, sessions, throttle, jit, invites, log }: SignInDeps) {
  let lastPrune = 0;
  const methodsOf = ttlCache(METHODS_TTL_MS, (institutionId: string) => listLoginMethods(db, institutionId));
  // Whether anyone here has a local password: the login page shows its form if so.
  const passwordsIn = ttlCache(METHODS_TTL_MS, (institutionId: string) => institutionHasPasswords(db, institutionId));

  async function prune(now: Date) {
    if (now.getTime() - lastPrune < 600_000) return;
    lastPrune = now.getTime();
    await pruneLoginFlows(db, new Date(now.getTime() - 3_600_000));
    await pruneSingleUse(db, now);
  }

  function contextOf(institution: Institution, live: LiveMethod): MethodContext<Record<string, unknown>> {
    const urls = methodUrls(publicUrl, institution.code, live.method.code);
    return {
      method: live.method,
      institution,
      urls: { callback: urls.callback, acs: urls.acs, metadata: urls.metadata },
      clock,
      async firstUse(key: string, until: Date) {
        const now = clock();
        await prune(now);
        return claimSingleUse(db, sha256(key), until, now);
      },
    };
  }

  /** The institution's method with this code, usable now; LOGIN_METHOD_NOT_FOUND otherwise. */
  async function live(institution: Institution, code: string): Promise<LiveMethod> {
    const wanted = typeof code === 'string' && code.length <= 40 ? code.toLowerCase() : undefined;
    const method = wanted === undefined ? undefined : (await methodsOf.get(institution.id)).find((m) => m.code.toLowerCase() === wanted);
    const module = method && methodModules.get(method.type);
    if (!method || !method.enabled || !module) throw new AppError('LOGIN_METHOD_NOT_FOUND', { code: String(code).slice(0, 40) });
    const problem = configProblem(module, method.config);
    if (problem) {
      // A stored config a newer module no longer accepts: the method is off until it is fixed.
      log?.('login method disabled: its stored config does not fit its module', { method: method.code, problem });
      throw new AppError('LOGIN_METHOD_NOT_FOUND', { code: method.code });
    }
    return { method, module };
  }

  async function refuse(institution: Institution, method: string, meta: SignInMeta, refusal: Refusal, user?: User, kind?: RefusalKind): Promise<SignInOutcome> {
    // The audit reason is the page's when it says more than "failed" (unknown_user), else the module's.
    const reason = kind && kind !== 'failed' && kind !== 'unavailable' ? kind : refusal.refused;
    await auditSignIn(db, { institutionId: institution.id, user, method, address: meta.clientAddress, reason, detail: refusal.detail });
    return { kind: 'refused', refusal: kind ?? (refusal.refused === 'unavailable' ? 'unavailable' : 'failed') };
  }

  /** A module's call, with its failures turned into refusals (an unreachable counterpart, a bug). */
  async function guarded(call: () => Promise<Verified | Refusal>): Promise<Verified | Refusal> {
    try {
      return await call();
    } catch (err) {
      if (looksUnreachable(err)) return { refused: 'unavailable', detail: (err as Error).message?.slice(0, 200) };
      log?.('login method failed', { err: (err as Error)?.message });
      return { refused: 'invalid_response', detail: `module error: ${(err as Error)?.message?.slice(0, 200) ?? 'unknown'}` };
    }
  }

  /**
   * What a module verified, to a session: the match (one indexed query), the account's state, JIT
   * when the method allows it, and establish().
   */
  async function complete(institution: Institution, method: LoginMethod, verified: Verified, meta: SignInMeta, returnTo: string | null): Promise<SignInOutcome> {
    const subject = typeof verified.subject === 'string' ? verified.subject.trim() : '';
    if (!subject || subject.length > 255) {
      return refuse(institution, method.code, meta, { refused: 'invalid_response', detail: 'no usable subject' });
    }
    let user = await findUserByIdentifier(db, institution.id, subject, method.match === MATCH_PRIMARY_ID ? 'primary_id' : method.match);
    let created = false;
    if (!user && method.jit) {
      const made = await jit.create(institution, method, { ...verified, subject });
      if ('error' in made) {
        return refuse(institution, method.code, meta, { refused: 'invalid_response', detail: `just-in-time creation refused: ${made.error}` }, undefined, 'unknown_user');
      }
      user = made.user;
      created = true;
    }
    // The subject goes to the audit log (campus IT needs it to fix a mapping), never to the page.
    if (!user) return refuse(institution, method.code, meta, { refused: 'invalid_response', detail: `no user has ${method.match} ${subject.slice(0, 100)}` }, undefined, 'unknown_user');
    return admit(institution, method, user, meta, returnTo, created);
  }

  /** The user a method stands for, if the account may sign in now: establish() and where to go. */
  async function admit(institution: Institution, method: LoginMethod, user: User, meta: SignInMeta, returnTo: string | null, created = false): Promise<SignInOutcome> {
    if (user.status !== 'ACTIVE') return refuseUser(institution, method.code, meta, user, 'inactive');
    // A contact is a record, not an account: the page says what it says to an inactive user.
    if (user.recordType === 'CONTACT') return refuseUser(institution, method.code, meta, user, 'inactive', 'contact');
    if (isExpired(user)) return refuseUser(institution, method.code, meta, user, 'expired');
    const result = await sessions.establish(user, { method: method.code, mustChange: false, meta, ...(created ? { extra: { jit: true } } : {}) });
    if (result.kind === 'refused_in_use') return { kind: 'refused', refusal: 'in_use' };
    return { ...result, returnTo: safeReturnTo(returnTo, institution.code) };
  }

  /** An expiry date in the past (a date without time: the account works through that day). */
  function isExpired(user: User): boolean {
    return !!user.expiryDate && user.expiryDate < clock().toISOString().slice(0, 10);
  }

  async function refuseUser(institution: Institution, method: string, meta: SignInMeta, user: User, kind: 'inactive' | 'expired', reason: string = kind): Promise<SignInOutcome> {
    await auditSignIn(db, { institutionId: institution.id, user, method, address: meta.clientAddress, reason });
    return { kind: 'refused', refusal: kind };
  }

  return {
    /**
     * What the login page offers: the enabled methods with a module and a config that fits, in
     * order, and whether anyone here has a local password (then the page shows its form too).
     */
    async choices(institution: Institution): Promise<{ methods: { code: string; label: string; kind: MethodModule['kind'] }[]; localPasswords: boolean }> {
      const [all, localPasswords] = await Promise.all([methodsOf.get(institution.id), passwordsIn.get(institution.id)]);
      const methods = all.flatMap((method) => {
        const module = methodModules.get(method.type);
        if (!method.enabled || !module || configProblem(module, method.config)) return [];
        return [{ code: method.code, label: method.label, kind: module.kind }];
      });
      return { methods, localPasswords };
    },

    live,
    /** The institution's login methods changed (or were deleted): read them again next time. */
    forgetMethods: (institutionId: string) => methodsOf.forget(institutionId),
    complete,
    admit,
    refuse,
    isExpired,
    contextOf,

    /** The first leg of a redirect method: a flow kept ten minutes, and where to send the browser. */
    async begin(
      institution: Institution,
      code: string,
      returnTo: unknown,
      meta: SignInMeta,
      opts: { invite?: string; params?: Record<string, string> } = {},
    ): Promise<Begun | { kind: 'refused'; refusal: RefusalKind }> {
      const m = await live(institution, code);
      if (m.module.kind !== 'redirect') throw new AppError('LOGIN_METHOD_NOT_FOUND', { code });
      const flowId = randomBytes(32).toString('base64url');
      const now = clock();
      let started;
      try {
        started = await m.module.start(contextOf(institution, m), flowId, opts.params ?? {});
      } catch (err) {
        const unreachable = looksUnreachable(err);
        if (!unreachable) log?.('login method failed to start', { method: m.method.code, err: (err as Error)?.message });
        const outcome = await refuse(institution, m.method.code, meta, { refused: 'unavailable', detail: `start: ${(err as Error)?.message?.slice(0, 200)}` });
        return outcome as { kind: 'refused'; refusal: RefusalKind };
      }
      const back = safeReturnTo(returnTo, institution.code);
      await insertLoginFlow(db, {
        idHash: sha256(flowId),
        institutionId: institution.id,
        methodId: m.method.id,
        // A social invitation's token id rides in the flow (never the raw token, never the URL).
        data: opts.invite ? { ...started.flow, [INVITE_FLOW_KEY]: opts.invite } : started.flow,
        returnTo: back,
        now,
        expiresAt: new Date(now.getTime() + FLOW_MINUTES * 60_000),
      });
      await prune(now);
      return { redirect: started.chooser && back ? withReturn(started.redirect, back) : started.redirect, flowId };
    },

    /**
     * The callback (or the SAML ACS): the flow by its id (the cookie's, or RelayState at the ACS),
     * used once; the module's verdict; then complete().
     */
    async finish(institution: Institution, code: string, flowId: string | undefined, callback: Callback, meta: SignInMeta): Promise<SignInOutcome> {
      const m = await live(institution, code);
      if (m.module.kind !== 'redirect') throw new AppError('LOGIN_METHOD_NOT_FOUND', { code });
      const flow = flowId && FLOW_ID_SHAPE.test(flowId) ? await takeLoginFlow(db, sha256(flowId), clock()) : undefined;
      if (!flow || flow.institutionId !== institution.id || flow.methodId !== m.method.id) {
        return refuse(institution, m.method.code, meta, { refused: 'state', detail: flow ? 'flow of another method' : 'no live flow (unknown, used or expired)' });
      }
      const mod = m.module;
      const verified = await guarded(() => mod.finish(contextOf(institution, m), callback, flow.data));
      if (isRefusal(verified)) return refuse(institution, m.method.code, meta, verified);
      const invite = flow.data[INVITE_FLOW_KEY];
      if (invite) {
        const bound = invites ? await invites.bind(institution, m.method, verified, invite) : { refused: 'not_social' as const, detail: 'no invitations here' };
        if ('refused' in bound) {
          return refuse(institution, m.method.code, meta, { refused: 'invalid_response', detail: `social invitation: ${bound.refused}: ${bound.detail}` }, undefined, 'invite_failed');
        }
        return admit(institution, m.method, bound.user, meta, flow.returnTo, false);
      }
      return complete(institution, m.method, verified, meta, flow.returnTo);
    },

    /**
     * A password method (LDAP): the module checks the user name and password, inside the local
     * password's throttle (login-throttle.ts). The account is the user the typed name matches as an
     * identifier (as on the local form), else the hashed name. A refused source is answered like a
     * wrong password and never reaches the directory; a refused bind counts as a guess; a bind that
     * succeeds ends the streak, and the source becomes familiar to the user who signed in.
     */
    async verifyPassword(institution: Institution, method: string | LiveMethod, username: unknown, password: unknown, returnTo: unknown, meta: SignInMeta): Promise<SignInOutcome> {
      // The route has usually looked the method up already (live()): no second lookup then.
      const m = typeof method === 'string' ? await live(institution, method) : method;
      if (m.module.kind !== 'password' || m.method.institutionId !== institution.id) throw new AppError('LOGIN_METHOD_NOT_FOUND', { code: m.method.code });
      const name = typeof username === 'string' ? username.trim() : '';
      // An empty password must never reach a directory (an anonymous bind "succeeds").
      if (!name || name.length > 255 || typeof password !== 'string' || password === '' || password.length > 1024) {
        return refuse(institution, m.method.code, meta, { refused: 'bad_credentials', detail: 'empty or oversized user name or password' });
      }
      const at = await throttle.find(institution.id, name, sourceOf(meta.clientAddress), clock());
      if (!throttle.admitted(at)) {
        await throttle.failed(at, false);
        return refuse(institution, m.method.code, meta, { refused: 'bad_credentials', detail: 'throttled: not sent to the directory' });
      }
      const mod = m.module;
      const verified = await guarded(() => mod.verify(contextOf(institution, m), name, password));
      if (isRefusal(verified)) {
        // Only a wrong password (or a name the directory does not have: the same answer) is a guess;
        // a directory that is down or answers oddly is not the person's doing.
        if (verified.refused === 'bad_credentials') await throttle.failed(at, true);
        return refuse(institution, m.method.code, meta, verified);
      }
      await throttle.succeeded(at);
      const outcome = await complete(institution, m.method, verified, meta, typeof returnTo === 'string' ? returnTo : null);
      if (outcome.kind === 'ok') {
        const knownAt = at.found?.user?.id === outcome.user.id ? at.found.state.knownAt : null;
        await throttle.familiar(outcome.user.id, at.source, knownAt, at.now);
      }
      return outcome;
    },
  };
}

export type SignIn = ReturnType<typeof createSignIn>;
