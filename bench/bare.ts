// The database alone: primary-key selects straight through `pg` (or PGlite in process), with no
// HTTP in front. The ceiling the thin server and Carrel are measured against.
import { join } from 'node:path';
import pg from 'pg';
import type { Target } from './seed.js';

type Rows = Record<string, unknown>[];

export interface BareDb {
  /** On one connection, for the sequential loop and set-up queries. */
  one(sql: string, params?: unknown[]): Promise<Rows>;
  /** Through a pool of 10 like the servers' (PGlite: its one connection). */
  pooled(sql: string, params?: unknown[]): Promise<Rows>;
  close(): Promise<void>;
}

export async function openBare(target: Target): Promise<BareDb> {
  if (target.engine === 'pglite') {
    const { PGlite } = await import('@electric-sql/pglite');
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const lite = await PGlite.create(join(target.dataDir!, 'pg'), { extensions: { pg_trgm } });
    const run = async (sql: string, params?: unknown[]) => (await lite.query<Record<string, unknown>>(sql, params)).rows;
    return { one: run, pooled: run, close: () => lite.close() };
  }
  const pool = new pg.Pool({ connectionString: target.databaseUrl, max: 10 });
  const client = new pg.Client({ connectionString: target.databaseUrl });
  await client.connect();
  return {
    one: async (sql, params) => (await client.query(sql, params)).rows as Rows,
    pooled: async (sql, params) => (await pool.query(sql, params)).rows as Rows,
    close: async () => {
      await client.end();
      await pool.end();
    },
  };
}

export interface BareResult {
  queries: number;
  sequentialQps: number;
  /** 32 queries in flight over the pool of 10 (PGlite serializes them on its one connection). */
  concurrentQps: number;
}

export const PK_SELECT = 'SELECT * FROM app_user WHERE id = $1';

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function bareLoop(db: BareDb, ids: string[], queries: number, inFlight = 32): Promise<BareResult> {
  for (let i = 0; i < Math.min(1000, queries); i++) await db.one(PK_SELECT, [ids[i % ids.length]]);
  const sequential = await timed(async () => {
    for (let i = 0; i < queries; i++) await db.one(PK_SELECT, [ids[i % ids.length]]);
  });
  let next = 0;
  const concurrent = await timed(async () => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < queries) await db.pooled(PK_SELECT, [ids[next++ % ids.length]]);
      }),
    );
  });
  return { queries, sequentialQps: Math.round(queries / sequential), concurrentQps: Math.round(queries / concurrent) };
}
