// What a database error means, told without the driver: the domain decides on these (a unique
// violation is a clash, a lost connection is "try again later") and must not load `pg` to do so.
// src/db/database.ts raises them; both engines report PostgreSQL's SQLSTATEs in `code`.

/**
 * The database cannot be reached: the connection was lost (the server restarted, an administrator
 * terminated it, the network broke) or could not be made. The statement did not take effect (a
 * cut transaction is rolled back whole by PostgreSQL); trying again later is the remedy. The HTTP
 * layer answers 503, the job worker puts the job back in the queue.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the database is unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

// SQLSTATEs of a connection that ended or cannot start: admin_shutdown, crash_shutdown,
// cannot_connect_now, and class 08 (connection exception).
const LOST_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '08007']);
const LOST_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// What node-postgres says when a socket ends or a pool cannot hand out a client in time.
const LOST_MESSAGES = /^(Connection terminated|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect)/;

/** The one rule for "the connection is gone" (not "the statement is wrong"); follows `cause`. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DatabaseUnavailableError) return true;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (LOST_SQLSTATES.has(code) || LOST_ERRNOS.has(code))) return true;
    if (typeof message === 'string' && LOST_MESSAGES.test(message)) return true;
  }
  return false;
}

/** Unique violations surface as this so the domain can name the identifier that clashed. */
export function isUniqueViolation(err: unknown): err is { code: string; constraint?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
