// A whole Carrel (services and HTTP server, no network socket) on a fresh test database, with
// helpers to make institutions and keys the way an operator would.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { buildServer } from '../../src/http/server.js';
import type { Db } from '../../src/db/database.js';
import { createTestDb, type TestDb } from './db.js';

export interface TestContext {
  app: App;
  server: FastifyInstance;
  testDb: TestDb;
  close(): Promise<void>;
  /** A new institution (unique code) with a read-write and a read-only key. */
  institution(opts?: { network?: string; networkZone?: boolean }): Promise<{ id: string; code: string; key: string; readOnlyKey: string }>;
}

export interface TestContextOptions {
  /** Config beyond the test defaults (e.g. an SMTP URL, cheaper argon2). */
  config?: Partial<Config>;
  /** The identity module's clock, to expire links and locks without waiting. */
  clock?: () => Date;
  /** Where the server logs go (level from config.logLevel); no logging when absent. */
  logStream?: NodeJS.WritableStream;
  /** The database the app is given, around the test database (counting-db.ts counts statements). */
  wrapDb?: (db: Db) => Db;
  /** The domain's operational lines (e.g. the named-user licence's warnings); stderr when absent. */
  log?: (level: 'info' | 'warn', msg: string, detail: Record<string, unknown>) => void;
}

export async function createTestContext(opts: TestContextOptions = {}): Promise<TestContext> {
  const testDb = await createTestDb();
  const config = loadConfig({}, { logLevel: 'silent', publicUrl: 'http://carrel.test', apiKeyCacheMs: 0, ...opts.config });
  const app = await createApp(config, { db: opts.wrapDb ? opts.wrapDb(testDb.db) : testDb.db, migrate: false, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.log ? { log: opts.log } : {}) });
  const server = await buildServer(app, opts.logStream ? { logStream: opts.logStream } : { logger: false });
  await server.ready();
  return {
    app,
    server,
    testDb,
    async close() {
      await server.close();
      await testDb.drop();
    },
    async institution(opts = {}) {
      const code = `T${randomBytes(4).toString('hex').toUpperCase()}`;
      const inst = await app.services.institutions.create({ code, name: `Test ${code}`, ...opts });
      const { key } = await app.services.apiKeys.create(inst.id, { readOnly: false, label: 'test' });
      const { key: readOnlyKey } = await app.services.apiKeys.create(inst.id, { readOnly: true, label: 'test-ro' });
      return { id: inst.id, code, key, readOnlyKey };
    },
  };
}
