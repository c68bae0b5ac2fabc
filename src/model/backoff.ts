// Waiting out something that is away (the database, a listening connection, a mail attempt): each
// wait doubles, from firstMs up to maxMs. One formula for every retry in Carrel.
import { isDatabaseUnavailable } from './db-errors.js';

/** The wait before try `attempt + 1` (attempt counts from 1): firstMs, 2×, 4× … at most maxMs. */
export const doublingDelayMs = (attempt: number, firstMs: number, maxMs: number): number =>
  Math.min(maxMs, firstMs * 2 ** Math.max(0, attempt - 1));

export interface OutlastOptions {
  firstMs: number;
  maxMs: number;
  /** Give up (rethrow) when the next wait would end later than this from the first try; no limit when absent. */
  patienceMs?: number;
  /** Give up at once when this says so (a worker shutting down). */
  stopped?: () => boolean;
  /** Told before each wait (to log an outage once, say). */
  onWait?: (err: Error, attempt: number, waitMs: number) => void;
  /** How to wait (a worker's wakeable sleep); a plain timer otherwise. */
  sleep?: (ms: number) => Promise<void>;
}

/** Runs fn, and again after a doubling wait each time it fails because the database is unavailable. */
export async function outlastOutage<T>(fn: () => Promise<T>, opts: OutlastOptions): Promise<T> {
  const deadline = opts.patienceMs === undefined ? Infinity : Date.now() + opts.patienceMs;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const wait = doublingDelayMs(attempt, opts.firstMs, opts.maxMs);
      if (!isDatabaseUnavailable(err) || opts.stopped?.() || Date.now() + wait > deadline) throw err;
      opts.onWait?.(err as Error, attempt, wait);
      await sleep(wait);
    }
  }
}
