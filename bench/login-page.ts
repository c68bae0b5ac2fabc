// The login-page benchmark, on PostgreSQL: a full password sign-in as a browser makes it (GET the
// form, take its CSRF cookie and token, POST user name and password, get the session cookie)
// against the bare verify rate of @node-rs/argon2 at the same cost, in alternating rounds of one
// run. Target (issue 9): sign-ins per second at least 0.85 of bare verifies per second.
//
//   npm run bench:login-page -- --users 200 --duration 10 --rounds 3
// Brief check that it runs: --users 20 --duration 2 --rounds 2 --quiet-wait 0
// It measures the built program (built into bench/data/login-build; --no-build reuses it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import pg from 'pg';
import { latencyOf, type Latency } from './load.js';
import { start, waitQuiet, type Child } from './procs.js';
import { machineInfo } from './report.js';
import { loadCarrel } from './seed.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    // Browsers signing in at once; 4 matches the bare loop's verifies in flight (and Carrel's hash threads).
    concurrency: { type: 'string', default: '4' },
    quiet: { type: 'string', default: '0.25' },
    'quiet-wait': { type: 'string', default: '90' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_bench_login' },
    'no-build': { type: 'boolean', default: false },
  },
});
const opts = {
  users: Number(values.users),
  seconds: Number(values.duration),
  rounds: Number(values.rounds),
  concurrency: Number(values.concurrency),
  quietBusy: Number(values.quiet),
  quietWaitS: Number(values['quiet-wait']),
  databaseUrl: values['database-url'],
};
const log = (s: string) => console.log(s);
const PASSWORD = 'Bench password 2024!';
const OWASP = { memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
const CODE = 'LOGINBENCH';
const BUILD = join(ROOT, 'bench', 'data', 'login-build');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};
const quiet = () => (opts.quietWaitS > 0 ? waitQuiet(opts.quietBusy, opts.quietWaitS * 1000, log) : Promise.resolve(0));
const userId = (i: number) => `page-${String(i).padStart(6, '0')}`;

function build(): void {
  log(`building Carrel into ${BUILD}/dist`);
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out-dir', join(BUILD, 'dist')], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
}

async function seed(): Promise<void> {
  const url = new URL(opts.databaseUrl);
  const name = url.pathname.slice(1);
  if (!/^carrel_bench/.test(name)) throw new Error('the benchmark database name must start with carrel_bench (it is dropped)');
  const admin = new pg.Client({ connectionString: Object.assign(new URL(opts.databaseUrl), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const carrel = await loadCarrel(BUILD);
  const app = await carrel.createApp(carrel.loadConfig({ DATABASE_URL: opts.databaseUrl, ...argonEnv() }, { logLevel: 'silent' }));
  try {
    const inst = await app.services.institutions.create({ code: CODE, name: 'Login page bench' });
    const system = { kind: 'system' as const, label: 'login page bench' };
    for (let i = 1; i <= opts.users; i += 8) {
      const batch = [];
      for (let j = i; j < Math.min(i + 8, opts.users + 1); j++) {
        batch.push(
          app.services.users.create(system, inst.id, {
            primaryId: userId(j),
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
    log(`  seeded ${opts.users} users (argon2id m=${OWASP.memoryKiB} t=${OWASP.timeCost} p=${OWASP.parallelism})`);
  } finally {
    await app.close();
  }
}

function argonEnv() {
  return { CARREL_ARGON2_MEMORY_KIB: String(OWASP.memoryKiB), CARREL_ARGON2_TIME_COST: String(OWASP.timeCost), CARREL_ARGON2_PARALLELISM: String(OWASP.parallelism) };
}

/** The library alone: verifies per second with `concurrency` in flight. */
async function bareVerifyRate(seconds: number): Promise<number> {
  const stored = await hash(PASSWORD, { algorithm: 2, memoryCost: OWASP.memoryKiB, timeCost: OWASP.timeCost, parallelism: OWASP.parallelism });
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      if (!(await verify(stored, PASSWORD))) throw new Error('verify failed');
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return done / ((performance.now() - t0) / 1000);
}

const cookie = (res: Response, name: string) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];

/** One browser's sign-in: the form, its CSRF cookie and token, the POST, the session cookie. */
async function signIn(baseUrl: string, id: string): Promise<void> {
  const form = await fetch(`${baseUrl}/auth/${CODE}/login`);
  const body = await form.text();
  const csrfCookie = cookie(form, 'carrel_csrf');
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (form.status !== 200 || !csrfCookie || !token) throw new Error(`login form: ${form.status}`);
  const res = await fetch(`${baseUrl}/auth/${CODE}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ identifier: id, password: PASSWORD, _csrf: token }).toString(),
  });
  await res.arrayBuffer();
  if (res.status !== 303 || !cookie(res, 'carrel_session')) throw new Error(`sign-in of ${id}: ${res.status}`);
}

async function pageRate(baseUrl: string, seconds: number): Promise<{ rate: number; latency: Latency }> {
  let next = 0;
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  const browser = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await signIn(baseUrl, userId((next++ % opts.users) + 1));
      samples.push(performance.now() - t);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.concurrency }, browser));
  return { rate: samples.length / ((performance.now() - t0) / 1000), latency: latencyOf(samples) };
}

async function main() {
  if (!values['no-build'] || !existsSync(join(BUILD, 'dist', 'src', 'cli', 'main.js'))) build();
  const machine = machineInfo();
  log(`machine: ${JSON.stringify(machine)}`);
  log(`== seeding ${opts.databaseUrl}`);
  await seed();
  let carrel: Child | undefined;
  const rounds: { bare: number; page: number; ratio: number; latency: Latency }[] = [];
  try {
    const started = await start(process.execPath, [join(BUILD, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', '--no-worker'], {
      name: 'Carrel',
      ready: /Carrel is serving on (http:\/\/\S+)/,
      timeoutMs: 120_000,
      env: { LOG_LEVEL: 'warn', CARREL_CONFIG: '', DATABASE_URL: opts.databaseUrl, CARREL_SMTP_URL: '', ...argonEnv() },
    });
    carrel = started.child;
    const baseUrl = started.match[1]!;
    await signIn(baseUrl, userId(1));
    await pageRate(baseUrl, Math.min(3, opts.seconds)); // warm-up
    for (let r = 1; r <= opts.rounds; r++) {
      // Who goes first alternates, so a neighbour's burst does not always land on the same side.
      await quiet();
      let bare: number;
      let page: Awaited<ReturnType<typeof pageRate>>;
      if (r % 2) {
        bare = await bareVerifyRate(opts.seconds);
        page = await pageRate(baseUrl, opts.seconds);
      } else {
        page = await pageRate(baseUrl, opts.seconds);
        bare = await bareVerifyRate(opts.seconds);
      }
      rounds.push({ bare, page: page.rate, ratio: page.rate / bare, latency: page.latency });
      log(`  round ${r}: bare verify ${bare.toFixed(1)}/s | page sign-in ${page.rate.toFixed(1)}/s p99 ${page.latency.p99} ms | ratio ${(page.rate / bare).toFixed(3)}`);
    }
  } finally {
    await carrel?.stop();
  }
  const ratio = median(rounds.map((r) => r.ratio));
  log('\n| measure | value | target | |\n|---|---|---|---|');
  log(`| bare @node-rs/argon2 verify, ${opts.concurrency} in flight (OWASP m=19456 t=2 p=1) | ${median(rounds.map((r) => r.bare)).toFixed(1)}/s | | |`);
  log(`| full sign-in on the login page (form, CSRF, POST, session), ${opts.concurrency} browsers | ${median(rounds.map((r) => r.page)).toFixed(1)}/s | | |`);
  log(`| page sign-in / bare verify | ${ratio.toFixed(3)} | >= 0.85 | ${ratio >= 0.85 ? 'PASS' : 'FAIL'} |`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `login-page-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, opts, rounds, ratio }, null, 2));
  log(`\nsaved ${file}`);
}

await main();
