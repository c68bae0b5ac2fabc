// Does op=auth tell an unknown user from a known one with a wrong password by its timing?
// Carrel on PostgreSQL, served on a real socket, argon2 at the production defaults (OWASP's cost);
// requests alternate between the two kinds in a random order per pair, so drift in the machine's
// speed falls on both alike. Prints medians, means, a z on the means and Mann-Whitney's U (as z).
// Known users are many, each failing a few times, so none reaches its lock (a locked account is
// a third path, the same as an unknown one by construction).
//
//   npm run bench:auth-timing -- --n 300
// Needs PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres, for CREATE DATABASE).
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openPostgres } from '../src/db/database.js';
import { buildServer } from '../src/http/server.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '300' },
    users: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '30' },
    'admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const n = Number(values.n);
const userCount = Number(values.users);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
};

/** Mann-Whitney U of a against b, as a z (normal approximation, ties averaged). */
function mannWhitneyZ(a: number[], b: number[]): { u: number; z: number } {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    for (let k = i; k <= j; k++) ranks[k] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const rankSumA = all.reduce((s, x, i) => (x.g === 0 ? s + ranks[i]! : s), 0);
  const u = rankSumA - (a.length * (a.length + 1)) / 2;
  const mu = (a.length * b.length) / 2;
  const sigma = Math.sqrt((a.length * b.length * (a.length + b.length + 1)) / 12);
  return { u, z: (u - mu) / sigma };
}

const dbName = `carrel_bench_timing_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: values['admin-url'] });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(values['admin-url']);
url.pathname = `/${dbName}`;

const db = await openPostgres(url.toString());
const config = loadConfig({}, { logLevel: 'silent', databaseUrl: url.toString(), apiKeyCacheMs: 60_000 });
const app = await createApp(config, { db });
const server = await buildServer(app, { logger: false });
await server.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/almaws/v1`;
try {
  const inst = await app.services.institutions.create({ code: 'TIMING', name: 'Timing' });
  const { key } = await app.services.apiKeys.create(inst.id, { readOnly: false, label: 'timing' });
  const headers = { authorization: `apikey ${key}`, accept: 'application/json' };
  const known: string[] = [];
  for (let i = 0; i < userCount; i++) {
    const id = `timing_user_${i}`;
    const res = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        record_type: { value: 'PUBLIC' }, primary_id: id, first_name: 'T', last_name: `User ${i}`,
        account_type: { value: 'INTERNAL' }, status: { value: 'ACTIVE' }, user_group: { value: 'UNDERGRAD' },
        password: `Right horse battery staple ${i}`,
      }),
    });
    if (res.status !== 200) throw new Error(`creating ${id}: ${res.status} ${await res.text()}`);
    known.push(id);
  }
  let k = 0;
  const auth = async (id: string) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/users/${encodeURIComponent(id)}?op=auth`, {
      method: 'POST',
      headers: { ...headers, 'exl-user-pw': encodeURIComponent('Wrong guess 12345') },
    });
    await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 400) throw new Error(`op=auth for ${id}: ${res.status}`);
    return ms;
  };
  const knownOnce = () => auth(known[k++ % known.length]!);
  const unknownOnce = () => auth(`nobody_${randomBytes(6).toString('hex')}`);
  for (let i = 0; i < Number(values.warmup); i++) {
    await unknownOnce();
    // Warm-up failures count too: spread them so no account nears its lock.
    if (i < userCount) await auth(`nobody_${i}`);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Math.random() < 0.5) {
      a.push(await knownOnce());
      b.push(await unknownOnce());
    } else {
      b.push(await unknownOnce());
      a.push(await knownOnce());
    }
  }
  const zMeans = (mean(a) - mean(b)) / Math.sqrt(variance(a) / a.length + variance(b) / b.length);
  const mw = mannWhitneyZ(a, b);
  const f = (x: number) => x.toFixed(2);
  console.log(`op=auth on PostgreSQL, argon2 m=${config.argon2MemoryKiB} KiB t=${config.argon2TimeCost}, n=${n} each, interleaved`);
  console.log(`  known user, wrong password: median ${f(median(a))} ms, mean ${f(mean(a))} ms`);
  console.log(`  unknown user:               median ${f(median(b))} ms, mean ${f(mean(b))} ms`);
  console.log(`  difference of medians ${f(median(a) - median(b))} ms; z on means ${f(zMeans)}; Mann-Whitney U ${mw.u}, z ${f(mw.z)}`);
  console.log(`  (|z| < 2: no difference this run can tell apart from noise)`);
} finally {
  await server.close();
  await app.close();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
