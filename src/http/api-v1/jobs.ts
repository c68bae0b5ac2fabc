// /api/v1/jobs: the job queue as staff and scripts see it (status, progress, timing), the report
// of a load as CSV (record number, line, identifier, outcome, reason), a dry run's changes, an
// export's file, and cancelling. POST /api/v1/exports starts an export job.
import { Readable } from 'node:stream';
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { csvText } from '../../domain/csv.js';
import type { JobRecordError } from '../../model/job.js';
import { callerInstitution } from './auth.js';
import { jobToJson } from './sis-json.js';

const TAGS = ['Jobs'];
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

async function* errorsCsv(rows: AsyncIterable<JobRecordError>): AsyncGenerator<string> {
  yield csvText([['record_number', 'line', 'identifier', 'outcome', 'reason']]);
  for await (const e of rows) yield csvText([[e.recordNumber, e.line ?? '', e.identifier ?? '', e.outcome, e.reason]]);
}

export function jobRoutes(app: App): FastifyPluginAsyncTypebox {
  const { jobs, sis } = app.services;
  return async (server) => {
    server.get(
      '/jobs',
      {
        schema: {
          summary: 'List jobs, newest first',
          tags: TAGS,
          querystring: Type.Object({
            status: Type.Optional(Type.String({ description: 'queued, running, succeeded, failed or cancelled' })),
            kind: Type.Optional(Type.String({ description: 'A kind of job, e.g. sis.load or sis.export' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          }),
        },
      },
      async (req) => ({ job: (await jobs.list(req.actor!, callerInstitution(req), req.query)).map((j) => jobToJson(j, jobs.shapeOf(j))) }),
    );

    server.get(
      '/jobs/:id',
      { schema: { summary: 'A job: status, progress counters, timing, result', tags: TAGS, params: IdParams } },
      async (req) => {
        const job = await jobs.get(req.actor!, callerInstitution(req), req.params.id);
        return jobToJson(job, jobs.shapeOf(job));
      },
    );

    server.get(
      '/jobs/:id/errors',
      { schema: { summary: 'The records a load failed or skipped, as CSV', tags: TAGS, params: IdParams } },
      async (req, reply) => {
        const institutionId = callerInstitution(req);
        await jobs.get(req.actor!, institutionId, req.params.id);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="job-${req.params.id}-errors.csv"`)
          .send(Readable.from(errorsCsv(jobs.errors(req.actor!, institutionId, req.params.id))));
      },
    );

    server.get(
      '/jobs/:id/changes',
      {
        schema: {
          summary: "A dry run's field-level changes (before/after per field), a page at a time",
          tags: TAGS,
          params: IdParams,
          querystring: Type.Object({
            after: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Record number to continue after' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          }),
        },
      },
      async (req) => {
        const changes = await sis.changes(req.actor!, callerInstitution(req), req.params.id, req.query.after ?? 0, req.query.limit ?? 100);
        return {
          change: changes.map((c) => ({ record_number: c.recordNumber, action: c.action, identifier: c.identifier, changes: c.changes })),
          next_after: changes.at(-1)?.recordNumber ?? null,
        };
      },
    );

    server.get(
      '/jobs/:id/result',
      { schema: { summary: "An export's file", tags: TAGS, params: IdParams } },
      async (req, reply) => {
        const { file, content } = await jobs.result(req.actor!, callerInstitution(req), req.params.id);
        return reply
          .type(file.contentType)
          .header('content-length', String(file.size))
          .header('content-disposition', `attachment; filename="${file.name}"`)
          .send(Readable.from(content));
      },
    );

    server.post(
      '/jobs/:id/cancel',
      {
        schema: {
          summary: 'Cancel a job',
          description: 'A queued job is cancelled at once; a running load stops at its next batch (what committed stays).',
          tags: TAGS,
          params: IdParams,
        },
      },
      async (req, reply) => {
        const job = await jobs.cancel(req.actor!, callerInstitution(req), req.params.id);
        return reply.status(202).send(jobToJson(job, jobs.shapeOf(job)));
      },
    );

    server.post(
      '/exports',
      {
        schema: {
          summary: 'Start an export of users (Alma user XML or CSV)',
          tags: TAGS,
          body: Type.Object(
            {
              format: Type.Union([Type.Literal('xml'), Type.Literal('csv')]),
              zip: Type.Optional(Type.Boolean({ description: 'Zip the file (default false)' })),
              since: Type.Optional(Type.String({ description: 'Only users changed on or after this date (YYYY-MM-DD)' })),
              profile: Type.Optional(Type.String({ description: 'Only the users of this SIS profile; CSV uses its mapping' })),
              user_group: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (req, reply) => {
        const b = req.body;
        const job = await sis.startExport(req.actor!, callerInstitution(req), {
          format: b.format,
          zip: b.zip,
          since: b.since,
          profileCode: b.profile,
          userGroup: b.user_group,
        });
        return reply.status(202).header('location', `/api/v1/jobs/${job.id}`).send(jobToJson(job, jobs.shapeOf(job)));
      },
    );
  };
}
