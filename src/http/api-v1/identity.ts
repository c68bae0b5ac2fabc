// /api/v1 identity actions for staff and read-write keys: passwords, set-password links, the
// account-type toggle (one user or a set), sessions, legacy-hash import, the sign-in status. Who may do what is
// decided in src/domain/identity ('credentials:manage'); these handlers only translate.
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Identity'];
const UserParams = Type.Object({
  user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier of the user' }),
});
const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const AccountType = Type.Union([Type.Literal('INTERNAL'), Type.Literal('EXTERNAL')]);
const PasswordOutcome = Type.Union([Type.Literal('set'), Type.Literal('link_sent'), Type.Literal('kept'), Type.Literal('removed'), Type.Literal('none')], {
  description: 'What happened to the local password',
});

const Session = Type.Object({
  id: Type.String(),
  auth_method: Type.String(),
  created_at: Type.String(),
  last_seen_at: Type.String(),
  expires_at: Type.String(),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  client_address: Type.Union([Type.String(), Type.Null()]),
});

const LinkSent = Type.Object({
  to: Type.String({ description: 'The address the link went to' }),
  expires_at: Type.String(),
  outbox_id: Type.Integer({ description: 'The message in GET /api/v1/mail-outbox' }),
});

export function identityRoutes(app: App): FastifyPluginAsyncTypebox {
  const { identity } = app.services;
  return async (server) => {
    server.post(
      '/users/:user_id/password',
      {
        schema: {
          summary: "Set a user's password",
          description:
            'The password must pass the institution policy (500038 when it does not). force_change (default true) makes the user ' +
            "choose a new one at the next login. The user's outstanding links and sessions end.",
          tags: TAGS,
          params: UserParams,
          body: Type.Object({ password: Type.String(), force_change: Type.Optional(Type.Boolean({ default: true })) }),
          response: { 204: Type.Null() },
        },
      },
      async (req, reply) => {
        await identity.setPassword(req.actor!, callerInstitution(req), req.params.user_id, {
          password: req.body.password,
          forceChange: req.body.force_change,
        });
        return reply.status(204).send(null);
      },
    );

    server.post(
      '/users/:user_id/set-password-link',
      {
        schema: {
          summary: 'E-mail the user a set-password link',
          description: 'Valid once, for 24 hours (config); a newer link or a new password ends it. The mail goes through the outbox.',
          tags: TAGS,
          params: UserParams,
          response: { 202: LinkSent },
        },
      },
      async (req, reply) => {
        const sent = await identity.sendSetPasswordLink(req.actor!, callerInstitution(req), req.params.user_id);
        return reply.status(202).send({ to: sent.to, expires_at: sent.expiresAt.toISOString(), outbox_id: sent.outboxId });
      },
    );

    server.post(
      '/users/:user_id/account-type',
      {
        schema: {
          summary: 'Toggle a user between EXTERNAL and INTERNAL',
          description:
            'EXTERNAL -> INTERNAL needs a way in: `password` (force_change defaults to true) or `send_link`; the external id is ' +
            'cleared and remembered. INTERNAL -> EXTERNAL restores the remembered external id (or takes `external_id`) and removes ' +
            "the local password unless the institution allows external users a fallback password. Audited as user.account_type.",
          tags: TAGS,
          params: UserParams,
          body: Type.Object({
            account_type: AccountType,
            password: Type.Optional(Type.String()),
            force_change: Type.Optional(Type.Boolean()),
            send_link: Type.Optional(Type.Boolean()),
            external_id: Type.Optional(Type.String({ maxLength: 255 })),
          }),
          response: {
            200: Type.Object({
              primary_id: Type.String(),
              account_type: AccountType,
              external_id: Type.Union([Type.String(), Type.Null()]),
              password: PasswordOutcome,
            }),
          },
        },
      },
      async (req) => {
        const b = req.body;
        const { user, password } = await identity.toggleAccountType(req.actor!, callerInstitution(req), req.params.user_id, {
          accountType: b.account_type,
          password: b.password,
          forceChange: b.force_change,
          sendLink: b.send_link,
          externalId: b.external_id,
        });
        return { primary_id: user.primaryId, account_type: user.accountType, external_id: user.externalId, password };
      },
    );

    server.post(
      '/account-type',
      {
        schema: {
          summary: 'Toggle a set of users (an SSO outage, and back)',
          description:
            'Each user is toggled in its own transaction and reported on its own. To INTERNAL, send_link e-mails each user a ' +
            'set-password link (a shared temporary password is not offered in bulk). To EXTERNAL, each gets its remembered external id back.',
          tags: TAGS,
          body: Type.Object({
            user_ids: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 1000 }),
            account_type: AccountType,
            send_link: Type.Optional(Type.Boolean()),
          }),
          response: {
            200: Type.Object({
              results: Type.Array(
                Type.Object({
                  user_id: Type.String(),
                  ok: Type.Boolean(),
                  account_type: Type.Optional(AccountType),
                  password: Type.Optional(PasswordOutcome),
                  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
                }),
              ),
            }),
          },
        },
      },
      async (req) => {
        const results = await identity.bulkToggleAccountType(req.actor!, callerInstitution(req), req.body.user_ids, {
          accountType: req.body.account_type,
          sendLink: req.body.send_link,
        });
        return {
          results: results.map((r) => ({
            user_id: r.userId,
            ok: r.ok,
            ...(r.accountType ? { account_type: r.accountType } : {}),
            ...(r.password ? { password: r.password } : {}),
            ...(r.error ? { error: r.error } : {}),
          })),
        };
      },
    );

    server.post(
      '/users/:user_id/password-hash',
      {
        schema: {
          summary: 'Import a password hash from another system',
          description:
            'Accepted: argon2 ($argon2id$/$argon2i$/$argon2d$), bcrypt ($2a$/$2b$/$2y$), PBKDF2 (passlib $pbkdf2[-sha256|-sha512]$, ' +
            'Django pbkdf2_sha256$, Werkzeug pbkdf2:sha256:), {SSHA}/{SSHA256}/{SSHA512}, MD5-crypt ($1$, $apr1$), SHA-crypt ($5$, $6$). ' +
            'Verified at the next login and re-hashed to argon2id then; a password that fails today\'s policy logs in into a forced change.',
          tags: TAGS,
          params: UserParams,
          body: Type.Object({ hash: Type.String({ maxLength: 1024 }), force_change: Type.Optional(Type.Boolean()) }),
          response: { 200: Type.Object({ primary_id: Type.String(), algorithm: Type.String() }) },
        },
      },
      async (req) => {
        const r = await identity.importPasswordHash(req.actor!, callerInstitution(req), req.params.user_id, {
          hash: req.body.hash,
          forceChange: req.body.force_change,
        });
        return { primary_id: r.primaryId, algorithm: r.algorithm };
      },
    );

    const when = (d: Date | null) => d?.toISOString() ?? null;
    const NullableTime = Type.Union([Type.String(), Type.Null()]);
    server.get(
      '/users/:user_id/sign-in-status',
      {
        schema: {
          summary: "A user's sign-in at a glance",
          description:
            'Whether the user has a local password (never the hash), must change it at the next sign-in, is locked out (the ' +
            "account's guess budget is spent: new places are refused until locked_until; locked_places: places refused after " +
            'too many failures in a row; a new password lifts both), and is a break-glass account. Needs users:read.',
          tags: TAGS,
          params: UserParams,
          response: {
            200: Type.Object({
              primary_id: Type.String(),
              account_type: AccountType,
              has_password: Type.Boolean(),
              password_allowed: Type.Boolean({ description: 'A local password is possible (not a CONTACT; INTERNAL, or external fallback allowed)' }),
              must_change: Type.Boolean(),
              imported: Type.Boolean({ description: 'An imported hash, re-hashed at the next sign-in' }),
              password_changed_at: NullableTime,
              last_login_at: NullableTime,
              locked_out: Type.Boolean(),
              locked_until: NullableTime,
              locked_places: Type.Integer(),
              break_glass: Type.Boolean(),
            }),
          },
        },
      },
      async (req) => {
        const s = await identity.signInStatus(req.actor!, callerInstitution(req), req.params.user_id);
        return {
          primary_id: s.user.primaryId,
          account_type: s.user.accountType,
          has_password: s.hasPassword,
          password_allowed: s.passwordAllowed,
          must_change: s.mustChange,
          imported: s.imported,
          password_changed_at: when(s.passwordChangedAt),
          last_login_at: when(s.lastLoginAt),
          locked_out: s.lockedOut,
          locked_until: when(s.lockedUntil),
          locked_places: s.lockedPlaces,
          break_glass: s.breakGlass,
        };
      },
    );

    server.get(
      '/users/:user_id/sessions',
      {
        schema: { summary: "A user's live sessions", tags: TAGS, params: UserParams, response: { 200: Type.Object({ sessions: Type.Array(Session) }) } },
      },
      async (req) => {
        const sessions = await identity.listSessions(req.actor!, callerInstitution(req), req.params.user_id);
        return {
          sessions: sessions.map((s) => ({
            id: s.id,
            auth_method: s.authMethod,
            created_at: s.createdAt.toISOString(),
            last_seen_at: s.lastSeenAt.toISOString(),
            expires_at: s.expiresAt.toISOString(),
            user_agent: s.userAgent,
            client_address: s.clientAddress,
          })),
        };
      },
    );

    const Revoked = Type.Object({ revoked: Type.Integer() });
    server.delete(
      '/users/:user_id/sessions',
      { schema: { summary: "End all of a user's sessions", tags: TAGS, params: UserParams, response: { 200: Revoked } } },
      async (req) => ({ revoked: await identity.revokeSessions(req.actor!, callerInstitution(req), req.params.user_id) }),
    );
    server.delete(
      '/users/:user_id/sessions/:session_id',
      {
        schema: {
          summary: 'End one session',
          tags: TAGS,
          params: Type.Object({ user_id: UserParams.properties.user_id, session_id: Uuid }),
          response: { 200: Revoked },
        },
      },
      async (req) => ({
        revoked: await identity.revokeSessions(req.actor!, callerInstitution(req), req.params.user_id, req.params.session_id),
      }),
    );
  };
}
