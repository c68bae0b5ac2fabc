// API keys through /api/v1/api-keys and `carrel apikey label|rotate` (issue 10, scope 6): create
// (the key in that answer only), list (never a key or its hash), label, rotate (the old secret
// refused at once, on this server and on another, though both had it cached), revoke; last used
// recorded at most once a minute per key; config:manage only (a read-only key, a User
// Administrator refused; a General System Administrator's session needs the CSRF token); another
// institution's keys are not found; every change audited, never with a secret.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createApp, type App } from '../src/app.js';
import { openPostgres } from '../src/db/database.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { createTestDb, ENGINE } from './helpers/db.js';
import { CHEAP_ARGON2, errorCode, staffUser, type InjectResult } from './helpers/identity.js';
import { buildServer } from '../src/http/server.js';

type Inst = Awaited<ReturnType<TestContext['institution']>>;
let ctx: TestContext;
let a: Inst;
let b: Inst;
const PASSWORD = 'Key keeper 2026 lantern';
const KEY_SHAPE = /^carrel_[a-f0-9]{12}_[A-Za-z0-9_-]{43}$/;

function call(key: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<InjectResult> {
  return ctx.server.inject({
    method,
    url: `/api/v1${url}`,
    headers: { authorization: `apikey ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  }) as Promise<InjectResult>;
}
/** A call on the Alma API, as a client of the key would make. */
const use = (server: TestContext['server'], key: string) =>
  server.inject({ method: 'GET', url: '/almaws/v1/users?limit=1', headers: { authorization: `apikey ${key}`, accept: 'application/json' } });
const secretOf = (key: string) => key.split('_').slice(2).join('_');
const listed = async (key: string, id: string) => ((await call(key, 'GET', '/api-keys')).json().api_key as { id: string }[]).find((k) => k.id === id) as Record<string, unknown> | undefined;
const audits = (id: string) =>
  ctx.app.db.query<{ action: string; actor_type: string; actor_label: string; changes: Record<string, unknown> }>(
    'SELECT action, actor_type, actor_label, changes FROM audit_event WHERE entity_type = $1 AND entity_id = $2 ORDER BY id',
    ['api_key', id],
  );

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  // Keys stay cached for a minute: rotation and revocation must not wait for that.
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, apiKeyCacheMs: 60_000 } });
  a = await ctx.institution();
  b = await ctx.institution();
  const api = client(ctx.server, a.key);
  for (const [id, r] of [['keysadmin', '26'], ['useradmin', '50']] as const) {
    const res = await api.post('/users', staffUser(id, { password: PASSWORD, user_role: [role(r, a.code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(() => ctx.close());

test('create answers the key once; the listing shows label, access, dates and never the key or its hash; audited', async () => {
  const made = await call(a.key, 'POST', '/api-keys', { label: 'discovery layer', read_only: true, trusts_client_address: true });
  assert.equal(made.statusCode, 201, made.body);
  assert.equal(made.headers['cache-control'], 'no-store');
  const body = made.json();
  assert.match(body.key, KEY_SHAPE);
  assert.deepEqual(Object.keys(body).sort(), ['created_at', 'id', 'key', 'label', 'last_used_at', 'prefix', 'read_only', 'revoked_at', 'rotated_at', 'trusts_client_address']);
  assert.equal(body.label, 'discovery layer');
  assert.equal(body.read_only, true);
  assert.equal(body.trusts_client_address, true);
  assert.equal((await use(ctx.server, body.key)).statusCode, 200);

  const list = await call(a.key, 'GET', '/api-keys');
  assert.equal(list.statusCode, 200);
  assert.doesNotMatch(list.body, new RegExp(secretOf(body.key)));
  assert.doesNotMatch(list.body, /secret|hash/i);
  const entry = await listed(a.key, body.id);
  assert.deepEqual(Object.keys(entry!).sort(), ['created_at', 'id', 'label', 'last_used_at', 'prefix', 'read_only', 'revoked_at', 'rotated_at', 'trusts_client_address']);
  const [row] = await audits(body.id);
  assert.equal(row!.action, 'api_key.create');
  assert.deepEqual(row!.changes.label, { before: null, after: 'discovery layer' });
  assert.doesNotMatch(JSON.stringify(await audits(body.id)), new RegExp(secretOf(body.key)));

  for (const bad of [{ label: 'x'.repeat(201) }, { label: 'two\nlines' }, { read_only: 'maybe' }, { colour: 'red' }]) {
    const res = await call(a.key, 'POST', '/api-keys', bad);
    assert.equal(res.statusCode, 400, `${JSON.stringify(bad)}: ${res.body}`);
  }
});

test('label: changed, shown, audited with before and after; a bad label is refused and changes nothing', async () => {
  const { id } = (await call(a.key, 'POST', '/api-keys', { label: 'old name' })).json();
  const res = await call(a.key, 'PATCH', `/api-keys/${id}`, { label: '  circulation kiosk  ' });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().label, 'circulation kiosk');
  assert.equal((await listed(a.key, id))!.label, 'circulation kiosk');
  const row = (await audits(id)).at(-1)!;
  assert.equal(row.action, 'api_key.label');
  assert.deepEqual(row.changes, { label: { before: 'old name', after: 'circulation kiosk' } });
  for (const bad of [{ label: 'x'.repeat(201) }, { label: 'a\u0007b' }, {}]) {
    const refused = await call(a.key, 'PATCH', `/api-keys/${id}`, bad);
    assert.equal(refused.statusCode, 400, refused.body);
  }
  assert.match((await call(a.key, 'PATCH', `/api-keys/${id}`, { label: 'x'.repeat(201) })).body, /label/);
  assert.equal((await listed(a.key, id))!.label, 'circulation kiosk');
  assert.equal((await call(a.key, 'PATCH', `/api-keys/${id}`, { label: null })).json().label, null);
});

test('rotate: a new secret once, the same key otherwise; the old secret refused at once here and within seconds on another server, though cached', async () => {
  const made = (await call(a.key, 'POST', '/api-keys', { label: 'sis feed' })).json();
  const second = await otherNode();
  try {
    assert.equal((await use(ctx.server, made.key)).statusCode, 200, 'cached here');
    assert.equal((await use(second.server, made.key)).statusCode, 200, 'cached there');
    await eventually('last used recorded', async () => (await listed(a.key, made.id))!.last_used_at !== null);

    const rotated = await call(a.key, 'POST', `/api-keys/${made.id}/rotate`);
    assert.equal(rotated.statusCode, 200, rotated.body);
    const r = rotated.json();
    assert.match(r.key, KEY_SHAPE);
    assert.notEqual(r.key, made.key);
    assert.equal(r.id, made.id);
    assert.equal(r.label, 'sis feed');
    assert.notEqual(r.prefix, made.prefix);
    assert.ok(r.rotated_at);
    assert.equal(r.last_used_at, null, 'last used starts again with the new secret');

    const old = await use(ctx.server, made.key);
    assert.equal(old.statusCode, 400);
    assert.match(old.body, /Invalid API Key/);
    await eventually('the other server refuses the old secret', async () => (await use(second.server, made.key)).statusCode === 400, 10_000);
    assert.equal((await use(ctx.server, r.key)).statusCode, 200);
    assert.equal((await use(second.server, r.key)).statusCode, 200);

    const row = (await audits(made.id)).at(-1)!;
    assert.equal(row.action, 'api_key.rotate');
    assert.deepEqual(row.changes, { prefix: { before: made.prefix, after: r.prefix } });
    assert.doesNotMatch(JSON.stringify(row), new RegExp(`${secretOf(r.key)}|${secretOf(made.key)}`));
  } finally {
    await second.close();
  }
});

test('revoke: refused from then on, shown as revoked, audited once; a revoked key cannot be rotated', async () => {
  const made = (await call(a.key, 'POST', '/api-keys', { label: 'old vendor' })).json();
  assert.equal((await use(ctx.server, made.key)).statusCode, 200);
  assert.equal((await call(a.key, 'DELETE', `/api-keys/${made.id}`)).statusCode, 204);
  assert.equal((await use(ctx.server, made.key)).statusCode, 400);
  assert.ok((await listed(a.key, made.id))!.revoked_at);
  assert.equal((await call(a.key, 'DELETE', `/api-keys/${made.id}`)).statusCode, 204);
  assert.deepEqual((await audits(made.id)).map((r) => r.action), ['api_key.create', 'api_key.revoke']);
  const rotate = await call(a.key, 'POST', `/api-keys/${made.id}/rotate`);
  assert.equal(rotate.statusCode, 409, rotate.body);
  assert.equal((await use(ctx.server, made.key)).statusCode, 400);
});

test('last used: written on first use, then at most once a minute per key, not per request', async () => {
  const made = (await call(a.key, 'POST', '/api-keys', { label: 'busy client' })).json();
  assert.equal((await listed(a.key, made.id))!.last_used_at, null);
  assert.equal((await use(ctx.server, made.key)).statusCode, 200);
  await eventually('last used shows', async () => (await listed(a.key, made.id))!.last_used_at !== null);
  const first = (await listed(a.key, made.id))!.last_used_at;
  for (let n = 0; n < 5; n++) assert.equal((await use(ctx.server, made.key)).statusCode, 200);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await listed(a.key, made.id))!.last_used_at, first, 'no new write within the minute');
});

test("another institution's keys are not found: not listed, not labelled, rotated or revoked", async () => {
  const mine = (await call(a.key, 'POST', '/api-keys', { label: 'private' })).json();
  const theirs = await call(b.key, 'GET', '/api-keys');
  assert.equal(theirs.statusCode, 200);
  assert.ok(!(theirs.json().api_key as { id: string }[]).some((k) => k.id === mine.id || k.id === a.key));
  assert.doesNotMatch(theirs.body, /private/);
  for (const [method, url, body] of [
    ['PATCH', `/api-keys/${mine.id}`, { label: 'stolen' }],
    ['POST', `/api-keys/${mine.id}/rotate`, undefined],
    ['DELETE', `/api-keys/${mine.id}`, undefined],
    ['PATCH', `/api-keys/${mine.prefix}`, { label: 'stolen' }],
  ] as const) {
    const res = await call(b.key, method, url, body);
    assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
  }
  assert.equal((await use(ctx.server, mine.key)).statusCode, 200);
  assert.equal((await listed(a.key, mine.id))!.label, 'private');
  assert.deepEqual((await audits(mine.id)).map((r) => r.action), ['api_key.create']);
});

test("a read-only key and a User Administrator are refused; a General System Administrator's session needs the CSRF token", async () => {
  const target = (await call(a.key, 'POST', '/api-keys', { label: 'target' })).json();
  const attempts = [
    ['GET', '/api-keys', undefined],
    ['POST', '/api-keys', { label: 'mine now' }],
    ['PATCH', `/api-keys/${target.id}`, { label: 'x' }],
    ['POST', `/api-keys/${target.id}/rotate`, undefined],
    ['DELETE', `/api-keys/${target.id}`, undefined],
  ] as const;
  for (const [method, url, body] of attempts) {
    const res = await call(a.readOnlyKey, method, url, body);
    assert.equal(res.statusCode, 400, `${method} ${url}: ${res.body}`);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  }
  const users = browser(ctx.server, a.code);
  assert.equal((await users.signIn('useradmin', PASSWORD)).statusCode, 303);
  for (const [method, url, body] of attempts) {
    assert.equal(errorCode(await users.api(method === 'PATCH' ? 'PATCH' : method, url, body)), 'UNAUTHORIZED', `${method} ${url}`);
  }
  assert.equal((await use(ctx.server, target.key)).statusCode, 200);
  assert.equal((await listed(a.key, target.id))!.label, 'target');

  const admin = browser(ctx.server, a.code);
  assert.equal((await admin.signIn('keysadmin', PASSWORD)).statusCode, 303);
  assert.equal((await admin.api('GET', '/api-keys')).statusCode, 200);
  const noToken = await admin.api('POST', '/api-keys', { label: 'by staff' }, { csrf: false });
  assert.equal(noToken.statusCode, 403, noToken.body);
  const made = await admin.api('POST', '/api-keys', { label: 'by staff' });
  assert.equal(made.statusCode, 201, made.body);
  const row = (await audits(made.json().id))[0]!;
  assert.deepEqual({ type: row.actor_type, label: row.actor_label }, { type: 'staff', label: 'keysadmin' });
});

test('carrel apikey label and rotate: the new key printed last, the old one refused', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carrel-keys-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
  const pg = ENGINE === 'postgres' ? await createTestDb({ migrate: false }) : undefined;
  if (pg) {
    await pg.db.close();
    env.DATABASE_URL = pg.url!;
  }
  const root = new URL('..', import.meta.url).pathname;
  const carrel = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };
  try {
    assert.equal(carrel('institution', 'create', '01KEYS', '--name', 'Keys').code, 0);
    const made = carrel('apikey', 'create', '--institution', '01KEYS', '--label', 'first');
    assert.equal(made.code, 0, made.err);
    const key = made.out.trim().split('\n').at(-1)!;
    const prefix = key.split('_')[1]!;
    const labelled = carrel('apikey', 'label', prefix, 'nightly export', '--institution', '01KEYS');
    assert.equal(labelled.code, 0, labelled.err);
    assert.match(labelled.out, /labelled nightly export/);
    const rotated = carrel('apikey', 'rotate', prefix, '--institution', '01KEYS');
    assert.equal(rotated.code, 0, rotated.err);
    const newKey = rotated.out.trim().split('\n').at(-1)!;
    assert.match(newKey, KEY_SHAPE);

    // A server on that database takes the new key and refuses the old.
    const app: App = await createApp({ ...ctx.app.config, dataDir, databaseUrl: pg?.url }, { migrate: false });
    const server = await buildServer(app, { logger: false });
    try {
      assert.equal((await use(server, newKey)).statusCode, 200);
      assert.equal((await use(server, key)).statusCode, 400);
      const actions = await app.db.query<{ action: string; actor_label: string }>("SELECT action, actor_label FROM audit_event WHERE entity_type = 'api_key' ORDER BY id");
      assert.deepEqual(actions.map((r) => r.action), ['api_key.create', 'api_key.label', 'api_key.rotate']);
      assert.ok(actions.every((r) => r.actor_label === 'cli apikey'));
      const [listing] = await app.services.apiKeys.list((await app.services.institutions.byCode('01KEYS')).id);
      assert.equal(listing!.label, 'nightly export');
      assert.ok(listing!.rotatedAt);
    } finally {
      await server.close();
      await app.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop().catch(() => {});
  }
});

/** A second server on the same database, as another node of a deployment would be. */
async function otherNode(): Promise<{ server: TestContext['server']; close(): Promise<void> }> {
  const app = ENGINE === 'postgres'
    ? await createApp(ctx.app.config, { db: await openPostgres(ctx.testDb.url!, 2), migrate: false })
    : await createApp(ctx.app.config, { db: ctx.testDb.db, migrate: false });
  const server = await buildServer(app, { logger: false });
  await server.ready();
  return {
    server,
    async close() {
      await server.close();
      if (ENGINE === 'postgres') await app.close();
      else await app.services.identity.close();
    },
  };
}
