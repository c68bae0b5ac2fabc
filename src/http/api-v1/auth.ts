// Establishes the actor of a /api/v1 call: an API key (`Authorization: apikey KEY`, as on the
// Alma API) or a signed-in staff session. What the actor may do is decided in the domain.
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';

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
    throw new AppError('UNAUTHORIZED');
  };
}

/** The institution of the caller; /api/v1 routes act there unless they name another it may reach. */
export function callerInstitution(req: FastifyRequest): string {
  const actor = req.actor;
  if (!actor || actor.kind === 'system') throw new AppError('UNAUTHORIZED');
  return actor.institutionId;
}
