// The SSO outage in three calls (domain/identity/outage.ts decides; permission credentials:manage):
//   POST /api/v1/outage/toggle                   a set of EXTERNAL staff to INTERNAL, as a job
//   POST /api/v1/jobs/{id}/temporary-passwords   the job's temporary passwords as CSV, once
//   POST /api/v1/jobs/{id}/revert                everyone that job toggled back, as a job
// The job's progress and report are GET /api/v1/jobs/{id} and /errors, like any job.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';
import { jobToJson } from './sis-json.js';

const TAGS = ['Identity'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export function outageRoutes(app: App): FastifyPluginAsyncTypebox {
  const { outage, jobs } = app.services;
  return async (server) => {
    server.post(
      '/outage/toggle',
      {
        schema: {
          summary: 'SSO outage: toggle a set of EXTERNAL staff to INTERNAL (a job)',
          description:
            'Name the users (user_ids: primary ids or identifiers) or a query over ACTIVE EXTERNAL users (record_type, user_group, role). ' +
            'method link e-mails each a set-password link; temporary_password gives each a random password with a forced change, ' +
            'readable once with the download_token of this answer (shown once, never stored) at POST /api/v1/jobs/{id}/temporary-passwords. ' +
            'Users who are not EXTERNAL, or have no external id to restore, are skipped and reported.',
          tags: TAGS,
          body: Type.Object(
            {
              user_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 5000 })),
              query: Type.Optional(
                Type.Object(
                  {
                    record_type: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
                    user_group: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
                    role: Type.Optional(Type.String({ minLength: 1, maxLength: 20, description: 'A role type code the user holds, e.g. 50' })),
                  },
                  { additionalProperties: false, minProperties: 1 },
                ),
              ),
              method: Type.Union([Type.Literal('link'), Type.Literal('temporary_password')]),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const b = req.body;
        const { job, downloadToken } = await outage.startToggle(req.actor!, callerInstitution(req), {
          userIds: b.user_ids,
          query: b.query && { recordType: b.query.record_type, userGroup: b.query.user_group, role: b.query.role },
          method: b.method,
        });
        return reply
          .status(202)
          .header('location', `/api/v1/jobs/${job.id}`)
          .header('cache-control', 'no-store')
          .send({ ...jobToJson(job, jobs.shapeOf(job)), ...(downloadToken ? { download_token: downloadToken } : {}) });
      },
    );

    server.post(
      '/jobs/:id/temporary-passwords',
      {
        schema: {
          summary: "An outage toggle's temporary passwords as CSV, once",
          description: 'The download_token of the toggle answer opens them; after one download they are gone (410). A wrong token changes nothing (403).',
          tags: TAGS,
          params: IdParams,
          body: Type.Object({ download_token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        },
      },
      async (req, reply) => {
        const csv = await outage.downloadPasswords(req.actor!, callerInstitution(req), req.params.id, req.body.download_token);
        return reply
          .type('text/csv; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="temporary-passwords-${req.params.id}.csv"`)
          .send(csv);
      },
    );

    server.post(
      '/jobs/:id/revert',
      {
        schema: {
          summary: 'SSO back: toggle back everyone this outage job toggled (a job)',
          description:
            'Exactly the users the job toggled that are still INTERNAL from it: each gets its external id back and loses the local ' +
            'password (a temporary one even with the password fallback). Users toggled by hand since are left alone and reported. One live revert per job.',
          tags: TAGS,
          params: IdParams,
        },
      },
      async (req, reply) => {
        const job = await outage.revert(req.actor!, callerInstitution(req), req.params.id);
        return reply.status(202).header('location', `/api/v1/jobs/${job.id}`).send(jobToJson(job, jobs.shapeOf(job)));
      },
    );
  };
}
