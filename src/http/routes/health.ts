// GET /healthz: 200 when the database answers, 503 when it does not.
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app.js';

export function healthRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
      try {
        await app.db.query('SELECT 1');
        return reply.send({ status: 'ok', database: app.db.engine });
      } catch {
        return reply.status(503).send({ status: 'unavailable', database: app.db.engine });
      }
    });
  };
}
