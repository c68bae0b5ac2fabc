// Fault injection on the PostgreSQL test server: an administrator's connection (to the admin
// database, so it survives what it does to the test database) that terminates the test
// database's connections, and turns new ones away and back. PostgreSQL only: PGlite has no
// connections to cut.
import { AssertionError } from 'node:assert';
import pg from 'pg';
import { ADMIN_URL } from './db.js';

export interface DbSaboteur {
  /** Terminates every connection to the database (but those of `except`, pids); answers how many. */
  terminate(except?: number[]): Promise<number>;
  /** Refuses new connections (ALLOW_CONNECTIONS false) and terminates the open ones. */
  block(): Promise<void>;
  /** Accepts connections again. */
  allow(): Promise<void>;
  /** A query on the admin connection (e.g. pg_stat_activity). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

export async function saboteur(testDbUrl: string): Promise<DbSaboteur> {
  const name = databaseName(testDbUrl);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  let blocked = false;
  const terminate = async (except: number[] = []) =>
    (await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND pid <> pg_backend_pid() AND pid <> ALL($2::int[])`,
      [name, except],
    )).rows[0]!.n;
  return {
    terminate,
    async block() {
      blocked = true;
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await terminate();
    },
    async allow() {
      blocked = false;
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    },
    query: async (sql, params) => (await admin.query(sql, params)).rows,
    async close() {
      if (blocked) await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
    },
  };
}

/** Polls until check() answers something truthy; fails with `what` after timeoutMs, at once when check asserts. */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      if (err instanceof AssertionError) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
