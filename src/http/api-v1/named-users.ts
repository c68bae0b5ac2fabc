// /api/v1/named-users: the named-user licence report (domain/institutions/named-users.ts, which
// decides who sees what; permission named-users:report).
//   GET  /named-users                 counts (institution, network), licence, warning line, state, by role
//   GET  /named-users/history?days=90 the daily counts
//   POST /named-users/history         today's snapshot now (idempotent per day)
//   GET  /named-users/users           the institution's named users, their named roles, last sign-in
//   GET  /named-users/users.csv       the same as CSV
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Named users'];
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Count = Type.Object({ code: Type.String(), name: Type.String(), count: Type.Integer() });
const RoleFilter = Type.Optional(Type.String({ minLength: 1, maxLength: 20, pattern: '^[A-Za-z0-9_-]+$', description: 'Only holders of this role type (a code, e.g. 50)' }));

export function namedUserRoutes(app: App): FastifyPluginAsyncTypebox {
  const { namedUsers } = app.services;
  return async (server) => {
    server.get(
      '/named-users',
      {
        schema: {
          summary: 'Named users against the network licence',
          description:
            'Named users: active, unexpired users with at least one active, unexpired role of a named-user type. state is ok (below the ' +
            'warning line, or no licence tracked), warning (from warn_line), at_limit (equal to the licence) or over. The network zone ' +
            'sees every member institution; a member sees its own count and the network total. roles: this institution\'s named users per named ' +
            'role type, most held first (a user holding two is counted under each, so they may add up to more than count).',
          tags: TAGS,
          response: {
            200: Type.Object({
              institution: Count,
              network: Type.Union([
                Type.Object({
                  code: Type.String(),
                  name: Type.String(),
                  count: Type.Integer(),
                  licence: Type.Union([Type.Integer(), Type.Null()]),
                  warn_line: Type.Union([Type.Integer(), Type.Null()]),
                  at_limit: Type.String(),
                  state: Type.String(),
                }),
                Type.Null(),
              ]),
              institutions: Type.Array(Count),
              roles: Type.Array(Type.Object({ role_type: Type.String(), count: Type.Integer() })),
            }),
          },
        },
      },
      async (req) => {
        const r = await namedUsers.report(req.actor!, callerInstitution(req));
        const n = r.network;
        return {
          institution: r.institution,
          network: n && { code: n.code, name: n.name, count: n.count, licence: n.licence, warn_line: n.warnLine, at_limit: n.atLimit, state: n.state },
          institutions: r.institutions,
          roles: r.roles.map((x) => ({ role_type: x.roleType, count: x.count })),
        };
      },
    );

    server.get(
      '/named-users/history',
      {
        schema: {
          summary: 'Daily named-user counts, newest first',
          description: "count is this institution's, network_count the network's (null outside a network). Taken daily by the job worker.",
          tags: TAGS,
          querystring: Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3660, default: 90 })) }),
          response: {
            200: Type.Object({
              days: Type.Array(Type.Object({ day: Type.String(), count: Type.Union([Type.Integer(), Type.Null()]), network_count: Type.Union([Type.Integer(), Type.Null()]) })),
            }),
          },
        },
      },
      async (req) => {
        const rows = await namedUsers.history(req.actor!, callerInstitution(req), req.query.days ?? 90);
        return { days: rows.map((r) => ({ day: r.day, count: r.count, network_count: r.networkCount })) };
      },
    );

    server.post(
      '/named-users/history',
      {
        preValidation: async (req) => {
          req.body ??= {};
        },
        schema: {
          summary: "Take today's named-user snapshot now",
          description: 'Every institution\'s count for today, replacing an earlier one of the same day.',
          tags: TAGS,
          body: Type.Object({}, { additionalProperties: false }),
          response: { 200: Type.Object({ day: Type.String(), count: Type.Integer() }) },
        },
      },
      async (req) => namedUsers.takeSnapshot(req.actor!, callerInstitution(req)),
    );

    server.get(
      '/named-users/users',
      {
        schema: {
          summary: "The institution's named users",
          description: 'By name; named_roles are the active, unexpired named-user roles; last_sign_in from the sign-in audit (any method).',
          tags: TAGS,
          querystring: Type.Object({
            role: RoleFilter,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 })),
          }),
          response: {
            200: Type.Object({
              total_record_count: Type.Integer(),
              users: Type.Array(
                Type.Object({
                  primary_id: Type.String(),
                  first_name: Nullable(Type.String()),
                  last_name: Nullable(Type.String()),
                  record_type: Type.String(),
                  named_roles: Type.Array(Type.String()),
                  last_sign_in: Nullable(Type.String()),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const q = req.query;
        const { total, rows } = await namedUsers.users(req.actor!, callerInstitution(req), { role: q.role, limit: q.limit ?? 100, offset: q.offset ?? 0 });
        return {
          total_record_count: total,
          users: rows.map((r) => ({
            primary_id: r.primaryId,
            first_name: r.firstName,
            last_name: r.lastName,
            record_type: r.recordType,
            named_roles: r.roles,
            last_sign_in: r.lastSignIn?.toISOString() ?? null,
          })),
        };
      },
    );

    server.get(
      '/named-users/users.csv',
      {
        schema: {
          summary: "The institution's named users as CSV",
          description: 'Columns primary_id, first_name, last_name, record_type, named_roles (space-separated), last_sign_in.',
          tags: TAGS,
          querystring: Type.Object({ role: RoleFilter }),
        },
      },
      async (req, reply) => {
        const csv = await namedUsers.usersCsv(req.actor!, callerInstitution(req), { role: req.query.role });
        return reply
          .type('text/csv; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('content-disposition', 'attachment; filename="named-users.csv"')
          .send(csv);
      },
    );
  };
}
