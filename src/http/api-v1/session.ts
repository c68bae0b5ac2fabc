// GET /api/v1/session: who is signed in, with what roles, and the CSRF token a page sends back in
// X-CSRF-Token on every unsafe /api/v1 call. Same-origin only (no CORS), so another site's
// page cannot read the token even though the browser sends the cookie.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { PERMISSIONS, permissionsOf } from '../../domain/access/actor.js';
import { csrfTokenOf } from '../../domain/identity/browser-sessions.js';
import { AppError } from '../../errors.js';
import { clearSession } from '../session-cookie.js';
import { callerInstitution } from './auth.js';

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
              permissions: Type.Array(Type.String({ enum: [...PERMISSIONS] }), {
                description: 'What this caller may do in its institution (from its roles, decided by the server): a page shows only these actions',
              }),
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
        const permissions = permissionsOf(actor, actor.institutionId);
        if (actor.kind === 'apiKey') return { kind: 'api_key' as const, institution: institution.code, label: actor.label, roles: [], permissions, csrf_token: null };
        return {
          kind: 'staff' as const,
          institution: institution.code,
          primary_id: actor.primaryId,
          roles: actor.roles.map((r) => ({ role_type: r.roleType, scope: r.scope })),
          permissions,
          csrf_token: req.sessionCookie ? csrfTokenOf(req.sessionCookie) : null,
        };
      },
    );

    // Signing out from the console: the session ends and its cookie goes (X-CSRF-Token, as any unsafe call).
    server.delete(
      '/session',
      { schema: { summary: 'Sign out: end this browser session', tags: ['Identity'], response: { 204: Type.Null() } } },
      async (req, reply) => {
        if (!req.sessionCookie) throw new AppError('UNAUTHORIZED');
        const institution = await app.services.institutions.byId(callerInstitution(req));
        await app.services.browserSessions.signOut(req.sessionCookie);
        clearSession(reply, institution.code);
        return reply.status(204).send(null);
      },
    );
  };
}
