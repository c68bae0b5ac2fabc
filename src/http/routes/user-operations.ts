// POST /almaws/v1/users/{user_id}?op=auth|refresh: Alma's user operations. op=auth checks a
// password for another application (a discovery layer, a proxy): 204 when right, 400 with 401866
// when not, whatever the reason. The password comes in the URL-encoded Exl-User-Pw header or the
// `password` parameter; neither is ever logged (the header is not, and server.ts masks the parameter).
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';
import { apiKeyAuth, institutionOf } from '../alma/api-key-auth.js';

/** Sent with the 204 when the password is right but its owner must choose a new one first. */
export const CHANGE_REQUIRED_HEADER = 'x-carrel-password-change-required';
/** The end user's address, from an application whose key is trusted to name it (`carrel apikey create --trust-client-address`). */
export const CLIENT_ADDRESS_HEADER = 'x-carrel-client-address';

const OPERATION_DOC = `\`op=auth\` (the default): is this the user's password? Any of the user's identifiers works as
{user_id}. The password goes in the header \`Exl-User-Pw\` (URL-encoded, \`+\` is a space) or in the \`password\`
parameter. **204** when it is right; **400** with errorCode **401866** "User authentication failed" when it is not,
for an unknown user, a user without a password, an EXTERNAL user, an inactive user and a locked account alike.
Allowed with read-only keys. When the password is right but the user must change it first (set by staff with
force-change, or an imported password that fails today's policy), the answer is still **204**, with the header
\`X-Carrel-Password-Change-Required: true\`: the calling application should send the user to
\`/auth/{institution}/login\` to choose a new one. Failures are throttled per end user's address when the key is
trusted to send it in \`X-Carrel-Client-Address\` (ignored otherwise), else per key; no caller can lock a user out
of other sources. \`op=refresh\` answers 401859 (not supported).`;

/** Exl-User-Pw is URL-encoded by its senders (Java's URLEncoder among them: '+' is a space). */
function headerPassword(raw: string | string[] | undefined): string | undefined {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    // Badly encoded: no password can match it, and the answer stays the usual 401866.
    return '';
  }
}

export function almaUserOperationRoutes(app: App): FastifyPluginAsyncTypebox {
  const { identity } = app.services;
  return async (server) => {
    server.addHook('onRequest', apiKeyAuth(app));
    // op=auth takes no body; some clients send an empty one with a JSON content type anyway.
    server.removeAllContentTypeParsers();
    server.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 65_536 }, (_req, _body, done) => done(null, undefined));

    server.post(
      '/users/:user_id',
      {
        schema: {
          summary: 'User operations: op=auth checks a password',
          description: OPERATION_DOC,
          tags: ['Alma Users API'],
          params: Type.Object({ user_id: Type.String({ minLength: 1, maxLength: 255, description: 'Primary id or any identifier' }) }),
          querystring: Type.Object({
            op: Type.Optional(Type.String({ description: 'auth (default) or refresh' })),
            user_id_type: Type.Optional(Type.String({ maxLength: 64, description: 'Accepted for compatibility; any identifier matches' })),
            password: Type.Optional(Type.String({ description: 'The password, if not in Exl-User-Pw (masked in logs)' })),
            format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xml')])),
            apikey: Type.Optional(Type.String()),
          }),
          response: { 204: Type.Null({ description: 'Right password (see X-Carrel-Password-Change-Required)' }) },
        },
      },
      async (req, reply) => {
        const op = req.query.op ?? 'auth';
        if (op === 'refresh') throw new AppError('ACTION_NOT_SUPPORTED', { action: 'op=refresh' });
        if (op !== 'auth') throw new AppError('INVALID_PARAMETER', { reason: `op must be auth or refresh, not ${op.slice(0, 40)}` });
        const password = headerPassword(req.headers['exl-user-pw']) ?? req.query.password ?? '';
        // Heeded only for a key trusted to set it (the domain decides); anyone may send it.
        const endUser = req.headers[CLIENT_ADDRESS_HEADER];
        const clientAddress = typeof endUser === 'string' ? endUser : null;
        const outcome = await identity.checkPassword(req.actor!, institutionOf(req), req.params.user_id, password, clientAddress);
        if (outcome === 'must_change') reply.header(CHANGE_REQUIRED_HEADER, 'true');
        return reply.status(204).send(null);
      },
    );
  };
}
