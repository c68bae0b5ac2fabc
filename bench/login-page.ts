// The login-page benchmark, on PostgreSQL: a full password sign-in as a browser makes it (GET the
// form, take its CSRF cookie and token, POST user name and password, get the session cookie)
// against the bare verify rate of @node-rs/argon2 at the same cost, in alternating rounds of one
// run. Target (issue 9): sign-ins per second at least 0.85 of bare verifies per second.
// A third leg, bench/login-thin-server.ts, is the thinnest service doing the same job (form and
// CSRF cookie, one select, the verify, one session insert): the floor any login page meets here,
// so the table shows how far HTTP and a database alone sit below bare verifies, and how close
// Carrel comes to that floor.
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

async function seed(): Promise<string> {
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
    return inst.id;
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

/** Where a leg's login page is and what its cookies are called. */
interface Site {
  page: string;
  csrfCookie: string;
  sessionCookie: string;
}
const carrelSite = (baseUrl: string): Site => ({ page: `${baseUrl}/auth/${CODE}/login`, csrfCookie: 'carrel_csrf', sessionCookie: 'carrel_session' });
const thinSite = (baseUrl: string): Site => ({ page: `${baseUrl}/login`, csrfCookie: 'thin_csrf', sessionCookie: 'thin_session' });

/** One browser's sign-in: the form, its CSRF cookie and token, the POST, the session cookie. */
async function signIn(site: Site, id: string): Promise<void> {
  const form = await fetch(site.page);
  const body = await form.text();
  const csrfCookie = cookie(form, site.csrfCookie);
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (form.status !== 200 || !csrfCookie || !token) throw new Error(`login form: ${form.status}`);
  const res = await fetch(site.page, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ identifier: id, password: PASSWORD, _csrf: token }).toString(),
  });
  await res.arrayBuffer();
  if (res.status !== 303 || !cookie(res, site.sessionCookie)) throw new Error(`sign-in of ${id}: ${res.status}`);
}

async function pageRate(site: Site, seconds: number): Promise<{ rate: number; latency: Latency }> {
  let next = 0;
  const samples: number[] = [];
  const end = performance.now() + seconds * 1000;
  const browser = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await signIn(site, userId((next++ % opts.users) + 1));
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
  const institutionId = await seed();
  const children: Child[] = [];
  type Leg = 'bare' | 'thin' | 'page';
  const rounds: (Record<Leg, number> & { latency: Record<'thin' | 'page', Latency> })[] = [];
  try {
    const carrel = await start(process.execPath, [join(BUILD, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0', '--no-worker'], {
      name: 'Carrel',
      ready: /Carrel is serving on (http:\/\/\S+)/,
      timeoutMs: 120_000,
      env: { LOG_LEVEL: 'warn', CARREL_CONFIG: '', DATABASE_URL: opts.databaseUrl, CARREL_SMTP_URL: '', ...argonEnv() },
    });
    children.push(carrel.child);
    const thin = await start(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'login-thin-server.ts'), '--database-url', opts.databaseUrl, '--institution-id', institutionId, '--port', '0'],
      { name: 'thin login page', ready: /^\{"port":(\d+)\}$/ },
    );
    children.push(thin.child);
    const sites = { page: carrelSite(carrel.match[1]!), thin: thinSite(`http://127.0.0.1:${thin.match[1]!}`) };
    for (const site of Object.values(sites)) {
      await signIn(site, userId(1));
      await pageRate(site, Math.min(3, opts.seconds)); // warm-up
    }
    // Who goes first rotates, so a neighbour's burst does not always land on the same leg.
    const orders: Leg[][] = [
      ['bare', 'thin', 'page'],
      ['page', 'bare', 'thin'],
      ['thin', 'page', 'bare'],
    ];
    for (let r = 1; r <= opts.rounds; r++) {
      await quiet();
      const round = { latency: {} } as (typeof rounds)[number];
      for (const leg of orders[(r - 1) % orders.length]!) {
        if (leg === 'bare') round.bare = await bareVerifyRate(opts.seconds);
        else {
          const m = await pageRate(sites[leg], opts.seconds);
          round[leg] = m.rate;
          round.latency[leg] = m.latency;
        }
      }
      rounds.push(round);
      log(
        `  round ${r}: bare verify ${round.bare.toFixed(1)}/s | thin page ${round.thin.toFixed(1)}/s | Carrel page ${round.page.toFixed(1)}/s p99 ${round.latency.page.p99} ms` +
          ` | Carrel/bare ${(round.page / round.bare).toFixed(3)}, thin/bare ${(round.thin / round.bare).toFixed(3)}, Carrel/thin ${(round.page / round.thin).toFixed(3)}`,
      );
    }
  } finally {
    for (const child of children) await child.stop();
  }
  const ratio = median(rounds.map((r) => r.page / r.bare));
  const thinRatio = median(rounds.map((r) => r.thin / r.bare));
  const ofThin = median(rounds.map((r) => r.page / r.thin));
  log('\n| measure | value | target | |\n|---|---|---|---|');
  log(`| bare @node-rs/argon2 verify, ${opts.concurrency} in flight (OWASP m=19456 t=2 p=1) | ${median(rounds.map((r) => r.bare)).toFixed(1)}/s | | |`);
  log(`| thinnest login page (form, CSRF, select, verify, session insert), ${opts.concurrency} browsers | ${median(rounds.map((r) => r.thin)).toFixed(1)}/s | | |`);
  log(`| Carrel's login page (form, CSRF, throttle, verify, session, audit), ${opts.concurrency} browsers | ${median(rounds.map((r) => r.page)).toFixed(1)}/s | | |`);
  log(`| thin page / bare verify (the floor of any login page here) | ${thinRatio.toFixed(3)} | | |`);
  log(`| Carrel page / thin page | ${ofThin.toFixed(3)} | | |`);
  log(`| Carrel page / bare verify | ${ratio.toFixed(3)} | >= 0.85 | ${ratio >= 0.85 ? 'PASS' : 'FAIL'} |`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `login-page-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine, opts, rounds, ratio, thinRatio, carrelOfThin: ofThin }, null, 2));
  log(`\nsaved ${file}`);
}

await main();
