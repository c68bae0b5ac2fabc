// GET /api/v1/users/{user_id}/history: the audit events about one user, newest first (the
// console's History tab). Who sees what is decided in domain/audit/user-history.ts.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

export function userHistoryRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.get(
      '/users/:user_id/history',
      {
        schema: {
          summary: "A user's history: audit events about the user, newest first",
          tags: ['Users (staff)'],
          params: Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' }) }),
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }),
        },
      },
      async (req) => {
        const events = await app.services.userHistory.list(req.actor!, callerInstitution(req), req.params.user_id, req.query.limit ?? 100);
        return {
          event: events.map((e) => ({
            id: e.id,
            occurred_at: e.occurredAt.toISOString(),
            action: e.action,
            actor: { type: e.actorType, label: e.actorLabel },
            changes: e.changes,
            context: e.context ?? {},
          })),
        };
      },
    );
  };
}
