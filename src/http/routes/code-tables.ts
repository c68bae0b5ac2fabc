// /almaws/v1/conf/code-tables/{name}: the code tables the user object uses, in Alma's shape,
// with Carrel's extra facts per row (managed by SIS, record types allowed, named user).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { XMLBuilder } from 'fast-xml-parser';
import type { App } from '../../app.js';
import type { CodeValue } from '../../model/code-tables.js';
import { AppError } from '../../errors.js';
import { apiKeyAuth, institutionOf } from '../alma/api-key-auth.js';
import { responseFormat, send } from '../alma/format.js';

const xml = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false, format: false });

function row(v: CodeValue): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  if ('managedBySis' in v.attributes) extra.managed_by_sis = v.attributes.managedBySis === true;
  if (Array.isArray(v.attributes.recordTypes)) extra.record_types = v.attributes.recordTypes;
  if ('namedUser' in v.attributes) extra.named_user = v.attributes.namedUser === true;
  return { code: v.code, description: v.description, default: false, enabled: v.enabled, ...extra };
}

export function almaCodeTableRoutes(app: App): FastifyPluginAsyncTypebox {
  return async (server) => {
    server.addHook('onRequest', apiKeyAuth(app));
    server.get(
      '/conf/code-tables/:name',
      {
        schema: {
          summary: 'Read a code table (UserGroups, UserIdentifierTypes, HFrUserRoles.roleType, ...)',
          tags: ['Alma Users API'],
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
          querystring: Type.Object({
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xml')])),
            apikey: Type.Optional(Type.String()),
          }),
        },
      },
      async (req, reply) => {
        const tables = await app.services.codeTables.forInstitution(institutionOf(req));
        const name = tables.names().find((n) => n.toLowerCase() === req.params.name.toLowerCase());
        if (!name) throw new AppError('INVALID_PARAMETER', { reason: `no code table named ${req.params.name.slice(0, 100)}` });
        const rows = tables.list(name).map(row);
        return send(reply, responseFormat(req), {
          json: () => ({ name, description: name, row: rows }),
          xml: () =>
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
            xml.build({
              code_table: {
                name,
                description: name,
                rows: {
                  row: rows.map((r) => ({
                    ...r,
                    record_types: r.record_types ? { record_type: r.record_types } : undefined,
                  })),
                },
              },
            }),
        });
      },
    );
  };
}
