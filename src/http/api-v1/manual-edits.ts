// /api/v1/users/{id}/manual-edits: the protected fields staff edited by hand, which SIS loads
// keep, and "restore" (Alma's Restore button), which hands them back to the SIS feed.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const TAGS = ['SIS integration'];
const UserParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' }) });

export function manualEditRoutes(app: App): FastifyPluginAsyncTypebox {
  const { users, manualEdits } = app.services;
  return async (server) => {
    server.get(
      '/users/:user_id/manual-edits',
      { schema: { summary: 'Protected fields edited by hand (kept by SIS loads)', tags: TAGS, params: UserParams } },
      async (req) => {
        const user = await users.get(req.actor!, callerInstitution(req), req.params.user_id);
        return { primary_id: user.primaryId, manual_edits: user.manualEdits, version: user.version };
      },
    );

    server.post(
      '/users/:user_id/manual-edits/restore',
      {
        schema: {
          summary: 'Restore protected fields to SIS control',
          description: 'Removes the fields from the manual edits (all of them when `fields` is empty or absent); the next SIS load sets them from its file.',
          tags: TAGS,
          params: UserParams,
          body: Type.Optional(Type.Object({ fields: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })) })),
        },
      },
      async (req) => {
        const user = await manualEdits.restore(req.actor!, callerInstitution(req), req.params.user_id, req.body?.fields ?? []);
        return { primary_id: user.primaryId, manual_edits: user.manualEdits, version: user.version };
      },
    );
  };
}
