// Establishes the actor of an Alma API call from its key: the `apikey` query parameter (the
// OpenAPI scheme) or `Authorization: apikey KEY` (what the client libraries send).
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';

function keyOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^apikey\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1];
  }
  const q = (req.query as { apikey?: unknown } | undefined)?.apikey;
  return typeof q === 'string' && q ? q : undefined;
}

export function apiKeyAuth(app: App) {
  return async (req: FastifyRequest) => {
    const key = keyOf(req);
    if (!key) throw new AppError('UNAUTHORIZED');
    const actor = await app.services.apiKeys.authenticate(key);
    if (!actor) throw new AppError('INVALID_API_KEY');
    req.actor = actor;
  };
}

/** The institution an authenticated Alma call acts in. */
export function institutionOf(req: FastifyRequest): string {
  const actor = req.actor;
  if (!actor || actor.kind !== 'apiKey') throw new AppError('UNAUTHORIZED');
  return actor.institutionId;
}
