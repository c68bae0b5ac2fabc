// The browser session cookie, in one place: one session per browser, path `/` (the login pages
// under /auth/{institution}, the staff console at `/` and /api/v1 all read it), HttpOnly,
// SameSite=Lax (a sign-in callback from an IdP is a top-level navigation and must carry it),
// Secure everywhere but plain-HTTP localhost. @fastify/cookie is registered once, in server.ts.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'carrel_session';
/** A redirect method's flow id (src/domain/sign-in/sign-in.ts says why it is a cookie). */
export const FLOW_COOKIE = 'carrel_flow';

function isLocal(req: FastifyRequest): boolean {
  return /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(req.host);
}

/** Secure cookies everywhere but plain-HTTP localhost, where a browser would drop them. */
export function secureCookies(req: FastifyRequest): boolean {
  return req.protocol === 'https' || !isLocal(req);
}

export function readSession(req: FastifyRequest): string | undefined {
  return req.cookies[SESSION_COOKIE];
}

/**
 * Sets the session cookie. Releases before this one scoped it to /auth/{institution}: a browser
 * sends the longer path's cookie first, so that one is cleared whenever the institution is known.
 */
export function setSession(req: FastifyRequest, reply: FastifyReply, value: string, institutionCode?: string): void {
  reply.setCookie(SESSION_COOKIE, value, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies(req) });
  if (institutionCode) reply.clearCookie(SESSION_COOKIE, { path: `/auth/${encodeURIComponent(institutionCode)}` });
}

export function clearSession(reply: FastifyReply, institutionCode?: string): void {
  if (institutionCode) reply.clearCookie(SESSION_COOKIE, { path: `/auth/${encodeURIComponent(institutionCode)}` });
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

const flowPath = (institutionCode: string) => `/auth/${encodeURIComponent(institutionCode)}/`;

export function setFlow(req: FastifyRequest, reply: FastifyReply, institutionCode: string, flowId: string, maxAgeSeconds: number): void {
  reply.setCookie(FLOW_COOKIE, flowId, { path: flowPath(institutionCode), httpOnly: true, sameSite: 'lax', secure: secureCookies(req), maxAge: maxAgeSeconds });
}

export function readFlow(req: FastifyRequest): string | undefined {
  return req.cookies[FLOW_COOKIE];
}

export function clearFlow(reply: FastifyReply, institutionCode: string): void {
  reply.clearCookie(FLOW_COOKIE, { path: flowPath(institutionCode) });
}
