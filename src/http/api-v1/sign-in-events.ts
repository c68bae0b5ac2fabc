// GET /api/v1/sign-in-events: the institution's sign-ins and failed sign-ins, newest first
// (method, user when known, client address, reason). Page back with ?before={id of the last}.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { SIGN_IN_EVENTS_MAX } from '../../domain/sign-in/sign-in-events.js';
import { callerInstitution } from './auth.js';

export function signInEventRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.get(
      '/sign-in-events',
      {
        schema: {
          summary: 'Sign-ins and failed sign-ins, newest first',
          tags: ['Login methods'],
          querystring: Type.Object({
            user: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Any identifier of one user' })),
            failed: Type.Optional(Type.Boolean({ description: 'Failed sign-ins only' })),
            before: Type.Optional(Type.Integer({ minimum: 1, description: 'Events older than this id (the last id of the previous page)' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SIGN_IN_EVENTS_MAX })),
          }),
        },
      },
      async (req) => {
        const events = await app.services.signInEvents.list(req.actor!, callerInstitution(req), {
          user: req.query.user,
          failedOnly: req.query.failed === true,
          before: req.query.before,
          limit: req.query.limit,
        });
        return {
          sign_in_event: events.map((e) => ({
            id: e.id,
            occurred_at: e.occurredAt.toISOString(),
            outcome: e.action === 'sign_in' ? 'signed_in' : 'failed',
            method: e.context?.method ?? null,
            user: e.entityId ? { primary_id: e.entityLabel } : null,
            address: e.context?.address ?? null,
            reason: e.context?.reason ?? null,
            detail: e.context?.detail ?? null,
          })),
        };
      },
    );
  };
}
