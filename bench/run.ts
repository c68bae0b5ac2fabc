// The benchmark: seed, bare `pg` loop, thin server, Carrel, brief search, idle memory; on
// PostgreSQL and on the embedded PGlite. Every phase is bounded and every child is stopped.
//
//   npm run bench -- --users 100000 --duration 10 --engine both
// Results print as one table and are saved as JSON under bench/results/ (not committed).
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bareLoop, openBare, type BareResult } from './bare.js';
import { closeAgent, get, load, paced, sequential, type Latency } from './load.js';
import { prng } from './names.js';
import { barcodeOf, personOf } from './people.js';
import { memoryOf, runToEnd, sleep, start, waitQuiet, type Child } from './procs.js';
import { assertClean, median, summarize, withCpu, type CpuShare } from './measure.js';
import { machineInfo, printTable, type EngineResult, type Measured, type RunResult } from './report.js';
import { ensureSeeded, INSTITUTION_CODE, loadCarrel, type Engine, type Target } from './seed.js';
import { fillDocs, JSON_ACCEPT, XML_ACCEPT } from './docs.js';

const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    'pglite-users': { type: 'string' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    quiet: { type: 'string', default: '0.2' },
    'quiet-wait': { type: 'string', default: '120' },
    engine: { type: 'string', default: 'both' },
    connections: { type: 'string', default: '32' },
    'search-requests': { type: 'string', default: '500' },
    'bare-queries': { type: 'string', default: '10000' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_bench' },
    'pglite-dir': { type: 'string', default: join(ROOT, 'bench', 'data', 'pglite') },
    'no-build': { type: 'boolean', default: false },
    /** Another checkout of Carrel (e.g. with a proposed change) to build and measure instead. */
    'carrel-root': { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const opts = {
  users: Number(values.users),
  pgliteUsers: Number(values['pglite-users'] ?? values.users),
  seconds: Number(values.duration),
  rounds: Number(values.rounds),
  /** Wait before each measured phase until the machine is at most this busy (1 = never wait)... */
  quietBusy: Number(values.quiet),
  /** ...or this many seconds have passed. */
  quietWaitS: Number(values['quiet-wait']),
  connections: Number(values.connections),
  searchRequests: Number(values['search-requests']),
  bareQueries: Number(values['bare-queries']),
  engines: (values.engine === 'both' ? ['postgres', 'pglite'] : [values.engine]) as Engine[],
};
const CARREL_ROOT = values['carrel-root'] ?? ROOT;
const BENCH_DB = decodeURIComponent(new URL(values['database-url']).pathname.slice(1));
const SEARCH_PATH = '/almaws/v1/users?q=last_name~smi';
/** Brief searches timed one at a time (issue 8); the first is also loaded at 4 connections. */
const SEARCHES = [SEARCH_PATH, '/almaws/v1/users?q=email~smith', '/almaws/v1/users?q=ALL~smith'];
const RESULTS = join(ROOT, 'bench', 'results');
const log = (s: string) => console.log(s);

function buildCarrel(): string[] {
  const notes: string[] = [];
  log(`building Carrel (npm run build in ${CARREL_ROOT})`);
  runToEnd('npm', ['run', 'build', '--silent', '--prefix', CARREL_ROOT], 300_000);
  // An older checkout's build did not copy the .sql migrations, which Carrel cannot start without.
  const migrations = join(CARREL_ROOT, 'dist', 'src', 'db', 'migrations');
  if (!existsSync(migrations)) {
    cpSync(join(CARREL_ROOT, 'src', 'db', 'migrations'), migrations, { recursive: true });
    notes.push('dist/src/db/migrations was missing after `npm run build`; copied from src/db/migrations');
    log(`  note: ${notes.at(-1)}`);
  }
  return notes;
}

/** Users to ask for, drawn at random (fixed seed) from the whole range. */
function sampleIndexes(users: number, n: number): number[] {
  const rand = prng(42);
  return Array.from({ length: n }, () => 2 + Math.floor(rand() * (users - 1)));
}

async function startThin(target: Target): Promise<{ child: Child; baseUrl: string }> {
  const dbArgs = target.engine === 'postgres' ? ['--database-url', target.databaseUrl!] : ['--data-dir', target.dataDir!];
  const { child, match } = await start(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'thin-server.ts'), '--engine', target.engine, ...dbArgs, '--port', '0'],
    { name: 'thin server', ready: /^\{"port":(\d+)\}$/ },
  );
  return { child, baseUrl: `http://127.0.0.1:${match[1]}` };
}

/** The reference of issue 8 (PostgreSQL only): the ready-made document by one indexed select. */
async function startReference(databaseUrl: string): Promise<{ child: Child; baseUrl: string }> {
  const { child, match } = await start(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'doc-server.ts'), '--database-url', databaseUrl, '--port', '0'],
    { name: 'reference server', ready: /^\{"port":(\d+)\}$/ },
  );
  return { child, baseUrl: `http://127.0.0.1:${match[1]}` };
}

/** The reference must send what Carrel sends, byte for byte, in both formats. */
async function checkReference(refUrl: string, carrelUrl: string, headers: Record<string, string>, barcode: string): Promise<void> {
  for (const accept of [JSON_ACCEPT, XML_ACCEPT]) {
    const path = `/almaws/v1/users/${barcode}`;
    const [ref, carrel] = [await get(refUrl + path, { accept }), await get(carrelUrl + path, { ...headers, accept })];
    if (ref.status !== 200 || ref.body !== carrel.body) {
      throw new Error(`the reference answers ${accept} otherwise than Carrel (${ref.status}): ${ref.body.slice(0, 200)} | ${carrel.body.slice(0, 200)}`);
    }
  }
}

async function startCarrel(target: Target): Promise<{ child: Child; baseUrl: string }> {
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS, 'prof')] : [];
  const { child, match } = await start(process.execPath, [...prof, join(CARREL_ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', '0'], {
    name: 'Carrel',
    ready: /Carrel is serving on (http:\/\/\S+)/,
    timeoutMs: 120_000,
    env: {
      LOG_LEVEL: 'warn',
      CARREL_CONFIG: '',
      DATABASE_URL: target.engine === 'postgres' ? target.databaseUrl : '',
      CARREL_DATA_DIR: target.engine === 'pglite' ? target.dataDir : '',
    },
  });
  return { child, baseUrl: match[1]! };
}

/** One user and one search, checked for content before anything is timed. */
async function checkCarrel(baseUrl: string, headers: Record<string, string>, expectedSmi: number): Promise<void> {
  const i = 2;
  const user = await get(`${baseUrl}/almaws/v1/users/${barcodeOf(i)}`, headers);
  if (user.status !== 200) throw new Error(`GET user answered ${user.status}: ${user.body.slice(0, 500)}`);
  const body = JSON.parse(user.body) as { primary_id?: string; user_identifier?: unknown[] };
  if (body.primary_id !== personOf(i, INSTITUTION_CODE).input.primaryId || !Array.isArray(body.user_identifier)) {
    throw new Error(`GET user returned something else: ${user.body.slice(0, 500)}`);
  }
  const search = await get(baseUrl + SEARCH_PATH, headers);
  const list = JSON.parse(search.body) as { total_record_count?: number };
  if (search.status !== 200 || list.total_record_count !== expectedSmi) {
    throw new Error(`search answered ${search.status}, total ${list.total_record_count} (expected ${expectedSmi}): ${search.body.slice(0, 300)}`);
  }
  log(`  checked: full user ${user.body.length} bytes; search total_record_count ${expectedSmi}`);
}

const loadWithCpu = (opts: Parameters<typeof load>[0], serverPid: number): Promise<Measured> => withCpu(BENCH_DB, serverPid, () => load(opts));

/**
 * Thin server and Carrel run side by side and are loaded in alternating rounds, so background
 * load on the shared machine hits both alike; the ratio is the median of the paired rounds.
 */
async function measureServers(target: Target, thinTarget: Target, apiKey: string, ids: string[], barcodes: string[], expectedSmi: number) {
  const headers = { authorization: `apikey ${apiKey}`, accept: 'application/json' };
  const children: Child[] = [];
  try {
    const thin = await startThin(thinTarget);
    children.push(thin.child);
    const carrel = await startCarrel(target);
    children.push(carrel.child);
    await sleep(1000);
    const startRssMb = memoryOf(carrel.child.pid).rssMb;
    await checkCarrel(carrel.baseUrl, headers, expectedSmi);
    const carrelPaths = barcodes.map((b) => `/almaws/v1/users/${b}`);
    await sequential(carrel.baseUrl, carrelPaths, 200, headers);
    await sequential(carrel.baseUrl, [SEARCH_PATH], 20, headers);
    await sleep(3000);
    const idleRssMb = memoryOf(carrel.child.pid).rssMb;
    log(`  Carrel idle RSS ${idleRssMb.toFixed(1)} MB (${startRssMb.toFixed(1)} MB just after start)`);
    // After the idle reading: filling the reference asks Carrel 10,000 times, which is no warm-up.
    let reference: { child: Child; baseUrl: string; docs: Awaited<ReturnType<typeof fillDocs>> } | undefined;
    if (target.engine === 'postgres') {
      const started = Date.now();
      const docs = await fillDocs(target.databaseUrl!, carrel.baseUrl, apiKey, barcodes);
      const ref = await startReference(target.databaseUrl!);
      children.push(ref.child);
      await checkReference(ref.baseUrl, carrel.baseUrl, headers, barcodes[0]!);
      reference = { ...ref, docs };
      log(`  reference: ${docs.docs} ready-made documents (JSON ${docs.jsonBytes} B, XML ${docs.xmlBytes} B) from Carrel's answers, ${((Date.now() - started) / 1000).toFixed(1)} s; same bytes checked`);
    }

    const thinRun = { baseUrl: thin.baseUrl, paths: ids.map((id) => `/users/${id}`), connections: opts.connections };
    const carrelRun = { baseUrl: carrel.baseUrl, paths: carrelPaths, connections: opts.connections, headers };
    const xmlHeaders = { ...headers, accept: XML_ACCEPT };
    const carrelXmlRun = { ...carrelRun, headers: xmlHeaders };
    const refRun = reference && { baseUrl: reference.baseUrl, paths: carrelPaths, connections: opts.connections, headers: { accept: JSON_ACCEPT } };
    const refXmlRun = refRun && { ...refRun, headers: { accept: XML_ACCEPT } };
    await load({ ...thinRun, seconds: 5 });
    await load({ ...carrelRun, seconds: 5 });
    if (refRun && refXmlRun) {
      await load({ ...refRun, seconds: 3 });
      await load({ ...carrelXmlRun, seconds: 3 });
      await load({ ...refXmlRun, seconds: 3 });
    }
    const thinRounds: Measured[] = [];
    const carrelRounds: Measured[] = [];
    const refRounds: Measured[] = [];
    const carrelXmlRounds: Measured[] = [];
    const refXmlRounds: Measured[] = [];
    const busy: number[] = [];
    for (let r = 1, retries = 0; r <= opts.rounds; r++) {
      busy.push(await quiet());
      const t = await loadWithCpu({ ...thinRun, seconds: opts.seconds }, thin.child.pid);
      assertClean('thin server', t);
      const c = await loadWithCpu({ ...carrelRun, seconds: opts.seconds }, carrel.child.pid);
      assertClean('Carrel GET user', c);
      // Issue 8: Carrel against the ready-made document, JSON then XML, in the same round.
      const extra: Measured[] = [];
      if (reference && refRun && refXmlRun) {
        for (const [what, run, pid] of [
          ['reference JSON', refRun, reference.child.pid],
          ['Carrel GET user XML', carrelXmlRun, carrel.child.pid],
          ['reference XML', refXmlRun, reference.child.pid],
        ] as const) {
          const m = await loadWithCpu({ ...run, seconds: opts.seconds }, pid);
          assertClean(what, m);
          extra.push(m);
        }
      }
      // Other people's processes took a share of the machine during the pair: measure it again.
      const disturbed = Math.max(t.otherBusy, c.otherBusy, ...extra.map((m) => m.otherBusy));
      if (disturbed > opts.quietBusy / 2 && retries < opts.rounds) {
        retries++;
        r--;
        log(`  round disturbed (others used ${Math.round(disturbed * 100)}% of the CPUs); repeating it`);
        continue;
      }
      thinRounds.push(t);
      carrelRounds.push(c);
      log(`  round ${r}: thin ${t.rps} req/s p99 ${t.latency.p99} ms | Carrel ${c.rps} req/s p99 ${c.latency.p99} ms | ratio ${(c.rps / t.rps).toFixed(2)}`);
      if (extra.length) {
        const [rj, cx, rx] = extra as [Measured, Measured, Measured];
        refRounds.push(rj);
        carrelXmlRounds.push(cx);
        refXmlRounds.push(rx);
        log(`    reference JSON ${rj.rps} req/s p99 ${rj.latency.p99} ms (Carrel/ref ${(c.rps / rj.rps).toFixed(2)}, p99 x${(c.latency.p99 / rj.latency.p99).toFixed(2)})`);
        log(`    Carrel XML ${cx.rps} req/s p99 ${cx.latency.p99} ms | reference XML ${rx.rps} req/s p99 ${rx.latency.p99} ms (Carrel/ref ${(cx.rps / rx.rps).toFixed(2)}, p99 x${(cx.latency.p99 / rx.latency.p99).toFixed(2)})`);
      }
    }
    const thinRssMb = memoryOf(thin.child.pid).rssMb;
    const cpuLine = (m: CpuShare) => Object.entries(m.cpuMsPerRequest).map(([k, v]) => `${k} ${v}`).join(', ');
    log(`  CPU ms per request (last round): thin: ${cpuLine(thinRounds.at(-1)!)} | Carrel: ${cpuLine(carrelRounds.at(-1)!)}`);

    // Service time without queueing: one request at a time.
    busy.push(await quiet());
    const oneAtATime = {
      thin: await sequential(thin.baseUrl, thinRun.paths, 1000),
      carrel: await sequential(carrel.baseUrl, carrelPaths, 1000, headers),
    };
    log(`  one at a time: thin p50 ${oneAtATime.thin.p50} p99 ${oneAtATime.thin.p99} ms | Carrel p50 ${oneAtATime.carrel.p50} p99 ${oneAtATime.carrel.p99} ms`);

    // The target read as an open-loop load: does Carrel serve 70% of the thin rate with p99 < 10 ms?
    // The thin server gets the same paced load, for reference.
    const rate = Math.round(0.7 * median(thinRounds.map((t) => t.rps)));
    busy.push(await quiet());
    const pacedCarrel = await withCpu(BENCH_DB, carrel.child.pid, () => paced({ ...carrelRun, seconds: opts.seconds, rate }));
    const pacedThin = await withCpu(BENCH_DB, thin.child.pid, () => paced({ ...thinRun, seconds: opts.seconds, rate }));
    log(`  paced at ${rate} req/s: Carrel served ${pacedCarrel.rps} req/s, p99 ${pacedCarrel.latency.p99} ms | thin ${pacedThin.rps} req/s, p99 ${pacedThin.latency.p99} ms`);
    log(`  CPU ms per request (paced): thin: ${cpuLine(pacedThin)} | Carrel: ${cpuLine(pacedCarrel)}`);

    busy.push(await quiet());
    const searches: { path: string; matches: number; latency: Latency }[] = [];
    for (const path of SEARCHES) {
      const first = JSON.parse((await get(carrel.baseUrl + path, headers)).body) as { total_record_count?: number };
      const latency = await sequential(carrel.baseUrl, [path], opts.searchRequests, headers);
      searches.push({ path, matches: first.total_record_count ?? NaN, latency });
      log(`  search ${path.split('q=')[1]}: ${first.total_record_count} matches, p50 ${latency.p50} p95 ${latency.p95} p99 ${latency.p99} ms one at a time`);
    }
    const searchSequential: Latency = searches[0]!.latency;
    const searchLoad = await load({ baseUrl: carrel.baseUrl, paths: [SEARCH_PATH], connections: 4, seconds: Math.max(5, opts.seconds / 2), headers });
    assertClean('Carrel search', searchLoad);
    log(`  search: p95 ${searchSequential.p95} ms sequential, ${searchLoad.latency.p95} ms at 4 connections`);
    await sleep(3000);
    const after = memoryOf(carrel.child.pid);
    return {
      thin: { ...summarize(thinRounds), rssMb: thinRssMb },
      lookup: summarize(carrelRounds),
      ratio: median(carrelRounds.map((c, i) => c.rps / thinRounds[i]!.rps)),
      paced: { carrel: pacedCarrel, thin: pacedThin },
      oneAtATime,
      searchSequential,
      searches,
      searchLoad,
      ...(reference
        ? {
            reference: {
              docs: reference.docs,
              json: summarize(refRounds),
              xml: summarize(refXmlRounds),
              carrelXml: summarize(carrelXmlRounds),
              jsonRatio: median(carrelRounds.map((c, i) => c.rps / refRounds[i]!.rps)),
              xmlRatio: median(carrelXmlRounds.map((c, i) => c.rps / refXmlRounds[i]!.rps)),
              jsonP99Ratio: median(carrelRounds.map((c, i) => c.latency.p99 / refRounds[i]!.latency.p99)),
              xmlP99Ratio: median(carrelXmlRounds.map((c, i) => c.latency.p99 / refXmlRounds[i]!.latency.p99)),
            },
          }
        : {}),
      memory: { startRssMb, idleRssMb, afterLoadRssMb: after.rssMb, peakRssMb: after.peakRssMb },
      cpuBusyBeforePhases: busy,
    };
  } finally {
    for (const c of children.reverse()) await c.stop();
  }
}

const quiet = () => waitQuiet(opts.quietBusy, opts.quietWaitS * 1000, log);

async function benchEngine(engine: Engine): Promise<EngineResult> {
  const users = engine === 'postgres' ? opts.users : opts.pgliteUsers;
  const target: Target = engine === 'postgres' ? { engine, databaseUrl: values['database-url'] } : { engine, dataDir: values['pglite-dir'] };
  log(`\n== ${engine}: ${users} users ==`);
  const seeded = await ensureSeeded(await loadCarrel(CARREL_ROOT), target, users, log);
  log(`  ${seeded.created ? 'seeded' : 'reused the seeded database'} (${seeded.seconds.toFixed(1)} s)`);
  const barcodes = sampleIndexes(users, 5000).map(barcodeOf);

  const db = await openBare(target);
  let ids: string[];
  let bare: BareResult;
  let expectedSmi: number;
  let serverVersion: string;
  let bareBusy: number;
  try {
    const rows = await db.one('SELECT value, user_id FROM user_identifier WHERE value = ANY($1::text[])', [barcodes]);
    const idOf = new Map(rows.map((r) => [r.value as string, r.user_id as string]));
    ids = barcodes.map((b) => idOf.get(b)!);
    expectedSmi = Number((await db.one("SELECT count(*) AS n FROM app_user WHERE lower(last_name) LIKE '%smi%'"))[0]!.n);
    serverVersion = String((await db.one('SHOW server_version'))[0]!.server_version);
    bareBusy = await quiet();
    bare = await bareLoop(db, ids, opts.bareQueries);
    log(`  bare pg: ${bare.sequentialQps} q/s sequential, ${bare.concurrentQps} q/s with 32 in flight`);
  } finally {
    await db.close();
  }

  // PGlite is one process's database: the thin server gets its own copy of the seeded files.
  let thinTarget = target;
  if (engine === 'pglite') {
    const copy = `${target.dataDir}-thin`;
    rmSync(copy, { recursive: true, force: true });
    cpSync(join(target.dataDir!, 'pg'), join(copy, 'pg'), { recursive: true });
    thinTarget = { engine, dataDir: copy };
  }
  const servers = await measureServers(target, thinTarget, seeded.apiKey, ids, barcodes, expectedSmi);
  servers.cpuBusyBeforePhases.unshift(bareBusy);
  return { engine, serverVersion, users, smiMatches: expectedSmi, bare, ...servers };
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  const buildNotes = values['no-build'] ? [] : buildCarrel();
  const result: RunResult = { at: new Date().toISOString(), machine: machineInfo(), options: opts, buildNotes, engines: [] };
  for (const engine of opts.engines) result.engines.push(await benchEngine(engine));
  closeAgent();
  printTable(result);
  const file = join(RESULTS, `run-${result.at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(`\nraw results: ${file}`);
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
