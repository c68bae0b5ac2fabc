// The one database seam: five methods over either node-postgres or an in-process PGlite.
// Both speak the same PostgreSQL dialect, so every query module, migration and test is shared.
import { mkdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyStream } from 'pg-copy-streams';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../model/db-errors.js';
import { doublingDelayMs } from '../model/backoff.js';

// The driver-free predicates live in the model, so the domain can use them without loading `pg`;
// re-exported here for the driver side (http, cli, tests).
export { DatabaseUnavailableError, isDatabaseUnavailable, isUniqueViolation } from '../model/db-errors.js';

export type Row = Record<string, unknown>;

export interface QueryOptions {
  /**
   * Names a hot, fixed SQL text so PostgreSQL prepares it once per connection: a user lookup
   * spends more time being planned than executed. Only for SQL that never varies.
   */
  name?: string;
}

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T[]>;
  one<T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T>;
  maybeOne<T extends Row = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<T | undefined>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * `COPY table (columns) FROM STDIN` with `data`, rows in COPY's text format (copy-text.ts): how
   * bulk writes hand PostgreSQL their rows.
   */
  copyFrom(sql: string, data: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly engine: 'postgres' | 'pglite';
  /** Runs fn in one transaction: committed when it resolves, rolled back whole when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * Calls onNotify with the payload of each NOTIFY on `channel` (from any server on the database),
   * and onReconnect when a lost listening connection is back: notifications sent meanwhile are
   * missed, so whatever they keep fresh must be refreshed whole. Resolves once listening (or, when
   * the database cannot be reached, once retrying in the background). close() stops it.
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<void>;
}

// Dates stay 'YYYY-MM-DD' strings (Alma dates carry no time zone) and bigint counts become numbers.
const DATE_OID = 1082;
const INT8_OID = 20;
const parseInt8 = (v: string) => Number(v);
const keepDate = (v: string) => v;

type Run = (sql: string, params?: readonly unknown[], opts?: QueryOptions) => Promise<Row[]>;
type Copy = (sql: string, data: string) => Promise<void>;

const FROM_STDIN = /\bFROM STDIN$/;
const COPY_FROM_STDIN = /^COPY [a-z_]+ \([a-z_, \n]+\) FROM STDIN$/;

function wrap(run: Run, exec: (sql: string) => Promise<void>, copy: Copy): Queryable {
  return {
    async copyFrom(sql, data) {
      if (!COPY_FROM_STDIN.test(sql)) throw new Error(`copyFrom takes COPY table (columns) FROM STDIN, not: ${sql.slice(0, 80)}`);
      await copy(sql, data);
    },
    query: run as Queryable['query'],
    async one(sql, params, opts) {
      const rows = await run(sql, params, opts);
      if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
      return rows[0] as never;
    },
    async maybeOne(sql, params, opts) {
      const rows = await run(sql, params, opts);
      return rows[0] as never;
    },
    exec,
  };
}

const asUnavailable = (err: unknown) => (isDatabaseUnavailable(err) && !(err instanceof DatabaseUnavailableError) ? new DatabaseUnavailableError(err) : err);

export interface PostgresOptions {
  poolSize?: number;
  /** How long to wait for a connection (a new one, or a free one of the pool) before giving up. */
  connectTimeoutMs?: number;
}

export async function openPostgres(url: string, opts: number | PostgresOptions = {}): Promise<Db> {
  const { poolSize = 10, connectTimeoutMs = 10_000 } = typeof opts === 'number' ? { poolSize: opts } : opts;
  const types = {
    getTypeParser(oid: number, format?: string) {
      if (oid === DATE_OID) return keepDate;
      if (oid === INT8_OID) return parseInt8;
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: types as pg.CustomTypesConfig,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
  });
  // An idle client that loses its connection must not crash the process; the pool drops it and
  // the next query opens a new connection (with its own prepared statements).
  pool.on('error', () => {});
  // The pool removes its idle listener when it hands a client out, and withClient adds its own
  // only after the hand-over resolves: a connection terminated in between (an administrator's
  // pg_terminate_backend, a failover) emitted 'error' with no listener and ended the process. A
  // listener for each client's whole life closes that gap; the client's next statement then
  // fails, and withClient discards it as broken.
  pool.on('connect', (client) => client.on('error', () => {}));

  /**
   * Checks a client out for `use`. A client that loses its connection while checked out emits
   * 'error' on itself, which without a listener would end the process: the listener here turns
   * it into a failed statement instead, and the broken client is discarded, not pooled again.
   */
  async function withClient<T>(use: (client: pg.PoolClient, discard: (why: Error) => void) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      // Whatever stops a connection from starting (refused, timed out, the database not accepting
      // connections, too many clients) is the database being unavailable to us.
      if ((err as Error)?.message?.includes('after calling end on the pool')) throw err;
      throw err instanceof DatabaseUnavailableError ? err : new DatabaseUnavailableError(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      return await use(client, onError);
    } catch (err) {
      if (isDatabaseUnavailable(err)) broken ??= err as Error;
      throw asUnavailable(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  const runOn = (client: pg.PoolClient): Run => async (sql, params, opts) =>
    (await client.query({ text: sql, values: params as unknown[], ...(opts?.name ? { name: opts.name } : {}) })).rows as Row[];
  const execOn = (client: pg.PoolClient) => async (sql: string) => {
    await client.query(sql);
  };
  // One buffer, written once: the rows are encoded to UTF-8 a single time.
  const copyOn = (client: pg.PoolClient): Copy => (sql, data) => pipeline(Readable.from([Buffer.from(data)]), client.query(copyStream(sql)));
  const listeners = postgresListeners(url, types);
  return {
    engine: 'postgres',
    listen: listeners.listen,
    ...wrap(
      (sql, params, opts) => withClient((c) => runOn(c)(sql, params, opts)),
      (sql) => withClient((c) => execOn(c)(sql)),
      (sql, data) => withClient((c) => copyOn(c)(sql, data)),
    ),
    transaction: (fn) =>
      withClient(async (client, discard) => {
        await client.query('BEGIN');
        try {
          const result = await fn(wrap(runOn(client), execOn(client), copyOn(client)));
          // A COMMIT cut by a lost connection may or may not have committed: callers that must
          // know (SIS batches) record their progress in the same transaction and look again.
          await client.query('COMMIT');
          return result;
        } catch (err) {
          // On a lost connection PostgreSQL has rolled the transaction back already; a client
          // whose ROLLBACK fails is in an unknown state and is thrown away, not pooled again.
          await client.query('ROLLBACK').catch((rollbackErr: Error) => discard(rollbackErr));
          throw err;
        }
      }),
    close: async () => {
      await listeners.close();
      await pool.end();
    },
  };
}

/** dataDir undefined means an in-memory database (tests). */
export async function openPglite(dataDir?: string): Promise<Db> {
  // Loaded lazily: the WASM build costs memory a PostgreSQL deployment should not pay.
  const { PGlite } = await import('@electric-sql/pglite');
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(dataDir ?? 'memory://', {
    extensions: { pg_trgm },
    parsers: { [DATE_OID]: keepDate, [INT8_OID]: parseInt8 },
  });
  // PGlite is in-process: there is no protocol round trip for a prepared statement to save.
  const runOn = (q: { query: typeof lite.query }): Run => async (sql, params) => (await q.query<Row>(sql, params as unknown[])).rows;
  const execOn = (q: { exec: typeof lite.exec }) => async (sql: string) => {
    await q.exec(sql);
  };
  // PGlite has no client stream to copy from: it reads COPY's data from a blob it is handed.
  const copyOn = (q: { query: typeof lite.query }): Copy => async (sql, data) => {
    await q.query(sql.replace(FROM_STDIN, "FROM '/dev/blob'"), [], { blob: new Blob([data]) });
  };
  return {
    engine: 'pglite',
    // One process, one session: a NOTIFY reaches only this process's own listeners, which is all there is.
    listen: async (channel, onNotify) => void (await lite.listen(channel, onNotify)),
    ...wrap(runOn(lite), execOn(lite), copyOn(lite)),
    // PGlite is one session: its own transaction() queues every other query until this one ends.
    transaction: (fn) => lite.transaction((tx) => fn(wrap(runOn(tx), execOn(tx), copyOn(tx)))),
    close: () => lite.close(),
  };
}

/**
 * LISTEN needs a connection of its own, outside the pool, kept open. One per channel; when it is
 * lost (a restart, a failover, a killed backend) it is opened again, 0.5 s after, then backing off
 * to 10 s, and onReconnect tells the listener it may have missed notifications.
 */
function postgresListeners(url: string, types: unknown) {
  const stops = new Set<() => Promise<void>>();
  let closed = false;
  async function listen(channel: string, onNotify: (payload: string) => void, onReconnect: () => void): Promise<void> {
    if (closed) throw new Error('the database is closed');
    let current: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let failures = 0;
    let stopped = false;
    const lost = (c: pg.Client) => {
      if (current !== c) return;
      current = undefined;
      c.end().catch(() => {});
      if (stopped) return;
      retry = setTimeout(() => void connect(true), doublingDelayMs(++failures, 500, 10_000));
      retry.unref();
    };
    const connect = async (again: boolean) => {
      const c = new pg.Client({ connectionString: url, types: types as pg.CustomTypesConfig });
      current = c;
      // A dropped connection emits 'error' on the client: without a listener it would crash the process.
      c.on('error', () => lost(c));
      c.on('end', () => lost(c));
      c.on('notification', (m) => {
        if (m.channel === channel) onNotify(m.payload ?? '');
      });
      try {
        await c.connect();
        await c.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
      } catch {
        lost(c);
        return;
      }
      if (stopped) {
        await c.end().catch(() => {});
        return;
      }
      failures = 0;
      if (again) onReconnect();
    };
    stops.add(async () => {
      stopped = true;
      clearTimeout(retry);
      const c = current;
      current = undefined;
      await c?.end().catch(() => {});
    });
    await connect(false);
  }
  return {
    listen,
    async close() {
      closed = true;
      await Promise.all([...stops].map((stop) => stop()));
      stops.clear();
    },
  };
}

export interface DbOptions {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  poolSize?: number;
  connectTimeoutMs?: number;
}

export function openDb(opts: DbOptions): Promise<Db> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, { poolSize: opts.poolSize ?? 10, connectTimeoutMs: opts.connectTimeoutMs ?? 10_000 })
    : openPglite(opts.dataDir);
}
