// buildServer(app): Fastify with its parsers, error rendering and the explicit list of routes.
// Handlers stay thin; everything they call is in app.services.
import { randomBytes } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { isDatabaseUnavailable } from '../db/database.js';
import type { Actor } from '../domain/access/actor.js';
import { AppError } from '../errors.js';
import { errorEnvelopeJson, errorEnvelopeXml } from '../alma/error-envelope.js';
import { responseFormat } from './alma/format.js';
import { apiV1Routes } from './api-v1/index.js';
import { consolePages } from './console.js';
import { installInputGuard } from './input-guard.js';
import { trustProxyOption } from './proxies.js';
import { loginPages } from './pages/login-pages.js';
import { redactUrl } from './redact.js';
import { almaCodeTableRoutes } from './routes/code-tables.js';
import { DATABASE_RETRY_AFTER_SECONDS, healthRoutes } from './routes/health.js';
import { almaUserOperationRoutes } from './routes/user-operations.js';
import { almaUserRoutes } from './routes/users.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** The format of answers when the request does not ask (Alma: XML; Carrel's API: JSON). */
    wireDefault: 'json' | 'xml';
  }
}

export { redactUrl };

/**
 * A request its client gave up on (closed the connection mid-body): not a server fault. Both
 * the error and the request must say so: a database's ECONNRESET is a server fault.
 */
function clientAborted(req: FastifyRequest, err: FastifyError): boolean {
  const cutShort = err.code === 'ECONNRESET' || err.code === 'ERR_STREAM_PREMATURE_CLOSE' || err.message === 'aborted';
  return cutShort && (req.raw.aborted || req.raw.readableAborted);
}

function toAppError(err: FastifyError, req: FastifyRequest, bodyLimit: number): AppError {
  if (err instanceof AppError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('INVALID_BODY', { format: 'JSON', reason: err.message });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('INVALID_BODY', { format: 'JSON', reason: 'the body is empty' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // Fastify's message carries no number: the limit is the route's own, else the server's.
      return new AppError('BODY_TOO_LARGE', { limit: req.routeOptions.bodyLimit ?? bodyLimit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', { type: 'given' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('INVALID_BODY', { format: 'request', reason: 'Content-Length does not match the body' });
  }
  if (err.validation) return new AppError('INVALID_PARAMETER', { reason: `${err.validationContext ?? 'request'} ${err.message}` });
  if (err.statusCode === 429) return new AppError('RATE_LIMITED');
  if (isDatabaseUnavailable(err)) return new AppError('DATABASE_UNAVAILABLE');
  // A static file refused (swagger-ui's, for a path with ..) or missing: no such resource.
  if (err.statusCode === 403 || err.statusCode === 404) {
    return new AppError('ROUTE_NOT_FOUND', { method: req.method, url: redactUrl(req.url).split('?')[0]! });
  }
  // Fastify's and its plugins' other client errors (a bad URL, a body cut short): the request's fault.
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('INVALID_PARAMETER', { reason: 'the request could not be read' });
  }
  return new AppError('INTERNAL');
}

export function renderError(req: FastifyRequest, reply: FastifyReply, error: AppError) {
  const errors = [{ code: error.alma, message: error.message, trackingId: String(req.id) }];
  reply.status(error.status);
  // A stale If-Match: the answer names the version to read again, as an ETag.
  if (error.code === 'VERSION_MISMATCH' && error.params.current !== undefined) reply.header('etag', `"${error.params.current}"`);
  if (responseFormat(req) === 'json') {
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(errorEnvelopeJson(errors)));
  }
  return reply.type('application/xml; charset=utf-8').send(errorEnvelopeXml(errors));
}

export async function buildServer(app: App, opts: { logger?: boolean; logStream?: NodeJS.WritableStream } = {}) {
  const trackingPrefix = `E01-${Date.now().toString(36).toUpperCase()}-${randomBytes(4).toString('hex').toUpperCase()}-`;
  let requestCount = 0;
  const server = Fastify({
    logger:
      opts.logger === false
        ? false
        : {
            level: app.config.logLevel,
            ...(opts.logStream ? { stream: opts.logStream } : {}),
            serializers: {
              req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
            },
          },
    bodyLimit: app.config.bodyLimit,
    trustProxy: trustProxyOption(app.config),
    // The tracking id Alma puts in every error envelope; also the log's request id. A counter
    // under a random per-process prefix: random bytes per request cost more than the routing.
    genReqId: () => `${trackingPrefix}${(++requestCount).toString(36).toUpperCase()}`,
    // The router's own refusals (a path that is not valid percent-encoded UTF-8) in the envelope too.
    frameworkErrors: (err, req, reply) => {
      const reason = err.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid percent-encoded UTF-8' : 'the request could not be read';
      return renderError(req, reply, new AppError('INVALID_PARAMETER', { reason }));
    },
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  server.decorateRequest('actor', null);
  server.decorateRequest('wireDefault', 'xml');
  installInputGuard(server);

  server.setErrorHandler((err: FastifyError, req, reply) => {
    if (clientAborted(req, err)) {
      // Nobody is left to answer; a burst of these is a client's doing, not an incident.
      req.log.info({ code: err.code }, 'client aborted the request');
      return renderError(req, reply, new AppError('INVALID_BODY', { format: 'request', reason: 'the client closed the connection' }));
    }
    const error = toAppError(err, req, app.config.bodyLimit);
    if (error.code === 'DATABASE_UNAVAILABLE') {
      // An outage fails every request: one line each, without the stack.
      req.log.warn({ error: err.message }, 'request failed: database unavailable');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
    } else if (error.status >= 500) req.log.error({ err }, 'request failed');
    return renderError(req, reply, error);
  });
  const staffConsole = consolePages(app);
  server.setNotFoundHandler((req, reply) => {
    // A client route of the console (a reload on /users/42) gets the console's page.
    if (staffConsole.fallback(req, reply)) return reply;
    return renderError(req, reply, new AppError('ROUTE_NOT_FOUND', { method: req.method, url: redactUrl(req.url).split('?')[0]! }));
  });

  await server.register(swagger, {
    openapi: {
      info: {
        title: 'Carrel',
        version: '0.1.0',
        description:
          'Identity and user management for library networks. `/almaws/v1` speaks the Alma Users API ' +
          '(JSON and XML; key as `apikey` parameter or `Authorization: apikey KEY`).',
      },
      components: {
        securitySchemes: {
          apikey: { type: 'apiKey', in: 'query', name: 'apikey' },
          apikeyHeader: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'apikey KEY' },
        },
      },
      security: [{ apikey: [] }, { apikeyHeader: [] }],
    },
  });
  await server.register(swaggerUi, { routePrefix: '/api/docs' });

  // Cookies once, for every route: the browser session is read by the login pages, the staff
  // console and /api/v1 (src/http/session-cookie.ts).
  await server.register(cookie);

  // The whole HTTP surface, in one list.
  await server.register(healthRoutes(app));
  await server.register(almaUserRoutes(app), { prefix: '/almaws/v1' });
  await server.register(almaUserOperationRoutes(app), { prefix: '/almaws/v1' });
  await server.register(almaCodeTableRoutes(app), { prefix: '/almaws/v1' });
  await server.register(apiV1Routes(app), { prefix: '/api/v1' });
  await server.register(loginPages(app), { prefix: '/auth' });
  await server.register(staffConsole.plugin);
  return server;
}
