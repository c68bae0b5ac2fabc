// Find users in a real browser on a million users: from a person's last keystroke in the search
// box to the first page of results in the table, measured inside the page (issue 10's target:
// 300 ms). One institution seeded by bench/seed.ts (the bulk path it verifies against POST
// /users), kept in a named database between runs; the built server (dist/) on it; a staff user
// signed in through the login page in Chromium; queries typed at 80 ms a key.
//
//   npm run bench:console-search                 (1,000,000 users in carrel_bench_1m)
//   npm run bench:console-search -- --quick      (100,000 users in carrel_bench_100k, for development)
//   npm run bench:console-search -- --reseed     (drop and seed again)
//
// The page's table carries data-q, the search its rows answer (web/src/pages/FindUsers.tsx); a
// MutationObserver notes the moment it becomes the typed text, which is the commit that puts the
// rows in the DOM, and the next animation frame (the paint).
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Page } from 'playwright-core';
import type { Actor } from '../src/domain/access/actor.js';
import { consoleSignIn, freePort, launchChromium } from '../test/helpers/console.js';
import { median } from './measure.js';
import { barcodeOf, personOf, univIdOf } from './people.js';
import { start, type Child } from './procs.js';
import { machineInfo } from './report.js';
import { ensureSeeded, INSTITUTION_CODE, loadCarrel, openBenchApp, type Carrel, type Target } from './seed.js';

const ROOT = join(import.meta.dirname, '..');
const TARGET_MS = 300;
const KEY_DELAY_MS = 80;
const STAFF_ID = 'bench-console-staff';
const PASSWORD = 'Quartz lantern 4417 river';
const SYSTEM: Actor = { kind: 'system', label: 'console search bench' };

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    users: { type: 'string' },
    reseed: { type: 'boolean', default: false },
    'per-kind': { type: 'string', default: '8' },
    'database-url': { type: 'string' },
  },
});
const users = Number(values.users ?? (values.quick ? 100_000 : 1_000_000));
const databaseUrl = values['database-url'] ?? `postgres://postgres@127.0.0.1:5432/carrel_bench_${users >= 1_000_000 ? `${users / 1_000_000}m` : `${users / 1000}k`}`;
const perKind = Number(values['per-kind']);
const log = (s: string) => console.log(s);

/** What a person at the desk types, by kind; users are picked evenly across the seed. */
function queries(): { kind: string; text: string }[] {
  const pick = (k: number, salt: number) => 1 + ((k * 7919 + salt * 104_729) % users);
  const surnames = ['smith', 'garcia', 'nguyen', 'thompson', 'robinson', 'campbell', 'martinez', 'walker', 'anderson', 'lewis'];
  const partial = ['smi', 'gar', 'thom', 'rodr', 'mitch', 'hern', 'wil', 'ande', 'camp', 'nels'];
  const out: { kind: string; text: string }[] = [];
  for (let k = 0; k < perKind; k++) {
    out.push({ kind: 'surname', text: surnames[k % surnames.length]! });
    out.push({ kind: 'partial name', text: partial[k % partial.length]! });
    out.push({ kind: 'barcode', text: barcodeOf(pick(k, 1)) });
    out.push({ kind: 'e-mail', text: personOf(pick(k, 2), INSTITUTION_CODE).input.contactInfo!.emails[0]!.address });
    // The first six digits of a university id: the ten to hundred users whose ids start so.
    out.push({ kind: 'identifier prefix', text: univIdOf(pick(k, 3)).slice(0, 6) });
  }
  return out;
}

/** One statement on the server's `postgres` database (the benchmark's own may not exist yet). */
async function onServer(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  try {
    return await admin.query(sql, params);
  } finally {
    await admin.end();
  }
}

/** PostgreSQL's shared_buffers: whether the search table and its indexes (about 300 MB at a million) stay in its cache. */
async function sharedBuffers(url: string): Promise<string> {
  return String((await onServer(url, 'SHOW shared_buffers')).rows[0].shared_buffers);
}

async function databaseExists(url: string): Promise<boolean> {
  return !!(await onServer(url, 'SELECT 1 FROM pg_database WHERE datname = $1', [new URL(url).pathname.slice(1)])).rowCount;
}

/** The staff user lives only for a run: the seed's reuse check counts the institution's users. */
async function withStaff(carrel: Carrel, target: Target, create: boolean): Promise<void> {
  const app = await openBenchApp(carrel, target);
  try {
    const inst = await app.services.institutions.byCode(INSTITUTION_CODE).catch(() => undefined);
    if (!inst) return;
    await app.services.users.remove(SYSTEM, inst.id, STAFF_ID).catch(() => undefined);
    if (!create) return;
    await app.services.users.create(SYSTEM, inst.id, {
      primaryId: STAFF_ID, recordType: 'STAFF', accountType: 'INTERNAL', status: 'ACTIVE', firstName: 'Grace', lastName: 'Hopper',
      password: PASSWORD, roles: [{ roleType: '50', scope: INSTITUTION_CODE, status: 'ACTIVE', expiryDate: null, parameters: [] }],
    });
  } finally {
    await app.close();
  }
}

interface Timing {
  kind: string;
  text: string;
  /** Last keystroke to the rows in the DOM, and to the next frame. */
  shownMs: number;
  paintedMs: number;
  /** Last keystroke to the request's start (the page's debounce), and the request itself. */
  waitMs: number;
  requestMs: number;
  total: string;
}

async function measure(page: Page, base: string, kind: string, text: string): Promise<Timing> {
  await page.goto(`${base}/users`);
  await page.locator('table.data[data-q=""]').waitFor();
  await page.evaluate((expect) => {
    const b = { expect, lastInput: 0, shown: 0, painted: 0 };
    (window as unknown as { __bench: typeof b }).__bench = b;
    document.addEventListener('input', () => (b.lastInput = performance.now()), true);
    const table = document.querySelector('table.data')!;
    new MutationObserver(() => {
      if (b.shown || table.getAttribute('data-q') !== b.expect) return;
      b.shown = performance.now();
      requestAnimationFrame(() => (b.painted = performance.now()));
    }).observe(table, { attributes: true, attributeFilter: ['data-q'] });
  }, text);
  await page.getByRole('searchbox', { name: 'Search' }).click();
  await page.keyboard.type(text, { delay: KEY_DELAY_MS });
  await page.waitForFunction(() => (window as unknown as { __bench: { painted: number } }).__bench.painted > 0, null, { timeout: 30_000 });
  return page.evaluate(
    ({ kind, text }) => {
      const b = (window as unknown as { __bench: { lastInput: number; shown: number; painted: number } }).__bench;
      const wanted = `q=${encodeURIComponent(`ALL~${text}`)}`;
      const req = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((e) => e.name.includes('/users?') && e.name.replace(/%7E/gi, '~').includes(wanted.replace(/%7E/gi, '~')))
        .at(-1);
      return {
        kind,
        text,
        shownMs: b.shown - b.lastInput,
        paintedMs: b.painted - b.lastInput,
        waitMs: req ? req.startTime - b.lastInput : NaN,
        requestMs: req ? req.responseEnd - req.startTime : NaN,
        total: document.querySelector('p.count')?.textContent ?? '',
      };
    },
    { kind, text },
  );
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');

function cpuLine(): string {
  try {
    const l = execFileSync('lscpu', { encoding: 'utf8' });
    const get = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(l)?.[1]?.trim() ?? '?';
    return `${get('Model name')}, ${get('CPU\\(s\\)')} CPUs`;
  } catch {
    return String(machineInfo().cpu);
  }
}

async function main() {
  const carrel = await loadCarrel(ROOT);
  const target: Target = { engine: 'postgres', databaseUrl };
  log(
    `console search bench: ${users.toLocaleString('en-US')} users in ${new URL(databaseUrl).pathname.slice(1)}; ${cpuLine()}; ` +
      `PostgreSQL shared_buffers ${await sharedBuffers(databaseUrl)}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`,
  );
  if (!values.reseed && (await databaseExists(databaseUrl))) await withStaff(carrel, target, false); // a crashed run's
  const seeded = await ensureSeeded(carrel, target, users, log, { reseed: values.reseed });
  log(`${seeded.created ? 'seeded' : 'reused'} the seed (${seeded.seconds.toFixed(1)} s)`);
  await withStaff(carrel, target, true);
  const children: Child[] = [];
  const browser = await launchChromium();
  const timings: Timing[] = [];
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await start(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'serve', '--port', String(port), '--no-worker'], {
      name: 'Carrel',
      ready: /Carrel is serving on (http:\/\/\S+)/,
      timeoutMs: 120_000,
      env: { LOG_LEVEL: 'warn', CARREL_CONFIG: '', DATABASE_URL: databaseUrl, CARREL_PUBLIC_URL: base, CARREL_SMTP_URL: '' },
    });
    children.push(server.child);
    const { page } = await consoleSignIn(browser, base, INSTITUTION_CODE, STAFF_ID, PASSWORD);
    // Warm-up: one of each kind, not counted (the first plans and the cold pages).
    for (const q of queries().slice(0, 5)) await measure(page, base, q.kind, `${q.text.slice(0, -1)}`);
    for (const q of queries()) {
      const t = await measure(page, base, q.kind, q.text);
      timings.push(t);
      log(`  ${t.kind.padEnd(17)} ${t.text.padEnd(32)} ${ms(t.paintedMs).padStart(5)} ms (wait ${ms(t.waitMs)}, request ${ms(t.requestMs)}) ${t.total}`);
    }
  } finally {
    await browser.close();
    for (const c of children) await c.stop();
    await withStaff(carrel, target, false);
  }
  const kinds = [...new Set(timings.map((t) => t.kind))];
  const all = timings.map((t) => t.paintedMs);
  log(`\nFind users, ${users.toLocaleString('en-US')} users, PostgreSQL: last keystroke to the first page painted (ms), ${perKind} queries a kind, typed at ${KEY_DELAY_MS} ms a key`);
  log('| query kind | p50 | p95 | max | request p50 | wait p50 (debounce) |\n|---|---|---|---|---|---|');
  for (const kind of kinds.concat('all')) {
    const ts = kind === 'all' ? timings : timings.filter((t) => t.kind === kind);
    const xs = ts.map((t) => t.paintedMs);
    log(`| ${kind} | ${ms(pct(xs, 50))} | ${ms(pct(xs, 95))} | ${ms(Math.max(...xs))} | ${ms(median(ts.map((t) => t.requestMs)))} | ${ms(median(ts.map((t) => t.waitMs)))} |`);
  }
  const p95 = pct(all, 95);
  log(`\nRESULT: p95 ${ms(p95)} ms, max ${ms(Math.max(...all))} ms against the target ${TARGET_MS} ms: ${p95 <= TARGET_MS ? 'PASS' : 'FAIL'}` +
    ` (load average now ${loadavg()[0]!.toFixed(2)})`);
}

await main();
process.exit(0);
