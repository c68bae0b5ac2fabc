import { openDb } from '/work/main/src/db/database.js';
import { searchUsers } from '/work/main/src/db/queries/users.js';
import { parseBriefSearch } from '/work/main/src/domain/users/brief-search.js';
const db = await openDb({ databaseUrl: 'postgres://postgres@127.0.0.1:5432/carrel_bench_1m' } as never);
const inst = '66175bd3-ccc2-45b2-90e4-b6b1fca219d1';
const analyze = process.argv[3] === 'explain';
await db.transaction(async (tx) => {
  await tx.query("SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)");
  const spy = {
    ...tx,
    async query(sql: string, params?: readonly unknown[]) {
      const t = performance.now();
      const r = await tx.query(sql, params);
      console.log(`--- ${(performance.now() - t).toFixed(1)} ms, ${r.length} rows: ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
      if (analyze) for (const l of await tx.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params)) console.log('   ', l['QUERY PLAN']);
      return r;
    },
    async one(sql: string, params?: readonly unknown[]) { return (await spy.query(sql, params))[0]; },
  };
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    const r = await searchUsers(spy as never, inst, parseBriefSearch({ q: `ALL~${process.argv[2]}`, order_by: 'relevance', extended: true, limit: 20 }));
    console.log(`=== total ${r.total} atLeast ${r.atLeast} rows ${r.rows.length} in ${(performance.now() - t).toFixed(1)} ms`);
  }
});
await db.close();
