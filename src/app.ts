// createApp(config): the one composition root. The server, the CLI and the worker all build this
// and nothing else; none of them constructs a service on its own.
import { join } from 'node:path';
import type { Config } from './config.js';
import { openDb, type Db } from './db/database.js';
import { migrate } from './db/migrate.js';
import { createApiKeyService } from './domain/access/api-keys.js';
import { createCodeTableCache } from './domain/institutions/code-tables.js';
import { createInstitutionService } from './domain/institutions/institution-service.js';
import { noCredentials } from './domain/users/credential-port.js';
import { createUserService } from './domain/users/user-service.js';

export async function createApp(config: Readonly<Config>, opts: { db?: Db; migrate?: boolean } = {}) {
  const db =
    opts.db ??
    (await openDb({ databaseUrl: config.databaseUrl, dataDir: join(config.dataDir, 'pg'), poolSize: config.dbPoolSize }));
  if (opts.migrate !== false) await migrate(db);
  const codeTables = createCodeTableCache(db);
  const services = {
    institutions: createInstitutionService(db, codeTables),
    users: createUserService({ db, codeTables, credentials: noCredentials }),
    apiKeys: createApiKeyService(db, { cacheMs: config.apiKeyCacheMs }),
    codeTables,
  };
  return {
    config,
    db,
    services,
    close: () => db.close(),
  };
}

export type App = Awaited<ReturnType<typeof createApp>>;
