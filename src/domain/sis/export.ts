// The export job ('sis.export'): users (all, changed since a date, of one SIS profile, of one
// user group) written in the SIS formats a load reads: Alma user XML (plain or zipped) or CSV
// (the profile's mapping, or a default one). Users are read a page at a time by keyset and the
// output goes to the file store as it is produced, so memory stays flat for any number of
// users. Credentials are never written: the user record has none, and the XML leaves out even
// the empty password and PIN elements. A crashed export simply starts over.
import { Zip, ZipDeflate } from 'fflate';
import { Type, type Static } from 'typebox';
import type { Db } from '../../db/database.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { findProfileByCode } from '../../db/queries/integration-profiles.js';
import { deleteJobFiles } from '../../db/queries/job-files.js';
import { countUsersForExport, findUsersForExport, type ExportFilter } from '../../db/queries/user-batches.js';
import { userToSisXmlElement } from '../../alma/user-xml.js';
import { XML_DECLARATION } from '../../alma/xml-codec.js';
import { csvText } from '../csv.js';
import type { CodeTableCache } from '../institutions/code-tables.js';
import type { FileStore, FileWriter } from '../jobs/file-store.js';
import { defineJobKind, type JobContext, type JobOutcome } from '../jobs/job.js';
import { SIS_LOAD_COUNTERS } from '../../model/sis-load.js';
import { DEFAULT_EXPORT_MAPPING, userToCsvValues } from './csv-mapping.js';

export const SIS_EXPORT = 'sis.export';

export const ExportPayloadSchema = Type.Object(
  {
    format: Type.Union([Type.Literal('xml'), Type.Literal('csv')]),
    zip: Type.Boolean(),
    /** Only users changed on or after this date. */
    since: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    // No length bound beyond the API's own: what was accepted before the schema still is.
    profileCode: Type.Optional(Type.String({ minLength: 1 })),
    userGroup: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type ExportPayload = Static<typeof ExportPayloadSchema>;

export interface SisExportDeps {
  db: Db;
  codeTables: CodeTableCache;
  files: FileStore;
  pageSize: number;
  /** Base of the links inside the users (unused in SIS files, required by the mapping). */
  baseUrl: string;
}

/** Text in, bytes out to the store: straight, or through a streaming zip with one entry. */
function output(writer: FileWriter, zipEntry: string | null) {
  if (!zipEntry) {
    return { write: (s: string) => writer.write(Buffer.from(s, 'utf8')), end: async () => {} };
  }
  const queue: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    queue.push(data);
  });
  const entry = new ZipDeflate(zipEntry, { level: 6 });
  zip.add(entry);
  const drain = async () => {
    while (queue.length) await writer.write(queue.shift()!);
  };
  return {
    async write(s: string) {
      entry.push(Buffer.from(s, 'utf8'));
      await drain();
    },
    async end() {
      entry.push(new Uint8Array(0), true);
      zip.end();
      await drain();
    },
  };
}

/**
 * The sis.export kind as the job queue runs it. Its counters are a load's (read = users written),
 * so an export's progress reads in the API as it always has.
 */
export function sisExportKind(deps: SisExportDeps) {
  return defineJobKind({
    kind: SIS_EXPORT,
    payload: ExportPayloadSchema,
    permission: 'sis:manage',
    counters: SIS_LOAD_COUNTERS,
    resultFile: true,
    handler: createSisExportHandler(deps),
  });
}

function createSisExportHandler(deps: SisExportDeps) {
  const { db, files } = deps;
  return async function runExport(ctx: JobContext<ExportPayload>): Promise<JobOutcome> {
    const { job, payload: p } = ctx;
    const institution = await findInstitutionById(db, job.institutionId);
    if (!institution) return { status: 'failed', error: 'the institution was deleted' };
    const tables = await deps.codeTables.forInstitution(institution.id);
    const profile = p.profileCode ? await findProfileByCode(db, institution.id, p.profileCode) : undefined;
    if (p.profileCode && !profile) return { status: 'failed', error: `integration profile ${p.profileCode} does not exist` };
    const mapping = profile?.csvMapping ?? DEFAULT_EXPORT_MAPPING;
    const filter: ExportFilter = { institutionId: institution.id, since: p.since, profileCode: profile?.code, userGroup: p.userGroup };

    // A restarted export starts over: whatever an earlier attempt wrote is dropped.
    await deleteJobFiles(db, job.id, 'result');
    const total = await countUsersForExport(db, filter);
    const stamp = new Date().toISOString().slice(0, 10);
    const base = `${institution.code}-users-${stamp}`;
    const inner = `${base}.${p.format}`;
    const writer = await files.writer({
      institutionId: institution.id,
      jobId: job.id,
      role: 'result',
      name: p.zip ? `${base}.zip` : inner,
      contentType: p.zip ? 'application/zip' : p.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/xml; charset=utf-8',
    });
    const out = output(writer, p.zip ? inner : null);
    const opts = { baseUrl: deps.baseUrl, institution: tables.institution };
    await out.write(p.format === 'csv' ? csvText([Object.keys(mapping)]) : `${XML_DECLARATION}\n<users>\n`);

    let written = 0;
    for (let after: string | null = null; ; ) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const users = await findUsersForExport(db, filter, after, deps.pageSize);
      if (!users.length) break;
      const text =
        p.format === 'csv'
          ? csvText(users.map((u) => userToCsvValues(u, mapping)))
          : users.map((u) => `${userToSisXmlElement(u, tables, opts)}\n`).join('');
      await out.write(text);
      written += users.length;
      after = users.at(-1)!.id;
      const now = await ctx.report({ counters: { read: written }, checkpoint: {}, total });
      if (now.cancelRequested) return { status: 'cancelled', result: { written } };
    }
    if (p.format === 'xml') await out.write('</users>\n');
    await out.end();
    const stored = await writer.end();
    return { status: 'succeeded', result: { fileId: stored.id, size: stored.size, sha256: stored.sha256, users: written } };
  };
}
