// Establishes the actor of a /api/v1 call: an API key (`Authorization: apikey KEY`, as on the
// Alma API) or a signed-in staff session (the login pages' cookie), whose active roles decide.
// A session is an ambient credential, so an unsafe method also needs the session's CSRF token in
// X-CSRF-Token (from GET /api/v1/session); a key is not ambient and needs none. What the actor
// may do is decided in the domain, the same for both.
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { csrfTokenMatches } from '../../domain/identity/browser-sessions.js';
import { AppError } from '../../errors.js';
import { readSession } from '../session-cookie.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The session's cookie when a browser session is the actor (GET /api/v1/session derives its token). */
    sessionCookie?: string;
  }
}

export function apiV1Auth(app: App) {
  return async (req: FastifyRequest) => {
    // Carrel's own API answers JSON unless asked otherwise.
    req.wireDefault = 'json';
    const m = /^apikey\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m) {
      const actor = await app.services.apiKeys.authenticate(m[1]!);
      if (!actor) throw new AppError('INVALID_API_KEY');
      req.actor = actor;
      return;
    }
    const cookie = readSession(req);
    if (cookie) {
      const found = await app.services.browserSessions.apiActor(cookie);
      if (!found) throw new AppError('UNAUTHORIZED');
      if (found === 'must_change') throw new AppError('SESSION_PASSWORD_CHANGE_REQUIRED');
      if (!SAFE_METHODS.has(req.method) && !csrfTokenMatches(cookie, req.headers['x-csrf-token'])) throw new AppError('CSRF_TOKEN_INVALID');
      req.actor = found.actor;
      req.sessionCookie = cookie;
      return;
    }
    throw new AppError('UNAUTHORIZED');
  };
}

/** The institution of the caller; /api/v1 routes act there unless they name another it may reach. */
export function callerInstitution(req: FastifyRequest): string {
  const actor = req.actor;
  if (!actor || actor.kind === 'system') throw new AppError('UNAUTHORIZED');
  return actor.institutionId;
}
