// GET /healthz: 200 when the database answers, 503 when it does not (within HEALTH_TIMEOUT_MS,
// so a load balancer's probe gets its answer even while connections to the database hang).
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app.js';

const HEALTH_TIMEOUT_MS = 2_000;

/** What a 503 tells clients to wait: pg's pool reconnects at the next query once the database is back. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export function healthRoutes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer in time')), HEALTH_TIMEOUT_MS);
      });
      try {
        await Promise.race([app.db.query('SELECT 1'), timeout]);
        return reply.send({ status: 'ok', database: app.db.engine });
      } catch {
        reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
        return reply.status(503).send({ status: 'unavailable', database: app.db.engine, reason: 'the database is unreachable' });
      } finally {
        clearTimeout(timer);
      }
    });
  };
}
