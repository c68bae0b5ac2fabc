// PUT /api/v1/users/{id}/break-glass: mark a user as a break-glass account (or unmark). Every
// sign-in of one is audited and e-mailed to the network's breakGlassNotify addresses
// (domain/identity/break-glass.ts). GET /api/v1/break-glass: who they are (the outage page).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export function breakGlassRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.get(
      '/break-glass',
      {
        schema: {
          summary: "The institution's break-glass accounts",
          description:
            'By name. usable_password: a local password the login form would accept (an ACTIVE user who may hold one); last_sign_in from the sign-in audit (any method). Needs credentials:manage.',
          tags: ['Identity'],
          response: {
            200: Type.Object({
              break_glass_account: Type.Array(
                Type.Object({
                  primary_id: Type.String(),
                  first_name: Nullable(Type.String()),
                  last_name: Nullable(Type.String()),
                  usable_password: Type.Boolean(),
                  last_sign_in: Nullable(Type.String()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => ({
        break_glass_account: (await app.services.identity.breakGlass.list(req.actor!, callerInstitution(req))).map((a) => ({
          primary_id: a.primaryId,
          first_name: a.firstName,
          last_name: a.lastName,
          usable_password: a.usablePassword,
          last_sign_in: a.lastSignIn?.toISOString() ?? null,
        })),
      }),
    );

    server.put(
      '/users/:user_id/break-glass',
      {
        schema: {
          summary: 'Mark or unmark a break-glass account',
          description: "Every sign-in of a break-glass account is audited (break_glass.sign_in) and e-mailed to the network's breakGlassNotify addresses.",
          tags: ['Identity'],
          params: Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255 }) }),
          body: Type.Object({ break_glass: Type.Boolean() }, { additionalProperties: false }),
          response: { 200: Type.Object({ break_glass: Type.Boolean() }) },
        },
      },
      async (req) => {
        await app.services.identity.breakGlass.setBreakGlass(req.actor!, callerInstitution(req), req.params.user_id, req.body.break_glass);
        return { break_glass: req.body.break_glass };
      },
    );
  };
}
