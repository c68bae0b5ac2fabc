// The CLI is the contract for scripts: institution create, apikey create (key on the last line),
// migrate, and serve --demo as `npm start` runs it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { buildServer } from '../src/http/server.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';

const root = new URL('..', import.meta.url).pathname;
const cleanups: (() => Promise<void>)[] = [];
let env: NodeJS.ProcessEnv;

/** An empty database for a CLI process: a data directory on PGlite, a new database on PostgreSQL. */
async function emptyDatabaseEnv(): Promise<NodeJS.ProcessEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carrel-cli-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const e: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
  if (ENGINE === 'postgres') {
    const testDb: TestDb = await createTestDb({ migrate: false });
    await testDb.db.close();
    cleanups.push(() => testDb.drop().catch(() => {}));
    e.DATABASE_URL = testDb.url!;
  }
  return e;
}

before(async () => {
  env = await emptyDatabaseEnv();
});
after(async () => {
  for (const c of cleanups) await c();
});

function carrel(...args: string[]) {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

test('migrate applies the migrations once', () => {
  const first = carrel('migrate');
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /applied: 0001_core\.sql/);
  const second = carrel('migrate');
  assert.match(second.out, /up to date/);
});

test('institution create makes a network zone and a member; apikey create prints the key last', async () => {
  assert.equal(carrel('institution', 'create', '01CLI_NZ', '--name', 'CLI Network', '--network-zone').code, 0);
  const member = carrel('institution', 'create', '01CLI_MEMBER', '--name', 'CLI Member', '--network', '01CLI_NZ');
  assert.equal(member.code, 0, member.err);
  const dup = carrel('institution', 'create', '01CLI_MEMBER', '--name', 'Again');
  assert.notEqual(dup.code, 0);
  assert.match(dup.err, /already exists/);
  const list = carrel('institution', 'list');
  assert.match(list.out, /01CLI_NZ\tnetwork zone/);
  assert.match(list.out, /01CLI_MEMBER\tmember/);

  const key = carrel('apikey', 'create', '--institution', '01CLI_MEMBER', '--read-only');
  assert.equal(key.code, 0, key.err);
  const last = key.out.trim().split('\n').at(-1)!;
  assert.match(last, /^carrel_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
  const unknown = carrel('apikey', 'create', '--institution', 'NOPE');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.err, /NOPE/);
});

test('apikey create --trust-client-address and apikey trust [--off] mark a key trusted to name the end user (op=auth throttling)', () => {
  assert.equal(carrel('institution', 'create', '01CLI_TRUST', '--name', 'CLI Trust').code, 0);
  const made = carrel('apikey', 'create', '--institution', '01CLI_TRUST', '--read-only', '--trust-client-address', '--label', 'discovery');
  assert.equal(made.code, 0, made.err);
  assert.match(made.out, /trusted to send X-Carrel-Client-Address/);
  const prefix = /^carrel_([a-f0-9]{12})_/.exec(made.out.trim().split('\n').at(-1)!)![1]!;
  const access = () => carrel('apikey', 'list', '--institution', '01CLI_TRUST').out.split('\n').find((l) => l.startsWith(`${prefix}\t`))!.split('\t')[1];
  assert.equal(access(), 'read-only+client-address');
  assert.equal(carrel('apikey', 'trust', prefix, '--institution', '01CLI_TRUST', '--off').code, 0);
  assert.equal(access(), 'read-only');
  assert.equal(carrel('apikey', 'trust', prefix, '--institution', '01CLI_TRUST').code, 0);
  assert.equal(access(), 'read-only+client-address');
});

test('apikey list shows the keys without their secrets; apikey revoke refuses a key at once, also on a running server', async () => {
  assert.equal(carrel('institution', 'create', '01CLI_KEYS', '--name', 'CLI Keys').code, 0);
  const made = carrel('apikey', 'create', '--institution', '01CLI_KEYS', '--label', 'discovery layer');
  assert.equal(made.code, 0, made.err);
  const key = made.out.trim().split('\n').at(-1)!;
  // The secret is base64url and may itself hold '_': split after the prefix only.
  const [, prefix, secret] = /^carrel_([a-f0-9]{12})_(.+)$/.exec(key) as unknown as [string, string, string];
  assert.equal(carrel('apikey', 'create', '--institution', '01CLI_KEYS', '--read-only').code, 0);

  const list = carrel('apikey', 'list', '--institution', '01CLI_KEYS');
  assert.equal(list.code, 0, list.err);
  const lines = list.out.trim().split('\n');
  assert.equal(lines.length, 3, list.out);
  assert.match(lines[0]!, /^PREFIX\tACCESS\tCREATED\tLAST USED\tREVOKED\tLABEL\tID$/);
  const mine = lines.find((l) => l.startsWith(`${prefix}\t`))!;
  assert.match(mine, /\tread-write\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t-\t-\tdiscovery layer\t[0-9a-f-]{36}$/);
  assert.doesNotMatch(list.out, new RegExp(secret.replace(/[-_]/g, '\\$&')));
  assert.match(lines.find((l) => !l.startsWith(prefix) && !l.startsWith('PREFIX'))!, /\tread-only\t/);

  // A server on the same PostgreSQL database, holding the key in its cache for a minute.
  let node: { app: App; server: FastifyInstance } | undefined;
  const ask = () =>
    node!.server.inject({ method: 'GET', url: '/almaws/v1/users?limit=1', headers: { authorization: `apikey ${key}`, accept: 'application/json' } });
  if (ENGINE === 'postgres') {
    const app = await createApp(loadConfig({}, { logLevel: 'silent', databaseUrl: env.DATABASE_URL!, apiKeyCacheMs: 60_000 }), { migrate: false });
    node = { app, server: await buildServer(app, { logger: false }) };
    assert.equal((await ask()).statusCode, 200);
  }
  try {
    const revoked = carrel('apikey', 'revoke', prefix, '--institution', '01CLI_KEYS');
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(revoked.out, new RegExp(`revoked key ${prefix}`));
    assert.match(carrel('apikey', 'list', '--institution', '01CLI_KEYS').out, new RegExp(`${prefix}\\t.*\\t\\d{4}-\\d\\d-\\d\\d \\S+\\tdiscovery layer`));
    assert.match(carrel('apikey', 'revoke', prefix, '--institution', '01CLI_KEYS').out, /already revoked/);
    const unknown = carrel('apikey', 'revoke', 'abcdefabcdef', '--institution', '01CLI_KEYS');
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.err, /API key abcdefabcdef was not found/);
    // Another institution's key is not found under this one.
    assert.notEqual(carrel('apikey', 'revoke', prefix, '--institution', '01CLI_MEMBER').code, 0);
    if (node) {
      const deadline = Date.now() + 20_000;
      while ((await ask()).statusCode !== 400) {
        assert.ok(Date.now() < deadline, 'the running server still accepts the revoked key');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await node?.server.close();
    await node?.app.close();
  }
});

test('serve --demo starts with a demo network, prints keys that work, and stops cleanly', async () => {
  const fresh = await emptyDatabaseEnv();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--demo', '--port', '0'], { cwd: root, env: fresh });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!/01DEMO_SOUTH\s+carrel_/.test(out)) {
      assert.ok(Date.now() < deadline, `server did not start: ${out}`);
      assert.equal(child.exitCode, null, `server exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = /serving on (http:\/\/\S+)/.exec(out)![1]!;
    const key = /01DEMO_NORTH\s+(carrel_\S+)/.exec(out)![1]!;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const res = await fetch(`${base}/almaws/v1/users?q=last_name~smith`, { headers: { authorization: `apikey ${key}`, accept: 'application/json' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { total_record_count: number; user: { primary_id: string }[] };
    assert.equal(body.total_record_count, 2);
    const one = await fetch(`${base}/almaws/v1/users/N1000001?format=json`, { headers: { authorization: `apikey ${key}` } });
    assert.equal(((await one.json()) as { primary_id: string }).primary_id, 'njsmith');
    // The console's demo staff user: its printed password is the one it has now.
    assert.match(out, /Staff console:\s+http:\/\/\S+\/\?institution=01DEMO_NORTH/);
    const staff = /Demo staff user.*: (\S+) \/ (\S+) at 01DEMO_NORTH/.exec(out);
    assert.ok(staff, out);
    const auth = (pw: string) =>
      fetch(`${base}/almaws/v1/users/${staff[1]}?op=auth`, { method: 'POST', headers: { authorization: `apikey ${key}`, 'exl-user-pw': encodeURIComponent(pw) } });
    assert.equal((await auth(staff[2]!)).status, 204);
    assert.equal((await auth('Demo-wrong-password-7a')).status, 400);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  assert.equal(child.exitCode ?? 0, 0);
});

test('profile create/update --[no-]api-key-edits-are-manual sets the setting; another setting given alone keeps it', () => {
  assert.equal(carrel('institution', 'create', '01CLI_SIS', '--name', 'CLI SIS').code, 0);
  const settingsOf = (out: string) => (JSON.parse(out.slice(out.indexOf('{'))) as { settings: Record<string, unknown> }).settings;
  const made = carrel('profile', 'create', 'CAMPUS', '--institution', '01CLI_SIS', '--mode', 'synchronize', '--format', 'jsonl', '--no-api-key-edits-are-manual');
  assert.equal(made.code, 0, made.err);
  assert.deepEqual(settingsOf(made.out), { apiKeyEditsAreManual: false });
  const settle = carrel('profile', 'update', 'CAMPUS', '--institution', '01CLI_SIS', '--settle-seconds', '7');
  assert.equal(settle.code, 0, settle.err);
  assert.deepEqual(settingsOf(settle.out), { settleSeconds: 7, apiKeyEditsAreManual: false });
  const back = carrel('profile', 'update', 'CAMPUS', '--institution', '01CLI_SIS', '--api-key-edits-are-manual');
  assert.deepEqual(settingsOf(back.out), { settleSeconds: 7, apiKeyEditsAreManual: true });
});
