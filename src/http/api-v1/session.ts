// GET /api/v1/session: who is signed in, with what roles, and the CSRF token a page sends back in
// X-CSRF-Token on every unsafe /api/v1 call. Same-origin only (no CORS), so another site's
// page cannot read the token even though the browser sends the cookie.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { csrfTokenOf } from '../../domain/identity/browser-sessions.js';
import { AppError } from '../../errors.js';

export function sessionRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.get(
      '/session',
      {
        schema: {
          summary: 'The signed-in session: user, institution, roles and its CSRF token',
          description: 'For a browser signed in on /auth/{institution}/login. An API key gets its label and no token (it needs none).',
          tags: ['Identity'],
          response: {
            200: Type.Object({
              kind: Type.Union([Type.Literal('staff'), Type.Literal('api_key')]),
              institution: Type.String({ description: 'Institution code' }),
              primary_id: Type.Optional(Type.String()),
              label: Type.Optional(Type.String()),
              roles: Type.Array(Type.Object({ role_type: Type.String(), scope: Type.String() })),
              csrf_token: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (req, reply) => {
        const actor = req.actor;
        if (!actor || actor.kind === 'system') throw new AppError('UNAUTHORIZED');
        const institution = await app.services.institutions.byId(actor.institutionId);
        reply.header('cache-control', 'no-store');
        if (actor.kind === 'apiKey') return { kind: 'api_key' as const, institution: institution.code, label: actor.label, roles: [], csrf_token: null };
        return {
          kind: 'staff' as const,
          institution: institution.code,
          primary_id: actor.primaryId,
          roles: actor.roles.map((r) => ({ role_type: r.roleType, scope: r.scope })),
          csrf_token: req.sessionCookie ? csrfTokenOf(req.sessionCookie) : null,
        };
      },
    );
  };
}
