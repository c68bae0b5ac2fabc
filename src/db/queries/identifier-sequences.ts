// SQL for identifier_sequence (migration 0014): the counters generated identifiers draw from.
import type { Queryable } from '../database.js';

/**
 * Takes the next `count` numbers of a counter (created at 0 on first use) and returns the last
 * of them: the numbers are last-count+1 .. last. The row stays locked until the transaction
 * ends, so a concurrent writer of the same counter waits and then gets the numbers after these;
 * if this transaction rolls back, so does the counter. Text, so 18-digit counters stay exact.
 */
export async function takeSequenceNumbers(db: Queryable, scopeId: string, ruleKey: string, count: number): Promise<bigint> {
  const row = await db.one<{ last: string }>(
    `INSERT INTO identifier_sequence AS s (scope_id, rule_key, last_value) VALUES ($1, $2, $3)
     ON CONFLICT (scope_id, rule_key) DO UPDATE SET last_value = s.last_value + EXCLUDED.last_value, updated_at = now()
     RETURNING last_value::text AS last`,
    [scopeId, ruleKey, count],
  );
  return BigInt(row.last);
}

/** The last number handed out (0 when none), without taking any: what a dry run would get next. */
export async function peekSequenceNumber(db: Queryable, scopeId: string, ruleKey: string): Promise<bigint> {
  const row = await db.maybeOne<{ last: string }>(
    'SELECT last_value::text AS last FROM identifier_sequence WHERE scope_id = $1 AND rule_key = $2',
    [scopeId, ruleKey],
  );
  return BigInt(row?.last ?? 0);
}
