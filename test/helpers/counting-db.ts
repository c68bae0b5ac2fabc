// A Db that counts what goes to the database: statements on their own (each its own commit) and
// transactions (BEGIN, their statements, COMMIT). Round trips = statements + 2 per transaction.
import type { Db, Queryable } from '../../src/db/database.js';

export interface Counts {
  /** Statements outside any transaction (each commits on its own). */
  alone: number;
  transactions: number;
  /** Statements inside transactions. */
  inTransactions: number;
  /** The SQL of each statement, for a failing assertion's message. */
  sql: string[];
}

export function countingDb(db: Db): { db: Db; counts: Counts; reset(): void; roundTrips(): number } {
  const counts: Counts = { alone: 0, transactions: 0, inTransactions: 0, sql: [] };
  const counted = (q: Queryable, inTx: boolean): Queryable => {
    const note = (sql: string) => {
      if (inTx) counts.inTransactions++;
      else counts.alone++;
      counts.sql.push(`${inTx ? '  tx: ' : ''}${sql.replace(/\s+/g, ' ').slice(0, 120)}`);
    };
    return {
      query: (sql, params, opts) => (note(sql), q.query(sql, params, opts)),
      one: (sql, params, opts) => (note(sql), q.one(sql, params, opts)),
      maybeOne: (sql, params, opts) => (note(sql), q.maybeOne(sql, params, opts)),
      exec: (sql) => (note(sql), q.exec(sql)),
      copyFrom: (sql, data) => (note(sql), q.copyFrom(sql, data)),
    } as Queryable;
  };
  const wrapped: Db = {
    ...counted(db, false),
    engine: db.engine,
    transaction: (fn) => {
      counts.transactions++;
      counts.sql.push('BEGIN … COMMIT');
      return db.transaction((tx) => fn(counted(tx, true)));
    },
    close: () => db.close(),
    listen: (channel, onNotify, onReconnect) => db.listen(channel, onNotify, onReconnect),
  };
  return {
    db: wrapped,
    counts,
    reset() {
      counts.alone = counts.transactions = counts.inTransactions = 0;
      counts.sql.length = 0;
    },
    roundTrips: () => counts.alone + counts.inTransactions + 2 * counts.transactions,
  };
}
