// /api/v1/login-methods: the institution's login methods (SAML, CAS, LDAP, OIDC, social, e-mail
// link). Secrets in config are never returned (shown as "set"); a PUT that leaves one out, or
// gives back "set", keeps the stored value. Permission config:manage (a read-write key).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import type { LoginMethodInput, LoginMethodView } from '../../domain/sign-in/login-methods.js';
import { callerInstitution } from './auth.js';

const TAGS = ['Login methods'];
const CodeParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) });
const Jit = Type.Union([
  Type.Object(
    {
      record_type: Type.Optional(Type.String({ description: 'PUBLIC (default), STAFF or CONTACT' })),
      user_group: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
const Body = Type.Object(
  {
    code: Type.Optional(Type.String({ description: 'Lower-case letters, digits, - and _; in the URLs campus IT registers' })),
    type: Type.Optional(Type.String({ description: 'saml, cas, ldap, oidc, google, facebook, twitter or email-link' })),
    label: Type.Optional(Type.String({ description: "The login page's button" })),
    match: Type.Optional(Type.String({ description: 'primary_id or an identifier type code (UNIV_ID, GOOGLE_ID ...)' })),
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "The type's settings; secrets are write-only" })),
    jit: Type.Optional(Jit),
    enabled: Type.Optional(Type.Boolean()),
    position: Type.Optional(Type.Integer({ description: 'Order on the login page' })),
  },
  { additionalProperties: false },
);
type BodyT = {
  code?: string;
  type?: string;
  label?: string;
  match?: string;
  config?: Record<string, unknown>;
  jit?: { record_type?: string; user_group?: string | null } | null;
  enabled?: boolean;
  position?: number;
};

function inputOf(b: BodyT): LoginMethodInput {
  const input: LoginMethodInput = {};
  for (const k of ['code', 'type', 'label', 'match', 'config', 'enabled', 'position'] as const) if (b[k] !== undefined) input[k] = b[k];
  if (b.jit !== undefined) input.jit = b.jit === null ? null : { recordType: b.jit.record_type, userGroup: b.jit.user_group ?? null };
  return input;
}

export function loginMethodToJson(m: LoginMethodView) {
  return {
    code: m.code,
    type: m.type,
    label: m.label,
    match: m.match,
    config: m.config,
    jit: m.jit && { record_type: m.jit.recordType, user_group: m.jit.userGroup },
    enabled: m.enabled,
    position: m.position,
    urls: m.urls,
    ...(m.federation
      ? {
          federation: {
            state: m.federation.state,
            idps: m.federation.idps,
            loaded_at: m.federation.loadedAt?.toISOString() ?? null,
            valid_until: m.federation.validUntil?.toISOString() ?? null,
            next_refresh_at: m.federation.nextRefreshAt?.toISOString() ?? null,
            failures: m.federation.failures,
            last_error: m.federation.lastError,
          },
        }
      : {}),
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
  };
}

export function loginMethodRoutes(app: App): FastifyPluginAsyncTypebox {
  const { loginMethods } = app.services;
  return async (server) => {
    server.get('/login-methods', { schema: { summary: "List the institution's login methods", tags: TAGS } }, async (req) => ({
      login_method: (await loginMethods.list(req.actor!, callerInstitution(req))).map(loginMethodToJson),
    }));

    server.post('/login-methods', { schema: { summary: 'Create a login method', tags: TAGS, body: Body } }, async (req, reply) =>
      reply.status(201).send(loginMethodToJson(await loginMethods.create(req.actor!, callerInstitution(req), inputOf(req.body)))),
    );

    server.get('/login-methods/:code', { schema: { summary: 'Read a login method', tags: TAGS, params: CodeParams } }, async (req) =>
      loginMethodToJson(await loginMethods.show(req.actor!, callerInstitution(req), req.params.code)),
    );

    server.put(
      '/login-methods/:code',
      { schema: { summary: 'Change a login method (the fields given; secrets left out are kept)', tags: TAGS, params: CodeParams, body: Body } },
      async (req) => loginMethodToJson(await loginMethods.update(req.actor!, callerInstitution(req), req.params.code, inputOf(req.body))),
    );

    server.delete('/login-methods/:code', { schema: { summary: 'Delete a login method', tags: TAGS, params: CodeParams } }, async (req, reply) => {
      await loginMethods.remove(req.actor!, callerInstitution(req), req.params.code);
      return reply.status(204).send();
    });
  };
}
