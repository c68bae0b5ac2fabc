// Runs every test twice: on the embedded PGlite and on PostgreSQL (CARREL_TEST_DATABASE_URL,
// default the local server). In CI neither leg may be skipped. Ends with "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'fixtures' ? [] : findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = only.length ? only : [...findTests(join(root, 'src')), ...findTests(join(root, 'test'))].sort();
const adminUrl = process.env.CARREL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresReachable() {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

const legs = [{ engine: 'pglite' }, { engine: 'postgres' }].filter((l) => !process.env.CARREL_TEST_DB || l.engine === process.env.CARREL_TEST_DB);
let passed = 0;
let failed = 0;
const report = mkdtempSync(join(tmpdir(), 'carrel-test-'));

for (const leg of legs) {
  if (leg.engine === 'postgres' && !(await postgresReachable())) {
    if (process.env.CI) {
      console.error(`PostgreSQL is not reachable at ${adminUrl}: the postgres leg may not be skipped in CI.`);
      failed += 1;
      continue;
    }
    console.warn(`\n!! skipping the PostgreSQL leg: nothing answers at ${adminUrl} (set CARREL_TEST_DATABASE_URL)\n`);
    continue;
  }
  console.log(`\n=== tests on ${leg.engine} ===`);
  const tap = join(report, `${leg.engine}.tap`);
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
    { stdio: 'inherit', env: { ...process.env, CARREL_TEST_DB: leg.engine, CARREL_TEST_DATABASE_URL: adminUrl }, cwd: root },
  );
  const text = readFileSync(tap, 'utf8');
  const count = (label) => Number(text.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1] ?? 0);
  passed += count('pass');
  failed += count('fail') + count('cancelled');
  if (run.status !== 0 && count('fail') + count('cancelled') === 0) failed += 1;
  console.log(`=== ${leg.engine}: ${count('pass')} passed, ${count('fail')} failed ===`);
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
