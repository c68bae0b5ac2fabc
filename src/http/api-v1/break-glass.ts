// PUT /api/v1/users/{id}/break-glass: mark a user as a break-glass account (or unmark). Every
// sign-in of one is audited and e-mailed to the network's breakGlassNotify addresses
// (domain/identity/break-glass.ts).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

export function breakGlassRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
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
