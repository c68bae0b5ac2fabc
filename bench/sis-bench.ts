// The SIS load benchmark (issue 4): `carrel import` of a generated Alma user XML zip, as an
// operator runs it, on PostgreSQL and on the embedded PGlite:
//   1. N new users from one zip;
//   2. the same N users again, unchanged (a nightly re-synchronization);
//   3. optionally a larger file (--large M), for the peak memory at another size.
// Each import runs in its own process from the built JavaScript (as `npm start` runs Carrel); its
// wall time, the job's own time, the process's peak RSS (VmHWM, read from /proc while it runs)
// and the CPU it and PostgreSQL's processes used are recorded.
//
//   npm run bench:sis -- --users 100000 --engine both [--large 300000] [--cpu-prof DIR]
// Results print as a table and are saved as JSON under bench/results/ (not committed).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { campusUser, writeXmlZip } from '../test/helpers/campus-file.js';
import { cpuSnapshot, runToEnd, waitQuiet } from './procs.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    large: { type: 'string' },
    engine: { type: 'string', default: 'both' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_sis_bench' },
    'pglite-dir': { type: 'string', default: join(ROOT, 'bench', 'data', 'sis-pglite') },
    quiet: { type: 'string', default: '0.25' },
    'quiet-wait': { type: 'string', default: '180' },
    'no-build': { type: 'boolean', default: false },
    /** A folder for CPU profiles of each import (one per thread: node --cpu-prof). */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.users);
const engines = values.engine === 'both' ? ['postgres', 'pglite'] : [values.engine!];
const DATA = join(ROOT, 'bench', 'data');
const BUILD = join(DATA, 'build');
const MAIN = join(BUILD, 'src', 'cli', 'main.js');

function build(): void {
  if (values['no-build'] && existsSync(MAIN)) return;
  log(`building Carrel into ${BUILD}`);
  runToEnd(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out-dir', BUILD], 300_000);
}
const log = (s: string) => console.log(s);

interface Phase {
  engine: string;
  phase: string;
  users: number;
  /** The command, from process start to exit (includes hashing and storing the upload). */
  wallS: number;
  /** The job alone, as it reports (started to finished). */
  jobS: number;
  usersPerS: number;
  peakRssMb: number;
  postgresCpuS: number | null;
  importCpuS: number;
  busyBefore: number;
  summary: string;
}

async function fileFor(n: number): Promise<string> {
  mkdirSync(DATA, { recursive: true });
  const path = join(DATA, `sis-${n}.zip`);
  if (!existsSync(path)) {
    log(`generating ${n} users into ${path}`);
    await writeXmlZip(path, n, (i) => campusUser(i));
  }
  return path;
}

function envFor(engine: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LOG_LEVEL: 'warn',
    DATABASE_URL: engine === 'postgres' ? values['database-url'] : '',
    CARREL_DATA_DIR: values['pglite-dir'],
  };
}

async function freshDatabase(engine: string): Promise<void> {
  if (engine === 'pglite') {
    rmSync(values['pglite-dir']!, { recursive: true, force: true });
    return;
  }
  const url = new URL(values['database-url']!);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
}

function carrel(engine: string, ...args: string[]): string {
  const env = envFor(engine);
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runToEnd(process.execPath, [MAIN, ...args], 600_000);
  } finally {
    process.env = saved;
  }
}

/** Runs one import in a child process, sampling its peak RSS from /proc until it exits. */
async function measureImport(engine: string, phase: string, file: string, users: number): Promise<Phase> {
  const busyBefore = await waitQuiet(Number(values.quiet), Number(values['quiet-wait']) * 1000, log);
  const before = cpuSnapshot();
  const started = Date.now();
  const child = spawn(process.execPath, [...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : []), MAIN, 'import', file, '--institution', '01SISBENCH', '--profile', 'CAMPUS'], {
    env: envFor(engine),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', () => {});
  let peakKb = 0;
  let cpuS = 0;
  // PostgreSQL backends end with the import's connections, so their CPU is read while they live;
  // only backends of the benchmark's database count (others share this machine).
  const dbName = new URL(values['database-url']!).pathname.slice(1);
  const pgSeen = new Map<number, number>();
  const samplePostgres = () => {
    for (const [pid, p] of cpuSnapshot()) {
      if (p.comm !== 'postgres') continue;
      const cmd = (() => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      })();
      if (cmd.includes(` ${dbName} `)) pgSeen.set(pid, Math.max(pgSeen.get(pid) ?? 0, p.seconds));
    }
  };
  const pgTimer = engine === 'postgres' ? setInterval(samplePostgres, 500) : undefined;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKb = Math.max(peakKb, Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0));
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuS = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // exited
    }
  };
  const timer = setInterval(sample, 100);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearInterval(timer);
  if (pgTimer) clearInterval(pgTimer);
  const wallS = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`import exited ${code}:\n${out}`);
  const jobS = Number(/succeeded in ([\d.]+) s/.exec(out)?.[1] ?? NaN);
  return {
    engine,
    phase,
    users,
    wallS: round(wallS),
    jobS,
    usersPerS: Math.round(users / jobS),
    peakRssMb: Math.round(peakKb / 1024),
    postgresCpuS: engine === 'postgres' ? round([...pgSeen].reduce((sum, [pid, s]) => sum + s - (before.get(pid)?.seconds ?? 0), 0)) : null,
    importCpuS: round(cpuS),
    busyBefore: Math.round(busyBefore * 100) / 100,
    summary: /records .*/.exec(out)?.[0] ?? '',
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

async function runEngine(engine: string): Promise<Phase[]> {
  log(`\n== ${engine} ==`);
  const file = await fileFor(N);
  await freshDatabase(engine);
  carrel(engine, 'institution', 'create', '01SISBENCH', '--name', 'SIS benchmark');
  carrel(engine, 'profile', 'create', 'CAMPUS', '--institution', '01SISBENCH', '--match-by', 'UNIV_ID', '--mode', 'synchronize', '--format', 'alma_xml');
  const phases: Phase[] = [];
  phases.push(await measureImport(engine, `${N} new users`, file, N));
  log(JSON.stringify(phases.at(-1)));
  phases.push(await measureImport(engine, `${N} unchanged users (re-sync)`, file, N));
  log(JSON.stringify(phases.at(-1)));
  if (values.large) {
    const M = Number(values.large);
    const large = await fileFor(M);
    await freshDatabase(engine);
    carrel(engine, 'institution', 'create', '01SISBENCH', '--name', 'SIS benchmark');
    carrel(engine, 'profile', 'create', 'CAMPUS', '--institution', '01SISBENCH', '--match-by', 'UNIV_ID', '--mode', 'synchronize', '--format', 'alma_xml');
    phases.push(await measureImport(engine, `${M} new users`, large, M));
    log(JSON.stringify(phases.at(-1)));
  }
  return phases;
}

build();
const all: Phase[] = [];
for (const engine of engines) all.push(...(await runEngine(engine)));
// Where the time goes (issue 8): CPU per user in the importer and in PostgreSQL's backends.
const perUser = (s: number | null, users: number) => (s === null ? '-' : ((s * 1000) / users).toFixed(3));
log('\n| engine | phase | job s | command s | users/s | peak RSS MB | import CPU s | PostgreSQL CPU s | import CPU ms/user | PostgreSQL CPU ms/user | CPU busy before |');
log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const p of all) {
  log(`| ${p.engine} | ${p.phase} | ${p.jobS} | ${p.wallS} | ${p.usersPerS} | ${p.peakRssMb} | ${p.importCpuS} | ${p.postgresCpuS ?? '-'} | ${perUser(p.importCpuS, p.users)} | ${perUser(p.postgresCpuS, p.users)} | ${Math.round(p.busyBefore * 100)}% |`);
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out = join(ROOT, 'bench', 'results', `sis-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), file: { users: N, bytes: statSync(join(DATA, `sis-${N}.zip`)).size }, phases: all }, null, 2));
log(`\nsaved ${out}`);
