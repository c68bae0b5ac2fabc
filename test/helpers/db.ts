// A fresh, migrated database per test file, on the engine the run asks for:
// CARREL_TEST_DB=pglite (in-memory) or postgres (a new database on CARREL_TEST_DATABASE_URL).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPglite, openPostgres, type Db } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';

export const ENGINE = (process.env.CARREL_TEST_DB ?? 'pglite') as 'pglite' | 'postgres';
export const ADMIN_URL = process.env.CARREL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDb {
  db: Db;
  /** For tests that start a second process on the same database. */
  url: string | undefined;
  drop(): Promise<void>;
}

export async function createTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  if (ENGINE === 'pglite') {
    const db = await openPglite();
    if (opts.migrate !== false) await migrate(db);
    return { db, url: undefined, drop: () => db.close() };
  }
  const name = `carrel_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openPostgres(url.toString(), 5);
  if (opts.migrate !== false) await migrate(db);
  return {
    db,
    url: url.toString(),
    async drop() {
      // A test may have closed its pool already (to leave the database to another process).
      await db.close().catch(() => {});
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
