// /api/v1: Carrel's own API, for what Alma's does not cover. One list of route modules.
import type { FastifyPluginAsync } from 'fastify';
import type { App } from '../../app.js';
import { apiKeyRoutes } from './api-keys.js';
import { apiV1Auth, callerInstitution } from './auth.js';
import { breakGlassRoutes } from './break-glass.js';
import { codeTableRoutes } from './code-tables.js';
import { outageRoutes } from './outage.js';
import { registrationRoutes } from './registrations.js';
import { integrationProfileRoutes } from './integration-profiles.js';
import { jobRoutes } from './jobs.js';
import { loginMethodRoutes } from './login-methods.js';
import { manualEditRoutes } from './manual-edits.js';
import { namedUserRoutes } from './named-users.js';
import { identityReportRoutes } from './identity-reports.js';
import { identityRoutes } from './identity.js';
import { sessionPolicyRoutes } from './session-policy.js';
import { sessionRoutes } from './session.js';
import { settingsRoutes } from './settings.js';
import { signInEventRoutes } from './sign-in-events.js';
import { userHistoryRoutes } from './user-history.js';
import { userRoutes } from '../routes/users.js';

export function apiV1Routes(app: App): FastifyPluginAsync {
  return async (server) => {
    server.addHook('onRequest', apiV1Auth(app));
    // Route modules, one per resource:
    await server.register(integrationProfileRoutes(app));
    await server.register(jobRoutes(app));
    await server.register(manualEditRoutes(app));
    await server.register(identityRoutes(app));
    await server.register(identityReportRoutes(app));
    await server.register(sessionPolicyRoutes(app));
    await server.register(loginMethodRoutes(app));
    await server.register(sessionRoutes(app));
    await server.register(signInEventRoutes(app));
    await server.register(breakGlassRoutes(app));
    await server.register(outageRoutes(app));
    await server.register(codeTableRoutes(app));
    // The Alma user routes for staff sessions (the console): same use cases, same format.
    await server.register(userRoutes(app, { institution: callerInstitution, tag: 'Users (staff)', filters: true }));
    await server.register(userHistoryRoutes(app));
    await server.register(registrationRoutes(app));
    await server.register(settingsRoutes(app));
    await server.register(apiKeyRoutes(app));
    await server.register(namedUserRoutes(app));
  };
}
