// /api/v1: Carrel's own API, for what Alma's does not cover. One list of route modules.
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app.js';
import { apiV1Auth } from './auth.js';

export function apiV1Routes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.addHook('onRequest', apiV1Auth(app));
    // Route modules, one per resource:
  };
}
