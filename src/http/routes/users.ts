// /almaws/v1/users: Alma's Users API. Each handler reads the request, calls one use case and
// writes the answer in the format asked for. The same routes serve staff sessions at
// /api/v1/users (the console): the same use cases and format, only who the caller is and where
// it acts come from the session instead of a key (userRoutes' `institution`).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { User, UserInput } from '../../model/user.js';
import { AppError } from '../../errors.js';
import { apiKeyAuth, institutionOf } from '../alma/api-key-auth.js';
import { requestFormat, responseFormat, send, sendText } from '../alma/format.js';
import { almaJsonToUserInput, userToAlmaJson } from '../../alma/user-json.js';
import { almaXmlToUserInput, userToAlmaXml } from '../../alma/user-xml.js';
import { usersListToJson, usersListToXml } from '../../alma/users-list.js';
import { linkBase } from '../proxies.js';

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xml')], { description: 'Response format; else Accept, else XML' }));
const ApiKey = Type.Optional(Type.String({ description: 'API key (or send Authorization: apikey KEY)' }));
const UserIdType = Type.Optional(
  Type.String({ maxLength: 64, description: 'all_unique (default), an identifier type code, or linking_id' }),
);
const UserIdParams = Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' }) });
const IfMatch = Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'ETag of the version read (Carrel, beyond Alma)' })) });

const USER_BODY_DOC =
  'An Alma user object (rest_user.xsd) as JSON or XML, per Content-Type. Passwords are accepted on write and never returned.';

/** ETags carry the record version; If-Match takes "N", W/"N" or *. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (!header || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (!m) throw new AppError('INVALID_PARAMETER', { reason: 'If-Match must be an ETag this API returned' });
  return Number(m[1]);
}

function userInputOf(req: FastifyRequest): UserInput {
  const format = requestFormat(req);
  if (req.body === undefined || req.body === null || req.body === '') {
    throw new AppError('INVALID_BODY', { format: format === 'json' ? 'JSON' : 'XML', reason: 'the body is empty' });
  }
  if (format === 'json') return almaJsonToUserInput(req.body);
  if (format === 'xml') return almaXmlToUserInput(req.body as string);
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', { type: String(req.headers['content-type'] ?? 'none').slice(0, 80) });
}

export function almaUserRoutes(app: App): FastifyPluginAsyncTypebox {
  return userRoutes(app, { auth: apiKeyAuth(app), institution: institutionOf, tag: 'Alma Users API' });
}

export interface UserRouteOptions {
  /** Establishes req.actor (the Alma API's key); absent when a surrounding hook did (/api/v1). */
  auth?: (req: FastifyRequest) => Promise<void>;
  /** The institution the caller acts in. */
  institution: (req: FastifyRequest) => string;
  tag: string;
  /** Carrel's exact filters on the list (record_type, account_type, status, user_group): /api/v1 only. */
  filters?: boolean;
}

const Filters = {
  record_type: Type.Optional(Type.String({ maxLength: 64, description: 'Exact record type code (Carrel, beyond Alma)' })),
  account_type: Type.Optional(Type.String({ maxLength: 64, description: 'INTERNAL or EXTERNAL (Carrel, beyond Alma)' })),
  status: Type.Optional(Type.String({ maxLength: 64, description: 'ACTIVE or INACTIVE (Carrel, beyond Alma)' })),
  user_group: Type.Optional(Type.String({ maxLength: 255, description: 'Exact user group code (Carrel, beyond Alma)' })),
};

const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 1000, description: 'field~value[ AND field~value]' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  order_by: Type.Optional(Type.String({ description: 'last_name, first_name or primary_id; on /api/v1 also relevance (last names that begin with the text first, the total counted up to 1,000: total_record_count_exact)' })),
  expand: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('full')])),
  modify_date_from: Type.Optional(Type.String({ description: 'yyyy-MM-dd; not with q' })),
  format: Format,
  apikey: ApiKey,
});
const ListQueryFiltered = Type.Object({ ...ListQuery.properties, ...Filters });

export function userRoutes(app: App, o: UserRouteOptions): FastifyPluginAsyncTypebox {
  const { users, userDocuments, codeTables } = app.services;
  const institutionOf = o.institution;
  const tags = [o.tag];

  async function sendUser(req: FastifyRequest, reply: FastifyReply, user: User, view: 'full' | 'brief' = 'full') {
    const tables = await codeTables.forInstitution(user.institutionId);
    const opts = { baseUrl: linkBase(app.config, req), view, institution: tables.institution };
    reply.header('etag', `"${user.version}"`);
    return send(reply, responseFormat(req), {
      json: () => userToAlmaJson(user, tables, opts),
      xml: () => userToAlmaXml(user, tables, opts),
    });
  }

  return async (server) => {
    if (o.auth) server.addHook('onRequest', o.auth);

    server.get(
      '/users',
      {
        schema: {
          summary: 'Search users (brief search)',
          tags,
          // Typed as the Alma list's; the filters are read below when this mount has them.
          querystring: (o.filters ? ListQueryFiltered : ListQuery) as typeof ListQuery,
        },
      },
      async (req, reply) => {
        const institutionId = institutionOf(req);
        const q = req.query as typeof req.query & { [K in keyof typeof Filters]?: string };
        const full = q.expand === 'full';
        const params = { q: q.q, limit: q.limit, offset: q.offset, order_by: q.order_by, modify_date_from: q.modify_date_from };
        const filters = o.filters ? { record_type: q.record_type, account_type: q.account_type, status: q.status, user_group: q.user_group } : undefined;
        const result = await users.search(req.actor!, institutionId, { ...params, filters, extended: o.filters }, full);
        const tables = await codeTables.forInstitution(institutionId);
        const list = { total: result.total, totalExact: result.totalExact, users: result.users ?? result.rows };
        const opts = { baseUrl: linkBase(app.config, req), institution: tables.institution };
        return send(reply, responseFormat(req), {
          json: () => usersListToJson(list, tables, opts),
          xml: () => usersListToXml(list, tables, opts),
        });
      },
    );

    server.get(
      '/users/:user_id',
      {
        schema: {
          summary: 'Get a user by primary id or any identifier',
          tags,
          params: UserIdParams,
          querystring: Type.Object({
            user_id_type: UserIdType,
            view: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('brief')])),
            expand: Type.Optional(Type.String({ description: 'loans,requests,fees (answered as not available)' })),
            format: Format,
            apikey: ApiKey,
          }),
        },
      },
      async (req, reply) => {
        const { user_id_type: idType, view } = req.query;
        if ((!idType || idType === 'all_unique') && view !== 'brief') {
          // The common case: the stored document (domain/users/user-documents.ts), sent as is.
          const format = responseFormat(req);
          const doc = await userDocuments.read(req.actor!, institutionOf(req), req.params.user_id, format, linkBase(app.config, req));
          reply.header('etag', `"${doc.version}"`);
          return sendText(reply, format, doc.body);
        }
        const user = await users.get(req.actor!, institutionOf(req), req.params.user_id, { idType });
        return sendUser(req, reply, user, view ?? 'full');
      },
    );

    server.post(
      '/users',
      {
        schema: {
          summary: 'Create a user',
          description: USER_BODY_DOC,
          tags,
          querystring: Type.Object({
            social_authentication: Type.Optional(Type.Boolean({ description: 'Mail the user a one-time link to bind a social login (Google, Facebook, X); the user needs an e-mail address' })),
            send_pin_number_letter: Type.Optional(Type.Boolean()),
            format: Format,
            apikey: ApiKey,
          }),
        },
      },
      async (req, reply) =>
        sendUser(req, reply, await users.create(req.actor!, institutionOf(req), userInputOf(req), { socialAuthentication: req.query.social_authentication === true })),
    );

    server.put(
      '/users/:user_id',
      {
        schema: {
          summary: 'Replace a user (swap all; roles kept when absent)',
          description: USER_BODY_DOC,
          tags,
          params: UserIdParams,
          headers: IfMatch,
          querystring: Type.Object({
            user_id_type: UserIdType,
            override: Type.Optional(Type.String({ description: 'Protected fields to overwrite, comma-separated' })),
            send_pin_number_letter: Type.Optional(Type.Boolean()),
            format: Format,
            apikey: ApiKey,
          }),
        },
      },
      async (req, reply) => {
        const user = await users.replace(req.actor!, institutionOf(req), req.params.user_id, userInputOf(req), {
          idType: req.query.user_id_type,
          override: req.query.override?.split(','),
          ifMatch: ifMatchVersion(req.headers['if-match']),
        });
        return sendUser(req, reply, user);
      },
    );

    server.delete(
      '/users/:user_id',
      {
        schema: {
          summary: 'Delete a user (and its password)',
          tags,
          params: UserIdParams,
          headers: IfMatch,
          querystring: Type.Object({ user_id_type: UserIdType, format: Format, apikey: ApiKey }),
        },
      },
      async (req, reply) => {
        await users.remove(req.actor!, institutionOf(req), req.params.user_id, {
          idType: req.query.user_id_type,
          ifMatch: ifMatchVersion(req.headers['if-match']),
        });
        return reply.status(204).send();
      },
    );
  };
}
