// The op=auth benchmark, on PostgreSQL: Carrel's POST /almaws/v1/users/{id}?op=auth against the
// thinnest possible password check (bench/auth-thin-server.ts), both under autocannon in the same
// run and in alternating rounds; the bare verify rate of @node-rs/argon2 beside them; GET /healthz
// latency during the login storm; and Carrel at Keycloak's default argon2 cost (t=5, m=7 MiB, p=1).
//
//   npm run bench:auth -- --users 500 --duration 10 --rounds 3
// It measures the built program: Carrel is built into bench/data/auth-build first (--no-build reuses it).
// Results print as a table and are saved as JSON under bench/results/ (not committed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import autocannon from 'autocannon';
import pg from 'pg';
import { latencyOf, paced, type Latency, type PacedResult } from './load.js';
import { cpuSnapshot, cpuUsed, start, waitQuiet, type Child } from './procs.js';
import { machineInfo } from './report.js';
import { loadCarrel } from './seed.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '500' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    quiet: { type: 'string', default: '0.25' },
    'quiet-wait': { type: 'string', default: '90' },
    'health-rate': { type: 'string', default: '20' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_bench_auth' },
    'no-build': { type: 'boolean', default: false },
  },
});
const opts = {
  users: Number(values.users),
  seconds: Number(values.duration),
  rounds: Number(values.rounds),
  connections: Number(values.connections),
  quietBusy: Number(values.quiet),
  quietWaitS: Number(values['quiet-wait']),
  healthRate: Number(values['health-rate']),
  databaseUrl: values['database-url'],
};
const log = (s: string) => console.log(s);
const PASSWORD = 'Bench password 2024!';
const OWASP = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
const KEYCLOAK = { memoryKiB: 7_168, timeCost: 5, parallelism: 1 };
type Argon2 = typeof OWASP;
const argonEnv = (a: Argon2) => ({
  CARREL_ARGON2_MEMORY_KIB: String(a.memoryKiB),
  CARREL_ARGON2_TIME_COST: String(a.timeCost),
  CARREL_ARGON2_PARALLELISM: String(a.parallelism),
});
const quiet = () => waitQuiet(opts.quietBusy, opts.quietWaitS * 1000, log);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = (sorted.length - 1) / 2;
  return (sorted[Math.floor(mid)]! + sorted[Math.ceil(mid)]!) / 2;
};

// The run uses its own copy of the build: others rebuilding dist/ mid-run (with a migration
// edited since) must not change the Carrel this run seeded and measures.
const BUILD = join(ROOT, 'bench', 'data', 'auth-build');

function build(): void {
  log(`building Carrel into ${BUILD}/dist`);
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out-dir', join(BUILD, 'dist')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
}

/** A fresh database with two institutions of N users each: one at OWASP's cost, one at Keycloak's. */
async function seed(): Promise<{ owasp: { id: string; key: string }; keycloak: { id: string; key: string } }> {
  const url = new URL(opts.databaseUrl);
  const name = url.pathname.slice(1);
  if (!/^carrel_bench/.test(name)) throw new Error('the benchmark database name must start with carrel_bench (it is dropped)');
  const admin = new pg.Client({ connectionString: Object.assign(new URL(opts.databaseUrl), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const carrel = await loadCarrel(BUILD);
  const seedOne = async (code: string, argon2: Argon2) => {
    const env = { DATABASE_URL: opts.databaseUrl, ...argonEnv(argon2) };
    const app = await carrel.createApp(carrel.loadConfig(env, { logLevel: 'silent' }));
    try {
      const inst = await app.services.institutions.create({ code, name: `Auth bench ${code}` });
      // op=auth is allowed with a read-only key, as in Alma: the bench uses one.
      const { key } = await app.services.apiKeys.create(inst.id, { readOnly: true, label: 'auth bench' });
      const system = { kind: 'system' as const, label: 'auth bench' };
      const t0 = performance.now();
      for (let i = 1; i <= opts.users; i += 8) {
        const batch = [];
        for (let j = i; j < Math.min(i + 8, opts.users + 1); j++) {
          batch.push(
            app.services.users.create(system, inst.id, {
              primaryId: `auth-${String(j).padStart(6, '0')}`,
              recordType: 'PUBLIC',
              accountType: 'INTERNAL',
              status: 'ACTIVE',
              userGroup: 'COMMUNITY',
              firstName: 'Pat',
              lastName: `Reader ${j}`,
              password: PASSWORD,
            }),
          );
        }
        await Promise.all(batch);
      }
      log(`  seeded ${opts.users} users in ${code} (argon2id m=${argon2.memoryKiB} t=${argon2.timeCost} p=${argon2.parallelism}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return { id: inst.id, key };
    } finally {
      await app.close();
    }
  };
  return { owasp: await seedOne('AUTHBENCH', OWASP), keycloak: await seedOne('AUTHKC', KEYCLOAK) };
}

/** The library alone: verifies per second with as many in flight as libuv has threads (4). */
async function bareVerifyRate(argon2: Argon2, seconds: number): Promise<number> {
  const stored = await hash(PASSWORD, { algorithm: 2, memoryCost: argon2.memoryKiB, timeCost: argon2.timeCost, parallelism: argon2.parallelism });
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      if (!(await verify(stored, PASSWORD))) throw new Error('verify failed');
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, worker));
  return Math.round(done / ((performance.now() - t0) / 1000));
}

interface Storm {
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  latency: Latency;
  /**
   * CPU milliseconds per login of the server process (its argon2 threads included) and of the
   * PostgreSQL backends of the benchmark database: what a login costs, whatever else shares the machine.
   */
  cpuMs?: { server: number; postgres: number };
}

/** PostgreSQL backends serving the benchmark database (others' tests use the same server). */
function benchBackends(): Set<number> {
  const name = new URL(opts.databaseUrl).pathname.slice(1);
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(` ${name} `)) pids.add(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** POSTs in turn to every path, with the password header, from `connections` connections. */
async function storm(baseUrl: string, paths: string[], headers: Record<string, string>, seconds: number, serverPid?: number): Promise<Storm> {
  const before = cpuSnapshot();
  let next = 0;
  const samples: number[] = [];
  const instance = autocannon({
    url: baseUrl,
    connections: opts.connections,
    duration: seconds,
    timeout: 20,
    headers: { ...headers, 'exl-user-pw': encodeURIComponent(PASSWORD) },
    requests: [{ method: 'POST', setupRequest: (req) => ((req.path = paths[next++ % paths.length]!), req) }],
  });
  instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
    if (status === 204) samples.push(ms);
  });
  const r = await instance;
  const after = cpuSnapshot();
  const backends = benchBackends();
  const per = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, r['2xx'])) / 1000;
  return {
    rps: Math.round(r['2xx'] / r.duration),
    requests: r['2xx'] + r.non2xx,
    non2xx: r.non2xx,
    errors: r.errors,
    latency: latencyOf(samples),
    ...(serverPid
      ? {
          cpuMs: {
            server: per(cpuUsed(before, after, (pid) => pid === serverPid)),
            postgres: per(cpuUsed(before, after, (pid, comm) => comm === 'postgres' && backends.has(pid))),
          },
        }
      : {}),
  };
}

function assertClean(what: string, s: Storm): void {
  if (s.non2xx || s.errors || s.requests === 0) throw new Error(`${what}: ${s.non2xx} non-2xx, ${s.errors} errors of ${s.requests}`);
}

async function startCarrel(argon2: Argon2): Promise<{ child: Child; baseUrl: string }> {
  const { child, match } = await start(process.execPath, [join(BUILD, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', '--no-worker'], {
    name: 'Carrel',
    ready: /Carrel is serving on (http:\/\/\S+)/,
    timeoutMs: 120_000,
    env: { LOG_LEVEL: 'warn', CARREL_CONFIG: '', DATABASE_URL: opts.databaseUrl, CARREL_SMTP_URL: '', ...argonEnv(argon2) },
  });
  return { child, baseUrl: match[1]! };
}

async function startThin(institutionId: string): Promise<{ child: Child; baseUrl: string }> {
  const { child, match } = await start(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'auth-thin-server.ts'), '--database-url', opts.databaseUrl, '--institution-id', institutionId, '--port', '0'],
    { name: 'thin password check', ready: /^\{"port":(\d+)\}$/ },
  );
  return { child, baseUrl: `http://127.0.0.1:${match[1]}` };
}

/** One right and one wrong password on each server before anything is timed. */
async function check(name: string, url: string, headers: Record<string, string>): Promise<void> {
  const ask = (pw: string) => fetch(url, { method: 'POST', headers: { ...headers, 'exl-user-pw': encodeURIComponent(pw) } });
  const right = await ask(PASSWORD);
  const wrong = await ask('not the password');
  if (right.status !== 204 || wrong.status !== 400) throw new Error(`${name}: right ${right.status}, wrong ${wrong.status}: ${await right.text()}`);
}

async function main() {
  if (!values['no-build'] || !existsSync(join(BUILD, 'dist', 'src', 'cli', 'main.js'))) build();
  const machine = machineInfo();
  log(`machine: ${JSON.stringify(machine)}`);
  log(`== seeding ${opts.databaseUrl}`);
  const seeded = await seed();
  const paths = Array.from({ length: opts.users }, (_, i) => `/almaws/v1/users/auth-${String(i + 1).padStart(6, '0')}?op=auth`);
  const thinPaths = Array.from({ length: opts.users }, (_, i) => `/users/auth-${String(i + 1).padStart(6, '0')}`);
  const keyHeaders = (key: string) => ({ authorization: `apikey ${key}` });

  await quiet();
  const bare = await bareVerifyRate(OWASP, Math.max(5, opts.seconds / 2));
  log(`  bare @node-rs/argon2 verify (OWASP m=19456 t=2 p=1, 4 in flight): ${bare}/s`);

  const children: Child[] = [];
  const result: Record<string, unknown> = { machine, users: opts.users, connections: opts.connections, seconds: opts.seconds, bare };
  try {
    const thin = await startThin(seeded.owasp.id);
    children.push(thin.child);
    let carrel = await startCarrel(OWASP);
    children.push(carrel.child);
    await check('thin', `${thin.baseUrl}${thinPaths[0]}`, {});
    await check('Carrel', `${carrel.baseUrl}${paths[0]}`, keyHeaders(seeded.owasp.key));
    await storm(thin.baseUrl, thinPaths, {}, 3);
    await storm(carrel.baseUrl, paths, keyHeaders(seeded.owasp.key), 3);

    const rounds: { thin: Storm; carrel: Storm; busy: number }[] = [];
    for (let r = 1; r <= opts.rounds; r++) {
      const busy = await quiet();
      // Who goes first alternates, so a neighbour's burst does not always land on the same server.
      const runThin = () => storm(thin.baseUrl, thinPaths, {}, opts.seconds, thin.child.pid);
      const runCarrel = () => storm(carrel.baseUrl, paths, keyHeaders(seeded.owasp.key), opts.seconds, carrel.child.pid);
      let t: Storm;
      let c: Storm;
      if (r % 2) {
        t = await runThin();
        c = await runCarrel();
      } else {
        c = await runCarrel();
        t = await runThin();
      }
      assertClean('thin', t);
      assertClean('Carrel op=auth', c);
      rounds.push({ thin: t, carrel: c, busy });
      log(
        `  round ${r}: thin ${t.rps}/s p99 ${t.latency.p99} ms | Carrel op=auth ${c.rps}/s p99 ${c.latency.p99} ms | ratio ${(c.rps / t.rps).toFixed(3)}` +
          ` | CPU ms/login server+postgres: thin ${t.cpuMs!.server}+${t.cpuMs!.postgres}, Carrel ${c.cpuMs!.server}+${c.cpuMs!.postgres}`,
      );
    }
    const ratio = median(rounds.map((r) => r.carrel.rps / r.thin.rps));
    // What the ratio would be on a machine of its own: logins per CPU second, server + PostgreSQL.
    const cost = (s: Storm) => s.cpuMs!.server + s.cpuMs!.postgres;
    result.cpuRatio = median(rounds.map((r) => cost(r.thin) / cost(r.carrel)));
    result.cpuMsPerLogin = { thin: median(rounds.map((r) => cost(r.thin))), carrel: median(rounds.map((r) => cost(r.carrel))) };
    result.rounds = rounds;
    result.thinRps = median(rounds.map((r) => r.thin.rps));
    result.carrelRps = median(rounds.map((r) => r.carrel.rps));
    result.ratio = ratio;

    // No side-by-side storm: Carrel hashes below the event loop's priority on purpose
    // (src/domain/identity/hash-threads.ts), so beside a server at normal priority it yields
    // the cores by design. The rounds alternate instead, and CPU per login is compared.

    // /healthz alone, then paced beside a login storm (open loop: a stall counts against every probe).
    await quiet();
    const healthPaths = ['/healthz'];
    const healthIdle: PacedResult = await paced({ baseUrl: carrel.baseUrl, paths: healthPaths, connections: 4, seconds: opts.seconds, rate: opts.healthRate });
    const [healthStorm, during] = await Promise.all([
      paced({ baseUrl: carrel.baseUrl, paths: healthPaths, connections: 4, seconds: opts.seconds, rate: opts.healthRate }),
      storm(carrel.baseUrl, paths, keyHeaders(seeded.owasp.key), opts.seconds),
    ]);
    log(`  /healthz at ${opts.healthRate}/s: p99 ${healthIdle.latency.p99} ms idle, ${healthStorm.latency.p99} ms during a login storm of ${during.rps}/s`);
    result.health = { idle: healthIdle, storm: healthStorm, loginsDuring: during.rps };

    // Keycloak's default argon2 cost, users hashed at it.
    await carrel.child.stop();
    children.pop();
    carrel = await startCarrel(KEYCLOAK);
    children.push(carrel.child);
    await check('Carrel (Keycloak cost)', `${carrel.baseUrl}${paths[0]}`, keyHeaders(seeded.keycloak.key));
    await storm(carrel.baseUrl, paths, keyHeaders(seeded.keycloak.key), 3);
    await quiet();
    const kcBare = await bareVerifyRate(KEYCLOAK, Math.max(5, opts.seconds / 2));
    const kcRuns: Storm[] = [];
    for (let r = 1; r <= Math.min(2, opts.rounds); r++) {
      await quiet();
      const s = await storm(carrel.baseUrl, paths, keyHeaders(seeded.keycloak.key), opts.seconds, carrel.child.pid);
      assertClean('Carrel op=auth (Keycloak cost)', s);
      kcRuns.push(s);
    }
    const kcRps = median(kcRuns.map((s) => s.rps));
    const cpus = availableParallelism();
    // Logins per CPU second of Carrel and PostgreSQL: a vCPU's worth, whoever else is busy.
    const perCpuSecond = Math.round(1000 / median(kcRuns.map((s) => s.cpuMs!.server + s.cpuMs!.postgres)));
    log(
      `  Keycloak cost (m=7168 t=5 p=1): bare verify ${kcBare}/s; Carrel op=auth ${kcRps}/s = ${(kcRps / cpus).toFixed(0)} per vCPU measured,` +
        ` ${perCpuSecond} per CPU second (Keycloak publishes 15 per vCPU)`,
    );
    result.keycloak = { bare: kcBare, rps: kcRps, perVcpu: Math.round(kcRps / cpus), perCpuSecond, runs: kcRuns };
  } finally {
    for (const c of children.reverse()) await c.stop();
  }

  const r = result as {
    bare: number;
    thinRps: number;
    carrelRps: number;
    ratio: number;
    cpuRatio: number;
    cpuMsPerLogin: { thin: number; carrel: number };
    health: { idle: PacedResult; storm: PacedResult };
    keycloak: { bare: number; rps: number; perVcpu: number; perCpuSecond: number };
  };
  const rows: [string, string, string, string][] = [
    ['bare @node-rs/argon2 verify, 4 in flight (OWASP m=19456 t=2 p=1)', `${r.bare}/s`, '', ''],
    ['thin password check (1 pg select + verify)', `${Math.round(r.thinRps)}/s`, '', ''],
    ['Carrel op=auth', `${Math.round(r.carrelRps)}/s`, '', ''],
    ['op=auth / thin', r.ratio.toFixed(3), '>= 0.90', r.ratio >= 0.9 ? 'PASS' : 'FAIL'],
    ['thin / bare', (r.thinRps / r.bare).toFixed(3), '', ''],
    ['CPU ms per login, server + PostgreSQL: thin / Carrel', `${r.cpuMsPerLogin.thin.toFixed(2)} / ${r.cpuMsPerLogin.carrel.toFixed(2)}`, '', ''],
    ['op=auth / thin, in logins per CPU second', r.cpuRatio.toFixed(3), '>= 0.90', r.cpuRatio >= 0.9 ? 'PASS' : 'FAIL'],
    ['GET /healthz p99 during the login storm', `${r.health.storm.latency.p99} ms`, '< 50 ms', r.health.storm.latency.p99 < 50 ? 'PASS' : 'FAIL'],
    ['GET /healthz p99, no storm', `${r.health.idle.latency.p99} ms`, '', ''],
    ['bare verify at Keycloak cost (m=7168 t=5 p=1)', `${r.keycloak.bare}/s`, '', ''],
    ['Carrel op=auth at Keycloak cost', `${Math.round(r.keycloak.rps)}/s (${r.keycloak.perVcpu} per vCPU)`, 'Keycloak: 15/s per vCPU', ''],
    ['  the same in logins per CPU second (Carrel + PostgreSQL)', `${r.keycloak.perCpuSecond}`, 'Keycloak: 15', ''],
  ];
  log('\n| measure | value | target | |\n|---|---|---|---|');
  for (const row of rows) log(`| ${row.join(' | ')} |`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `auth-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  log(`\nsaved ${file}`);
}

await main();
