// GET /api/v1/sign-in-events: every sign-in and failed sign-in of the institution (audit events
// 'sign_in' and 'sign_in.failed'), newest first, filtered by user, method, outcome and time.
// Permission credentials:manage, decided in domain/identity/sign-in-events.ts.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

export function signInEventRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.get(
      '/sign-in-events',
      {
        schema: {
          summary: 'Sign-in events (successful and failed), newest first',
          description:
            'A page at a time: pass next_before of one answer as `before` for the next. A failed attempt names the user only ' +
            'when the name given was one of theirs; the name typed is never stored.',
          tags: ['Identity'],
          querystring: Type.Object({
            user: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' })),
            method: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Login method code ('password' for the local form)" })),
            outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
            since: Type.Optional(Type.String({ format: 'date-time', description: 'Only events at or after this time (ISO 8601)' })),
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only events older than this event id' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
          }),
        },
      },
      async (req) => {
        const q = req.query;
        const { events, nextBefore } = await app.services.signInEvents.list(req.actor!, callerInstitution(req), {
          user: q.user,
          method: q.method,
          outcome: q.outcome,
          since: q.since === undefined ? undefined : new Date(q.since),
          before: q.before,
          limit: q.limit ?? 100,
        });
        return {
          event: events.map((e) => ({
            id: e.id,
            occurred_at: e.occurredAt.toISOString(),
            outcome: e.action === 'sign_in' ? 'success' : 'failure',
            user_id: e.entityLabel,
            method: e.context?.method ?? null,
            address: e.context?.address ?? null,
            reason: e.context?.reason ?? null,
          })),
          next_before: nextBefore,
        };
      },
    );
  };
}
