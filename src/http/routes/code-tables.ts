// /almaws/v1/conf/code-tables/{name}: the code tables the user object uses, in Alma's shape
// (src/alma/code-table.ts), with Carrel's extra facts per row (managed by SIS, record types
// allowed, named user). PUT replaces a table's rows, as Alma's does; the rules are the domain's
// (src/domain/institutions/code-table-service.ts).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import { codeTableFromJson, codeTableFromXml, codeTableToJson, codeTableToXml, type CodeTableInput } from '../../alma/code-table.js';
import type { CodeTableView } from '../../domain/institutions/code-table-service.js';
import { AppError } from '../../errors.js';
import { apiKeyAuth, institutionOf } from '../alma/api-key-auth.js';
import { requestFormat, responseFormat, send } from '../alma/format.js';

const Params = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const Query = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xml')])),
  apikey: Type.Optional(Type.String()),
});

/** The body of a PUT in the format its Content-Type says. */
export function codeTableInputOf(req: FastifyRequest): CodeTableInput {
  const format = requestFormat(req);
  if (req.body === undefined || req.body === null || req.body === '') {
    throw new AppError('INVALID_BODY', { format: format === 'xml' ? 'XML' : 'JSON', reason: 'the body is empty' });
  }
  if (format === 'json') return codeTableFromJson(req.body);
  if (format === 'xml') return codeTableFromXml(req.body as string);
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', { type: String(req.headers['content-type'] ?? 'none').slice(0, 80) });
}

function sendTable(req: FastifyRequest, reply: FastifyReply, t: CodeTableView) {
  return send(reply, responseFormat(req), { json: () => codeTableToJson(t.name, t.rows), xml: () => codeTableToXml(t.name, t.rows) });
}

export function almaCodeTableRoutes(app: App): FastifyPluginAsyncTypebox {
  const service = app.services.codeTableService;
  return async (server) => {
    server.addHook('onRequest', apiKeyAuth(app));
    server.get(
      '/conf/code-tables/:name',
      {
        schema: {
          summary: 'Read a code table (UserGroups, UserIdentifierTypes, HFrUserRoles.roleType, ...)',
          tags: ['Alma Users API'],
          params: Params,
          querystring: Query,
        },
      },
      async (req, reply) => sendTable(req, reply, await service.show(req.actor!, institutionOf(req), req.params.name)),
    );
    server.put(
      '/conf/code-tables/:name',
      {
        schema: {
          summary: "Replace a code table's rows (a read-write key)",
          description:
            'A code_table with its rows (code, description, enabled, default; managed_by_sis on UserGroups, record_types on ' +
            'UserIdentifierTypes, named_user on roles), JSON or XML as GET answers. A code users still hold cannot be removed: ' +
            'disable it (enabled false). Record types, account types and statuses are fixed; role codes are Alma\'s.',
          tags: ['Alma Users API'],
          params: Params,
          querystring: Query,
        },
      },
      async (req, reply) => sendTable(req, reply, await service.replace(req.actor!, institutionOf(req), req.params.name, codeTableInputOf(req))),
    );
  };
}
