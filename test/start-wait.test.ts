// `carrel serve` started before its database (a container, a host booting) waits for it instead of
// exiting, within CARREL_DB_START_WAIT_SECONDS; with 0 it fails at once. PostgreSQL only: the
// database is reached through a TCP relay the test opens late, so the server really finds nothing
// listening first. PGlite is in process and is never "not up yet".
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { after, test } from 'node:test';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';

const root = new URL('..', import.meta.url).pathname;
const skip = ENGINE !== 'postgres' ? 'PostgreSQL only: PGlite has no server to wait for' : false;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** A TCP relay on `port` to the real PostgreSQL: the database "comes up" when it starts listening. */
async function relay(port: number, target: URL): Promise<Server> {
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port || 5432), target.hostname);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return server;
}

async function databaseBehindPort(): Promise<{ url: string; dbPort: number; target: URL }> {
  const testDb: TestDb = await createTestDb({ migrate: false });
  await testDb.db.close();
  cleanups.push(() => testDb.drop().catch(() => {}));
  const target = new URL(testDb.url!);
  const dbPort = await freePort();
  const url = new URL(testDb.url!);
  url.port = String(dbPort);
  return { url: url.toString(), dbPort, target };
}

function serve(url: string, httpPort: number, waitSeconds: number): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', String(httpPort), '--host', '127.0.0.1', '--no-worker'],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, CARREL_DB_START_WAIT_SECONDS: String(waitSeconds), CARREL_DB_CONNECT_TIMEOUT_MS: '2000', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, stderr: () => err, exited };
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('serve waits for a database that is not up yet, then serves', { skip, timeout: 120_000 }, async () => {
  const { url, dbPort, target } = await databaseBehindPort();
  const httpPort = await freePort();
  const s = serve(url, httpPort, 60);
  let exitCode: number | null | undefined;
  void s.exited.then((c) => (exitCode = c));
  await until('the server to say it is waiting', () => (/cannot be reached yet/.test(s.stderr()) ? true : exitCode !== undefined ? false : undefined));
  assert.equal(exitCode, undefined, `serve exited instead of waiting: ${s.stderr()}`);
  await relay(dbPort, target);
  const health = await until('/healthz to answer', async () => {
    if (exitCode !== undefined) return `exited ${exitCode}: ${s.stderr()}`;
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined);
    return res ? `${res.status} ${await res.text()}` : undefined;
  });
  assert.match(health, /^200 .*"database":"postgres"/);
  assert.doesNotMatch(s.stderr(), /password/i);
  s.child.kill('SIGTERM');
  assert.equal(await s.exited, 0);
});

test('with CARREL_DB_START_WAIT_SECONDS=0 serve fails at once, saying why', { skip, timeout: 60_000 }, async () => {
  const { url } = await databaseBehindPort();
  const s = serve(url, await freePort(), 0);
  const code = await s.exited;
  assert.notEqual(code, 0);
  assert.doesNotMatch(s.stderr(), /trying again/);
  assert.match(s.stderr(), /database is unavailable|ECONNREFUSED/);
});
