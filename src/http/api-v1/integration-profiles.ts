// /api/v1/integration-profiles: SIS integration profiles (CRUD) and file uploads that start a load.
// The upload is the raw request body (application/zip, application/xml, text/csv,
// application/x-ndjson), streamed into the file store: this route alone takes files up to
// CARREL_UPLOAD_LIMIT; the rest of the API keeps the normal body limit.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';
import { callerInstitution } from './auth.js';
import { jobToJson, profileInputOf, profileToJson } from './sis-json.js';

const TAGS = ['SIS integration'];
const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });
const ProfileBody = Type.Object(
  {
    code: Type.Optional(Type.String({ description: 'Letters, digits, - and _; the external_id of every user the profile loads' })),
    name: Type.Optional(Type.String()),
    record_type: Type.Optional(Type.String({ description: 'PUBLIC (default), STAFF or CONTACT' })),
    match_by: Type.Optional(Type.String({ description: 'primary_id (default) or an identifier type code, e.g. UNIV_ID' })),
    mode: Type.Optional(Type.String({ description: 'import (create only, skip matches) or synchronize (update matches, add the rest)' })),
    format: Type.Optional(Type.String({ description: 'alma_xml (zipped or not), csv, or jsonl' })),
    csv_mapping: Type.Optional(Type.Unknown({ description: '{"Column header": "field path"}: primary_id, first_name, email:school, identifier:BARCODE, address.city, ...' })),
    drop_folder: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Absolute path polled for files' })),
    poll_seconds: Type.Optional(Type.Integer()),
    deactivate_missing: Type.Optional(Type.Boolean({ description: 'Deactivate this profile\'s users missing from a full file (refused when a record failed)' })),
    settings: Type.Optional(Type.Object({
      settleSeconds: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'A dropped file is taken once unchanged this long (null: the default)' })),
      apiKeyEditsAreManual: Type.Optional(Type.Union([Type.Boolean(), Type.Null()], {
        description: 'Loads keep a protected field an API key edited, as they keep a staff edit (default true; null: the default). false: the file sets it and the mark is dropped',
      })),
    }, { description: 'On PATCH only the settings named change' })),
  },
  { additionalProperties: false },
);

const UPLOAD_TYPES = /^(application\/(zip|x-zip-compressed|xml|x-ndjson|jsonl|x-jsonlines|octet-stream)|text\/(xml|csv|plain))\b/i;
const EXTENSIONS: Record<string, string> = { zip: 'zip', xml: 'xml', csv: 'csv', ndjson: 'jsonl', jsonl: 'jsonl', jsonlines: 'jsonl' };

/** The file's name as given (a header's may be percent-encoded); a bad escape is kept as written. */
function uploadName(disposition: string | undefined, query: string | undefined, contentType: string): string {
  if (query) return query;
  const fromHeader = disposition && /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
  if (fromHeader) {
    try {
      return decodeURIComponent(fromHeader);
    } catch {
      return fromHeader;
    }
  }
  const ext = Object.entries(EXTENSIONS).find(([k]) => contentType.toLowerCase().includes(k))?.[1] ?? 'dat';
  return `upload.${ext}`;
}

export function integrationProfileRoutes(app: App): FastifyPluginAsyncTypebox {
  const { jobs, profiles, sis } = app.services;
  return async (server) => {
    server.get('/integration-profiles', { schema: { summary: 'List integration profiles', tags: TAGS } }, async (req) => ({
      integration_profile: (await profiles.list(req.actor!, callerInstitution(req))).map(profileToJson),
    }));

    server.post(
      '/integration-profiles',
      { schema: { summary: 'Create an integration profile', tags: TAGS, body: ProfileBody } },
      async (req, reply) => reply.status(201).send(profileToJson(await profiles.create(req.actor!, callerInstitution(req), profileInputOf(req.body)))),
    );

    server.get(
      '/integration-profiles/:code',
      { schema: { summary: 'Read an integration profile', tags: TAGS, params: CodeParams } },
      async (req) => profileToJson(await profiles.get(req.actor!, callerInstitution(req), req.params.code)),
    );

    server.patch(
      '/integration-profiles/:code',
      { schema: { summary: 'Change an integration profile (the fields given)', tags: TAGS, params: CodeParams, body: ProfileBody } },
      async (req) => profileToJson(await profiles.update(req.actor!, callerInstitution(req), req.params.code, profileInputOf(req.body))),
    );

    server.delete(
      '/integration-profiles/:code',
      { schema: { summary: 'Delete an integration profile (its users stay)', tags: TAGS, params: CodeParams } },
      async (req, reply) => {
        await profiles.remove(req.actor!, callerInstitution(req), req.params.code);
        return reply.status(204).send();
      },
    );

    server.get(
      '/integration-profiles/:code/imports',
      {
        schema: {
          summary: "A profile's loads, newest first",
          tags: TAGS,
          params: CodeParams,
          querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) }),
        },
      },
      async (req) => ({
        job: (await sis.loads(req.actor!, callerInstitution(req), req.params.code, req.query.limit)).map((j) => jobToJson(j, jobs.shapeOf(j))),
      }),
    );

    // The upload route has its own parser: the body stays a stream, whatever its type.
    const uploads: FastifyPluginAsyncTypebox = async (upload) => {
      upload.removeAllContentTypeParsers();
      upload.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
      upload.post(
        '/integration-profiles/:code/imports',
        {
          schema: {
            summary: 'Upload an SIS file and start its load',
            description:
              'The raw body is the file: application/zip (Alma user XML, or CSV/JSON lines per the profile), application/xml, ' +
              'text/csv or application/x-ndjson. Answers 202 with the job; follow GET /api/v1/jobs/{id}. A file the load refuses ' +
              'as a whole ends the job failed with the reason, and nothing is written.',
            tags: TAGS,
            params: CodeParams,
            querystring: Type.Object({
              dry_run: Type.Optional(Type.Boolean({ description: 'Report and diff only; nothing is written' })),
              deactivate_missing: Type.Optional(Type.Boolean({ description: 'Deactivate the profile\'s users this (full) file does not name' })),
              file_name: Type.Optional(Type.String({ maxLength: 200 })),
            }),
          },
        },
        async (req, reply) => {
          const type = String(req.headers['content-type'] ?? '');
          if (!UPLOAD_TYPES.test(type)) {
            throw new AppError('UNSUPPORTED_MEDIA_TYPE', { type: `${type.slice(0, 60) || 'none'} (send application/zip, application/xml, text/csv or application/x-ndjson)` });
          }
          const job = await sis.startLoad(req.actor!, callerInstitution(req), req.params.code, req.body as Readable, {
            fileName: uploadName(req.headers['content-disposition'], req.query.file_name, type),
            contentType: type,
            dryRun: req.query.dry_run === true,
            deactivateMissing: req.query.deactivate_missing === true,
          });
          return reply.status(202).header('location', `/api/v1/jobs/${job.id}`).send(jobToJson(job, jobs.shapeOf(job)));
        },
      );
    };
    await server.register(uploads);
  };
}
