// /api/v1/code-tables: the institution's code tables for staff pages and scripts, JSON only.
// GET: any actor that may read users (a desk fills its forms from them); PUT: config:manage (a
// General System Administrator's session with its CSRF token, or a read-write key). The rows are
// those of Alma's code_table (src/alma/code-table.ts); the rules are the domain's.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { codeRowOut, codeTableFromJson } from '../../alma/code-table.js';
import type { CodeTableView } from '../../domain/institutions/code-table-service.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Code tables'];
const Params = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });

const tableJson = (t: CodeTableView) => ({ name: t.name, editable: t.editable, row: t.rows.map(codeRowOut) });

export function codeTableRoutes(app: App): FastifyPluginAsyncTypebox {
  const service = app.services.codeTableService;
  return async (server) => {
    server.get('/code-tables', { schema: { summary: "The institution's code tables, with their row counts", tags: TAGS } }, async (req) => ({
      code_table: (await service.list(req.actor!, callerInstitution(req))).map((t) => ({ name: t.name, rows: t.rows, editable: t.editable })),
    }));
    server.get('/code-tables/:name', { schema: { summary: 'One code table with its rows', tags: TAGS, params: Params } }, async (req) =>
      tableJson(await service.show(req.actor!, callerInstitution(req), req.params.name)),
    );
    server.put(
      '/code-tables/:name',
      {
        schema: {
          summary: "Replace a code table's rows (as Alma's PUT /conf/code-tables/{name}, JSON)",
          description: '{"row": [{"code", "description", "enabled", "default", "managed_by_sis" | "record_types" | "named_user"}]}',
          tags: TAGS,
          params: Params,
        },
      },
      async (req) => tableJson(await service.replace(req.actor!, callerInstitution(req), req.params.name, codeTableFromJson(req.body))),
    );
  };
}
