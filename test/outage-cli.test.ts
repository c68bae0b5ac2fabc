// `carrel outage` and the network's break-glass addresses from the command line: a toggle of the
// STAFF of an institution with temporary passwords written once to a 0600 CSV, and its revert.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApp } from '../src/app.js';
import { almaJsonToUserInput } from '../src/alma/user-json-input.js';
import { loadConfig } from '../src/config.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';
import { staffUser } from './helpers/identity.js';

const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'carrel-outage-cli-'));
const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: join(dir, 'data'), DATABASE_URL: '', LOG_LEVEL: 'warn', CARREL_ARGON2_MEMORY_KIB: '1024', CARREL_ARGON2_TIME_COST: '1' };
let testDb: TestDb | undefined;

before(async () => {
  if (ENGINE === 'postgres') {
    testDb = await createTestDb({ migrate: false });
    await testDb.db.close();
    env.DATABASE_URL = testDb.url!;
  }
});
after(async () => {
  await testDb?.drop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

function carrel(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

test('institution settings sets the break-glass addresses of the network', () => {
  assert.equal(carrel('institution', 'create', '01OUT_NZ', '--name', 'Outage Network', '--network-zone').code, 0);
  const set = carrel('institution', 'settings', '01OUT_NZ', '--break-glass-notify', 'office@consortium.example.org, it@consortium.example.org');
  assert.equal(set.code, 0, set.err);
  assert.match(set.out, /"breakGlassNotify": \[\s*"office@consortium.example.org",\s*"it@consortium.example.org"\s*\]/);
  assert.notEqual(carrel('institution', 'settings', '01OUT_NZ', '--break-glass-notify', 'not an address').code, 0);
});

test('outage toggle with temporary passwords writes the CSV once (0600); revert undoes it', async () => {
  const app = await createApp(loadConfig(env, { logLevel: 'silent' }), { authenticatesKeys: false });
  try {
    const inst = await app.services.institutions.byCode('01OUT_NZ');
    const system = { kind: 'system' as const, label: 'test' };
    for (const id of ['cli01', 'cli02', 'cli03']) {
      const input = almaJsonToUserInput(staffUser(id, { account_type: { value: 'EXTERNAL' }, external_id: 'SIS_STAFF' }));
      await app.services.users.create(system, inst.id, input);
    }
  } finally {
    await app.close();
  }
  const csv = join(dir, 'passwords.csv');
  const run = carrel('outage', 'toggle', '--institution', '01OUT_NZ', '--record-type', 'STAFF', '--temporary-passwords', '--csv', csv);
  assert.equal(run.code, 0, run.err + run.out);
  assert.match(run.out, /toggled 3/);
  const lines = readFileSync(csv, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(',')[0]), ['primary_id', 'cli01', 'cli02', 'cli03']);
  assert.equal(statSync(csv).mode & 0o777, 0o600);
  assert.doesNotMatch(run.out + run.err, new RegExp(lines[1]!.split(',')[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'never printed');
  const jobId = /carrel outage revert ([0-9a-f-]{36})/.exec(run.out)![1]!;

  const again = carrel('outage', 'toggle', '--institution', '01OUT_NZ', '--users', 'cli01', '--temporary-passwords', '--csv', csv);
  assert.notEqual(again.code, 0);
  assert.match(again.err, /exists already/);

  const revert = carrel('outage', 'revert', jobId, '--institution', '01OUT_NZ');
  assert.equal(revert.code, 0, revert.err);
  assert.match(revert.out, /reverted 3/);
  assert.notEqual(carrel('outage', 'revert', jobId, '--institution', '01OUT_NZ').code, 0, 'never twice');
});
