// /api/v1/users/{id}/manual-edits: the protected fields staff or an API key edited by hand, which
// SIS loads keep (each with its value, who and when), and "restore" (Alma's Restore button), which
// hands them back to the SIS feed. A staff session restores with its CSRF token (auth.ts).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import type { ManualEditListing } from '../../domain/users/manual-edits.js';
import { callerInstitution } from './auth.js';

const TAGS = ['SIS integration'];
const UserParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' }) });

function listingToJson({ user, entries }: ManualEditListing) {
  return {
    primary_id: user.primaryId,
    version: user.version,
    manual_edits: entries.map((e) => ({
      field: e.field,
      value: e.value,
      edited_by: { type: e.editedBy.type, label: e.editedBy.label },
      edited_at: e.editedAt,
      kept_by_sis: e.keptBySis,
    })),
  };
}

export function manualEditRoutes(app: App): FastifyPluginAsyncTypebox {
  const { manualEdits } = app.services;
  return async (server) => {
    server.get(
      '/users/:user_id/manual-edits',
      {
        schema: {
          summary: 'Protected fields edited by hand (kept by SIS loads)',
          description:
            'Each field (Alma\'s name) with its current value, who edited it (`staff` or `api_key`, with the staff user\'s ' +
            'primary id or the key\'s label; no label for an edit from before Carrel kept origins), when, and whether the next ' +
            'load of the user\'s profile keeps it (an API key\'s edit is not kept when the profile sets `apiKeyEditsAreManual: false`).',
          tags: TAGS,
          params: UserParams,
        },
      },
      async (req) => listingToJson(await manualEdits.list(req.actor!, callerInstitution(req), req.params.user_id)),
    );

    server.post(
      '/users/:user_id/manual-edits/restore',
      {
        schema: {
          summary: 'Restore protected fields to SIS control',
          description:
            'Removes the fields (Alma\'s names, e.g. user_group) from the manual edits (all of them when `fields` is empty or absent); ' +
            'the next SIS load sets them from its file. Needs write access: a read-write key, or a staff session (with X-CSRF-Token) ' +
            'whose roles may edit users. Answers the remaining manual edits, as GET does.',
          tags: TAGS,
          params: UserParams,
          body: Type.Optional(Type.Object({ fields: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })) })),
        },
      },
      async (req) => listingToJson(await manualEdits.restore(req.actor!, callerInstitution(req), req.params.user_id, req.body?.fields ?? [])),
    );
  };
}
