// /api/v1 reports and the mail outbox of the identity service: INTERNAL users no password lets
// in (Alma's "IdP Service in use = No" list) with its bulk set-password action, and the outbox,
// which is where the mail is when no SMTP server is configured.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Identity'];
const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 500, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
};

export function identityReportRoutes(app: App): FastifyPluginAsyncTypebox {
  const { identity, mail } = app.services;
  return async (server) => {
    server.get(
      '/reports/users-without-password',
      {
        schema: {
          summary: 'INTERNAL users without a usable password',
          description: 'Contacts excluded. Send them set-password links with POST …/send-links.',
          tags: TAGS,
          querystring: Type.Object(Page),
          response: {
            200: Type.Object({
              total_record_count: Type.Integer(),
              users: Type.Array(
                Type.Object({
                  primary_id: Type.String(),
                  first_name: Type.Union([Type.String(), Type.Null()]),
                  last_name: Type.Union([Type.String(), Type.Null()]),
                  record_type: Type.String(),
                  status: Type.String(),
                  email: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { total, rows } = await identity.usersWithoutPassword(req.actor!, callerInstitution(req), {
          limit: req.query.limit ?? 100,
          offset: req.query.offset ?? 0,
        });
        return {
          total_record_count: total,
          users: rows.map((r) => ({
            primary_id: r.primaryId,
            first_name: r.firstName,
            last_name: r.lastName,
            record_type: r.recordType,
            status: r.status,
            email: r.email,
          })),
        };
      },
    );

    server.post(
      '/reports/users-without-password/send-links',
      {
        // No body means "everyone on the report".
        preValidation: async (req) => {
          req.body ??= {};
        },
        schema: {
          summary: 'E-mail a set-password link to the users of the report',
          description: 'To every ACTIVE user of the report with an e-mail address, or only to user_ids when given. The body may be left out.',
          tags: TAGS,
          body: Type.Object({ user_ids: Type.Optional(Type.Array(Type.String({ maxLength: 255 }), { maxItems: 1000 })) }),
          response: {
            200: Type.Object({
              sent: Type.Array(Type.Object({ user_id: Type.String(), to: Type.String() })),
              skipped: Type.Array(Type.Object({ user_id: Type.String(), reason: Type.String() })),
            }),
          },
        },
      },
      async (req) => {
        const r = await identity.sendLinksToUsersWithoutPassword(req.actor!, callerInstitution(req), req.body.user_ids);
        return {
          sent: r.sent.map((s) => ({ user_id: s.userId, to: s.to })),
          skipped: r.skipped.map((s) => ({ user_id: s.userId, reason: s.reason })),
        };
      },
    );

    server.get(
      '/mail-outbox',
      {
        schema: {
          summary: "The institution's outgoing mail, newest first",
          description:
            'Pending messages carry their links (they are how a user gets in when no SMTP server is configured); once a message is ' +
            'sent, its links are redacted.',
          tags: TAGS,
          querystring: Type.Object({
            status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('sent'), Type.Literal('logged'), Type.Literal('failed')])),
            ...Page,
          }),
          response: {
            200: Type.Object({
              total_record_count: Type.Integer(),
              messages: Type.Array(
                Type.Object({
                  id: Type.Integer(),
                  to: Type.String(),
                  subject: Type.String(),
                  text: Type.String(),
                  html: Type.Union([Type.String(), Type.Null()]),
                  status: Type.String(),
                  attempts: Type.Integer(),
                  next_attempt_at: Type.String(),
                  last_error: Type.Union([Type.String(), Type.Null()]),
                  created_at: Type.String(),
                  sent_at: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const { total, rows } = await mail.list(req.actor!, callerInstitution(req), {
          status: req.query.status,
          limit: req.query.limit ?? 100,
          offset: req.query.offset ?? 0,
        });
        return {
          total_record_count: total,
          messages: rows.map((m) => ({
            id: m.id,
            to: m.toAddress,
            subject: m.subject,
            text: m.text,
            html: m.html,
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.nextAttemptAt.toISOString(),
            last_error: m.lastError,
            created_at: m.createdAt.toISOString(),
            sent_at: m.sentAt?.toISOString() ?? null,
          })),
        };
      },
    );
  };
}
