// PUT /api/v1/users/{id}/session-policy: what happens when a shared account signs in while it
// already has a live session elsewhere (allow, warn, refuse).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const Policy = Type.Union([Type.Literal('allow'), Type.Literal('warn'), Type.Literal('refuse')]);

export function sessionPolicyRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.put(
      '/users/:user_id/session-policy',
      {
        schema: {
          summary: 'Shared accounts: allow, warn about, or refuse a second live session',
          tags: ['Identity'],
          params: Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255 }) }),
          body: Type.Object({ concurrent_sessions: Policy }, { additionalProperties: false }),
          response: { 200: Type.Object({ concurrent_sessions: Policy }) },
        },
      },
      async (req) => {
        await app.services.browserSessions.setSessionPolicy(req.actor!, callerInstitution(req), req.params.user_id, req.body.concurrent_sessions);
        return { concurrent_sessions: req.body.concurrent_sessions };
      },
    );
  };
}
