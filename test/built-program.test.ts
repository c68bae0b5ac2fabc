// Production runs the built program, not TypeScript: `npm run build` (scripts/build.mjs) makes a
// tree that runs under plain node (no tsx, no .ts file), holds what the program reads at run time
// (the .sql migrations), and whose bin (package.json's `carrel`) starts by its own #! line.
// The operator's path through it: migrate, institution create, apikey create, serve, then the
// Alma API with that key, a password checked by the argon2 worker threads, and a clean stop.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestDb, ENGINE } from './helpers/db.js';
import { aggregate, makeKeyPair, TestIdp } from './helpers/saml-idp.js';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
// The build goes into a directory of its own inside the checkout (the built code finds its
// packages in node_modules there), so the test neither needs nor disturbs the developer's dist/.
const outDir = join(root, '.tmp', `built-${randomBytes(4).toString('hex')}`);
// package.json's bin names a file in dist/; the same file in this build.
const bin = join(outDir, relative('dist', pkg.bin.carrel!));
const cleanups: (() => Promise<void>)[] = [async () => rmSync(outDir, { recursive: true, force: true })];
let env: NodeJS.ProcessEnv;

before(async () => {
  const started = Date.now();
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--out-dir', outDir], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  assert.equal(build.status, 0, `build failed:\n${build.stdout}${build.stderr}`);
  console.log(`# build took ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const dataDir = mkdtempSync(join(tmpdir(), 'carrel-built-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  env = {
    ...process.env,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    CARREL_DATA_DIR: dataDir,
    DATABASE_URL: '',
    LOG_LEVEL: 'warn',
    CARREL_ARGON2_MEMORY_KIB: '1024',
    CARREL_ARGON2_TIME_COST: '1',
  };
  // No loader (tsx) may come in from the test runner: the program must run on plain node.
  delete env.NODE_OPTIONS;
  if (ENGINE === 'postgres') {
    const testDb = await createTestDb({ migrate: false });
    await testDb.db.close();
    cleanups.push(() => testDb.drop().catch(() => {}));
    env.DATABASE_URL = testDb.url!;
  }
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** `carrel …` from the build, under plain node. */
function carrel(...args: string[]) {
  const res = spawnSync(process.execPath, [bin, ...args], { cwd: tmpdir(), env, encoding: 'utf8', timeout: 120_000 });
  return { code: res.status, out: res.stdout, err: res.stderr };
}

function builtFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? builtFiles(path) : [path];
  });
}

test('the build is plain JavaScript with the migrations beside it, and its bin is executable with a node #! line', () => {
  assert.equal(pkg.bin.carrel, 'dist/src/cli/main.js');
  assert.match(pkg.scripts.build!, /scripts\/build\.mjs/);
  const files = builtFiles(join(outDir, 'src'));
  assert.deepEqual(files.filter((f) => /\.[cm]?tsx?$/.test(f)), [], 'no TypeScript file in the build');
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const code = readFileSync(file, 'utf8');
    assert.doesNotMatch(code, /(?:from|import\s*\(|require\s*\()\s*['"](?:tsx(?:\/[^'"]*)?|[^'"]+\.[cm]?tsx?)['"]/, `${relative(outDir, file)} needs TypeScript at run time`);
    // typebox is one bundled module in the build (its 680 files took a third of a second to load).
    assert.doesNotMatch(code, /from\s*['"]typebox(?:\/[^'"]*)?['"]/, `${relative(outDir, file)} imports the typebox package`);
  }
  assert.ok(files.some((f) => relative(outDir, f) === join('src', 'vendor', 'typebox.js')), 'the bundled typebox');
  // What the program reads at run time (every file of src/ but its TypeScript) is in the build.
  const data = builtFiles(join(root, 'src')).filter((f) => !/\.[cm]?ts$/.test(f)).map((f) => relative(root, f));
  assert.ok(data.filter((f) => f.startsWith('src/db/migrations/') && f.endsWith('.sql')).length >= 4, 'the migrations');
  for (const f of data) assert.ok(existsSync(join(outDir, f)), `${f} is missing from the build`);
  assert.ok(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n'));
  assert.equal(statSync(bin).mode & 0o111, 0o111, 'the bin is executable');
});

test('migrate, institution create and apikey create run from the build (the bin started by its #! line)', () => {
  // As a shell runs `carrel migrate`: the file itself, found through its #! line.
  const first = spawnSync(bin, ['migrate'], { cwd: tmpdir(), env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /applied: 0001_core\.sql/);
  assert.match(carrel('migrate').out, /up to date/);
  const inst = carrel('institution', 'create', '01BUILT', '--name', 'Built Library');
  assert.equal(inst.code, 0, inst.err);
  const key = carrel('apikey', 'create', '--institution', '01BUILT');
  assert.equal(key.code, 0, key.err);
  assert.match(key.out.trim().split('\n').at(-1)!, /^carrel_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/);
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** `carrel serve` from the build, once it says where it serves. */
async function serveBuilt(): Promise<{ child: ChildProcess; base: string; out: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--host', '127.0.0.1'], { cwd: tmpdir(), env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!/serving on (http:\/\/\S+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop(child);
      assert.fail(`the server did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base: /serving on (http:\/\/\S+)/.exec(out)![1]!, out: () => out };
}

const newKey = () => {
  const made = carrel('apikey', 'create', '--institution', '01BUILT', '--label', 'built program test');
  assert.equal(made.code, 0, made.err);
  return made.out.trim().split('\n').at(-1)!;
};

test('serve from the build answers /healthz and the Alma API with that key, checks a password, and stops cleanly', async () => {
  const key = newKey();
  const { child, base, out } = await serveBuilt();
  try {
    // The process runs on plain node: nothing in its command line loads tsx.
    const cmdline = `/proc/${child.pid}/cmdline`;
    if (existsSync(cmdline)) assert.deepEqual(readFileSync(cmdline, 'utf8').split('\0').filter(Boolean), [process.execPath, bin, 'serve', '--port', '0', '--host', '127.0.0.1']);

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    // The staff console the build made (dist/web): its page under a strict CSP, its script immutable.
    const page = await fetch(`${base}/users`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers.get('content-security-policy')), /script-src 'self'/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    assert.ok(script, 'the page loads its bundle');
    const bundle = await fetch(`${base}${script}`);
    assert.equal(bundle.status, 200);
    assert.match(String(bundle.headers.get('cache-control')), /immutable/);
    const headers = { authorization: `apikey ${key}`, accept: 'application/json' };
    const password = 'Built-program-passw0rd-long';
    const created = await fetch(`${base}/almaws/v1/users`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        record_type: { value: 'PUBLIC' },
        primary_id: 'built_user',
        first_name: 'Grace',
        last_name: 'Hopper',
        account_type: { value: 'INTERNAL' },
        status: { value: 'ACTIVE' },
        user_group: { value: 'COMMUNITY' },
        password,
        user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'BUILT-0001' }],
      }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const byBarcode = await fetch(`${base}/almaws/v1/users/BUILT-0001`, { headers });
    assert.equal(byBarcode.status, 200);
    const user = (await byBarcode.json()) as { primary_id: string; last_name: string };
    assert.deepEqual([user.primary_id, user.last_name], ['built_user', 'Hopper']);
    const auth = (pw: string) =>
      fetch(`${base}/almaws/v1/users/built_user?op=auth`, { method: 'POST', headers: { ...headers, 'exl-user-pw': encodeURIComponent(pw) } });
    assert.equal((await auth(password)).status, 204);
    assert.equal((await auth('not the password')).status, 400);
    const noKey = await fetch(`${base}/almaws/v1/users/BUILT-0001`, { headers: { accept: 'application/json' } });
    assert.equal(noKey.status, 400, "Alma answers a missing key with 400");
  } finally {
    await stop(child);
  }
  assert.equal(child.exitCode ?? 0, 0, out());
});

test('the built serve checks a SAML federation aggregate in its worker thread; login-method show gives the status', async () => {
  const fedKey = makeKeyPair('federation');
  const idpKey = makeKeyPair('idps');
  const entities = Array.from({ length: 25 }, (_, i) =>
    new TestIdp(`https://idp${i}.example.org/idp`, `https://idp${i}.example.org/sso`, [idpKey], [`u${i}.example.org`], `University ${i}`).entityDescriptor());
  const xml = aggregate(entities, fedKey, { validUntil: new Date(Date.now() + 7 * 86400_000) });
  const mds = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(xml));
  await new Promise<void>((r) => mds.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => mds.close(() => r())));
  const config = { federation_metadata_url: `http://127.0.0.1:${(mds.address() as AddressInfo).port}/md.xml`, federation_signing_cert: fedKey.cert };
  const made = carrel('login-method', 'create', 'fed', '--institution', '01BUILT', '--type', 'saml', '--match', 'primary_id', '--config', JSON.stringify(config));
  assert.equal(made.code, 0, made.err);
  assert.match(made.out, /"state": "pending"/);
  const key = newKey();
  const { child, base, out } = await serveBuilt();
  let federation: { state: string; idps: number; last_error: string | null } | undefined;
  try {
    // The worker's idle hook loads it at once; the check runs in the compiled aggregate-worker.js.
    const deadline = Date.now() + 120_000;
    while (federation?.state !== 'loaded' && !federation?.last_error && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${base}/api/v1/login-methods/fed`, { headers: { authorization: `apikey ${key}` } });
      assert.equal(res.status, 200);
      federation = ((await res.json()) as { federation: typeof federation }).federation;
    }
  } finally {
    await stop(child);
  }
  assert.equal(federation?.state, 'loaded', `${JSON.stringify(federation)}\n${out()}`);
  assert.equal(federation.idps, 25);
  // The command line, with the server stopped (an embedded database has one process at a time).
  const shown = carrel('login-method', 'show', 'fed', '--institution', '01BUILT');
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /"state": "loaded"/);
  assert.match(shown.out, /"idps": 25/);
  assert.match(shown.out, /"lastError": null/);
});
