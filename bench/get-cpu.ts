// A quick look at GET /almaws/v1/users/{barcode} on a busy machine: CPU per request (Carrel's
// process + its PostgreSQL backends) against the reference (bench/doc-server.ts), JSON and XML,
// in alternating rounds. Throughput on a shared machine says little; CPU per request says where
// the time goes. Needs a seeded database and bench.user_doc (a run of bench/run.ts leaves both).
//
//   node --import tsx bench/get-cpu.ts --database-url URL --users 1000000 [--seconds 5 --rounds 3]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeAgent, load, sequential } from './load.js';
import { prng } from './names.js';
import { barcodeOf } from './people.js';
import { start } from './procs.js';
import { withCpu } from './measure.js';
import { ensureSeeded, loadCarrel } from './seed.js';
import { JSON_ACCEPT, XML_ACCEPT } from './docs.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_bench' },
    users: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    /** Time the brief searches of issue 8 one at a time instead (n requests each). */
    searches: { type: 'string' },
    /** Write a V8 CPU profile of Carrel into this directory. */
    profile: { type: 'string' },
  },
});
const databaseUrl = values['database-url'];
const db = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
const users = Number(values.users);
const rand = prng(42);
const paths = Array.from({ length: 5000 }, () => `/almaws/v1/users/${barcodeOf(2 + Math.floor(rand() * (users - 1)))}`);

const seeded = await ensureSeeded(await loadCarrel(ROOT), { engine: 'postgres', databaseUrl }, users, () => {});
const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];
const carrel = await start(process.execPath, [...prof, join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0'], {
  name: 'Carrel', ready: /Carrel is serving on (http:\/\/\S+)/, timeoutMs: 120_000,
  env: { LOG_LEVEL: 'warn', CARREL_CONFIG: '', DATABASE_URL: databaseUrl, CARREL_DATA_DIR: '' },
});
const ref = await start(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'doc-server.ts'), '--database-url', databaseUrl, '--port', '0'], {
  name: 'reference', ready: /^\{"port":(\d+)\}$/,
});
const refUrl = `http://127.0.0.1:${ref.match[1]}`;
const runs = [
  ['reference JSON', refUrl, ref.child.pid, { accept: JSON_ACCEPT }],
  ['Carrel JSON', carrel.match[1]!, carrel.child.pid, { accept: JSON_ACCEPT, authorization: `apikey ${seeded.apiKey}` }],
  ['reference XML', refUrl, ref.child.pid, { accept: XML_ACCEPT }],
  ['Carrel XML', carrel.match[1]!, carrel.child.pid, { accept: XML_ACCEPT, authorization: `apikey ${seeded.apiKey}` }],
] as const;
try {
  if (values.searches) {
    const headers = { accept: JSON_ACCEPT, authorization: `apikey ${seeded.apiKey}` };
    for (const q of ['last_name~smi', 'email~smith', 'ALL~smith']) {
      const n = Number(values.searches);
      const started = Date.now();
      const m = await withCpu(db, carrel.child.pid, async () => ({ ...(await sequential(carrel.match[1]!, [`/almaws/v1/users?q=${q}`], n, headers)), requests: n, seconds: (Date.now() - started) / 1000 }));
      const c = m.cpuMsPerRequest;
      console.log(`search ${q.padEnd(14)} p50 ${m.p50} p95 ${m.p95} ms | CPU ms/req server ${c.server} + postgres ${c.postgres} (others busy ${m.otherBusy})`);
    }
    process.exit(0);
  }
  for (const [, baseUrl, , headers] of runs) await load({ baseUrl, paths, connections: Number(values.connections), seconds: 3, headers });
  for (let r = 1; r <= Number(values.rounds); r++) {
    for (const [what, baseUrl, pid, headers] of runs) {
      const m = await withCpu(db, pid, () => load({ baseUrl, paths, connections: Number(values.connections), seconds: Number(values.seconds), headers }));
      const c = m.cpuMsPerRequest;
      console.log(`round ${r} ${what.padEnd(15)} ${String(m.rps).padStart(6)} req/s p99 ${m.latency.p99} ms | CPU ms/req server ${c.server} + postgres ${c.postgres} = ${(c.server + c.postgres).toFixed(3)} (non-2xx ${m.non2xx}, others busy ${m.otherBusy})`);
    }
  }
} finally {
  closeAgent();
  await carrel.child.stop();
  await ref.child.stop();
}
process.exit(0);
