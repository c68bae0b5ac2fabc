// Login methods through /api/v1/login-methods and `carrel login-method`: create, list, show,
// update, delete; settings checked by the module's schema; match checked against the code
// tables; a type without a module refused; secrets never returned and kept when an update leaves
// them out; permission config:manage; one institution never sees another's methods; audited.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createTestContext, type TestContext } from './helpers/app.js';
import { createTestDb, ENGINE, type TestDb } from './helpers/db.js';
import { CHEAP_ARGON2, errorCode } from './helpers/identity.js';
import { fakeRedirectModule, useModules } from './helpers/sign-in.js';
import { methodModules } from '../src/domain/sign-in/methods/index.js';

let ctx: TestContext;
let a: { id: string; code: string; key: string; readOnlyKey: string };
let b: { id: string; code: string; key: string; readOnlyKey: string };
const modules = useModules(fakeRedirectModule('oidc'));

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  a = await ctx.institution();
  b = await ctx.institution();
});
after(async () => {
  modules.restore();
  await ctx.close();
});

function api(server: FastifyInstance, key: string) {
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) =>
    server.inject({
      method,
      url: `/api/v1${url}`,
      headers: { authorization: `apikey ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body: unknown) => call('POST', url, body),
    put: (url: string, body: unknown) => call('PUT', url, body),
    delete: (url: string) => call('DELETE', url),
  };
}

const OIDC = { code: 'campus', type: 'oidc', label: 'Campus account', match: 'UNIV_ID', config: { issuer: 'https://idp.example.edu', client_secret: 'very-secret-value' } };

test('create, list, show, update and delete over the API; secrets are shown as "set", never returned, kept when left out', async () => {
  const x = api(ctx.server, a.key);
  const created = await x.post('/login-methods', OIDC);
  assert.equal(created.statusCode, 201, created.body);
  const body = created.json();
  assert.equal(body.config.client_secret, 'set');
  assert.equal(body.match, 'UNIV_ID');
  assert.equal(body.urls.callback, `http://carrel.test/auth/${a.code}/login/campus/callback`);
  assert.equal(body.urls.metadata, `http://carrel.test/auth/${a.code}/saml/campus/metadata`);
  assert.equal(body.urls.acs, `http://carrel.test/auth/${a.code}/saml/campus/acs`);
  for (const res of [created, await x.get('/login-methods'), await x.get('/login-methods/campus')]) {
    assert.doesNotMatch(res.body, /very-secret-value/);
  }
  assert.equal((await x.get('/login-methods')).json().login_method.length, 1);

  const updated = await x.put('/login-methods/campus', { label: 'Sign in with your campus account', config: { issuer: 'https://idp2.example.edu' } });
  assert.equal(updated.statusCode, 200, updated.body);
  assert.equal(updated.json().config.client_secret, 'set');
  const stored = await ctx.testDb.db.one<{ config: { client_secret: string; issuer: string } }>(
    "SELECT config FROM login_method WHERE code = 'campus' AND institution_id = $1",
    [a.id],
  );
  assert.equal(stored.config.client_secret, 'very-secret-value', 'kept when left out');
  assert.equal(stored.config.issuer, 'https://idp2.example.edu');
  assert.equal((await x.put('/login-methods/campus', { config: { issuer: 'https://idp2.example.edu', client_secret: 'set' } })).statusCode, 200);
  assert.equal((await x.put('/login-methods/campus', { config: { issuer: 'https://idp2.example.edu', client_secret: 'rotated' } })).statusCode, 200);
  const rotated = await ctx.testDb.db.one<{ config: { client_secret: string } }>("SELECT config FROM login_method WHERE code = 'campus' AND institution_id = $1", [a.id]);
  assert.equal(rotated.config.client_secret, 'rotated');

  const jit = await x.put('/login-methods/campus', { jit: { record_type: 'PUBLIC', user_group: 'community' } });
  assert.deepEqual(jit.json().jit, { record_type: 'PUBLIC', user_group: 'COMMUNITY' });
  assert.equal((await x.put('/login-methods/campus', { jit: null })).json().jit, null);

  const events = await ctx.testDb.db.query<{ action: string; changes: unknown; context: unknown }>(
    "SELECT action, changes, context FROM audit_event WHERE entity_type = 'login_method' AND institution_id = $1 ORDER BY id",
    [a.id],
  );
  assert.deepEqual(events.map((e) => e.action), ['login_method.create', ...Array(5).fill('login_method.update')]);
  assert.doesNotMatch(JSON.stringify(events), /very-secret-value|rotated/);
  assert.ok(events.some((e) => JSON.stringify(e.context).includes('client_secret')), 'a changed secret is noted by name');

  assert.equal((await x.delete('/login-methods/campus')).statusCode, 204);
  const gone = await x.get('/login-methods/campus');
  assert.equal(gone.statusCode, 404);
  assert.equal(errorCode(gone), 'CARREL_NOT_FOUND');
});

test('bad settings, an unknown match, a duplicate code and a type without a module are refused with what is wrong', async () => {
  const x = api(ctx.server, a.key);
  const cases: [unknown, string, RegExp][] = [
    [{ ...OIDC, code: 'Bad Code' }, 'CARREL_LOGIN_METHOD_INVALID', /code/],
    [{ ...OIDC, code: 'm1', match: 'NOPE_ID' }, 'CARREL_LOGIN_METHOD_INVALID', /match NOPE_ID/],
    [{ ...OIDC, code: 'm2', config: { client_secret: 'x' } }, 'CARREL_LOGIN_METHOD_INVALID', /issuer/],
    [{ ...OIDC, code: 'm3', config: { issuer: 'x', surprise: 1 } }, 'CARREL_LOGIN_METHOD_INVALID', /surprise/],
    [{ ...OIDC, code: 'm4', type: 'kerberos' }, 'CARREL_LOGIN_METHOD_INVALID', /type must be one of/],
    [{ ...OIDC, code: 'm5', type: 'saml' }, 'CARREL_LOGIN_METHOD_INVALID', /saml is not available/],
    [{ ...OIDC, code: 'm6', jit: { record_type: 'ROBOT' } }, 'CARREL_LOGIN_METHOD_INVALID', /record type/],
    [{ ...OIDC, code: 'm7', jit: { user_group: 'NO_SUCH' } }, 'CARREL_LOGIN_METHOD_INVALID', /user group/],
  ];
  // 'saml' stands for a type without a module: take the real one out for this check.
  const samlModule = methodModules.get('saml');
  methodModules.delete('saml');
  try {
    for (const [body, code, message] of cases) {
      const res = await x.post('/login-methods', body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.equal(errorCode(res), code);
      assert.match(res.body, message);
      assert.doesNotMatch(res.body, /very-secret-value/, 'a refusal never echoes a secret');
    }
  } finally {
    if (samlModule) methodModules.set('saml', samlModule);
  }
  assert.equal((await x.post('/login-methods', { ...OIDC, code: 'dup' })).statusCode, 201);
  const dup = await x.post('/login-methods', { ...OIDC, code: 'dup' });
  assert.equal(dup.statusCode, 409);
  const retype = await x.put('/login-methods/dup', { type: 'email-link' });
  assert.equal(retype.statusCode, 400);
  assert.equal((await x.get('/login-methods')).json().login_method.length, 1, 'nothing else was stored');
});

test('a read-only key may not read or change methods; another institution sees none of them and cannot touch them', async () => {
  const x = api(ctx.server, a.key);
  assert.equal((await x.post('/login-methods', { ...OIDC, code: 'mine' })).statusCode, 201);
  const ro = api(ctx.server, a.readOnlyKey);
  for (const res of [await ro.get('/login-methods'), await ro.get('/login-methods/mine'), await ro.post('/login-methods', { ...OIDC, code: 'ro' }), await ro.delete('/login-methods/mine')]) {
    assert.equal(errorCode(res), 'UNAUTHORIZED', res.body);
  }
  const them = api(ctx.server, b.key);
  assert.deepEqual((await them.get('/login-methods')).json().login_method, []);
  assert.equal((await them.get('/login-methods/mine')).statusCode, 404);
  assert.equal((await them.put('/login-methods/mine', { label: 'taken over' })).statusCode, 404);
  assert.equal((await them.delete('/login-methods/mine')).statusCode, 404);
  // The same code is free in another institution.
  assert.equal((await them.post('/login-methods', { ...OIDC, code: 'mine' })).statusCode, 201);
  assert.equal((await x.get('/login-methods/mine')).json().label, 'Campus account');
});

// The command line runs in its own process: only the modules this Carrel ships are there.
let cliDb: TestDb | undefined;
const tmp = mkdtempSync(join(tmpdir(), 'carrel-lm-'));
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await cliDb?.drop();
});

test('carrel login-method create, list, show, update and delete', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CARREL_DATA_DIR: join(tmp, 'data'), DATABASE_URL: '', LOG_LEVEL: 'warn', CARREL_PUBLIC_URL: 'https://carrel.example.edu' };
  if (ENGINE === 'postgres') {
    cliDb = await createTestDb({ migrate: false });
    await cliDb.db.close();
    env.DATABASE_URL = cliDb.url!;
  }
  const root = new URL('..', import.meta.url).pathname;
  const carrel = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };
  assert.equal(carrel('institution', 'create', '01LM_UNI', '--name', 'LM University').code, 0);
  const file = join(tmp, 'config.json');
  writeFileSync(file, JSON.stringify({ by_email: true }));
  const made = carrel('login-method', 'create', 'mail', '--institution', '01LM_UNI', '--type', 'email-link', '--match', 'primary_id', '--config', `@${file}`, '--label', 'E-mail me a link');
  assert.equal(made.code, 0, made.err);
  assert.match(made.out, /created login method mail/);
  assert.match(made.out, /https:\/\/carrel\.example\.edu\/auth\/01LM_UNI\/login\/mail\/callback/);
  const noModule = carrel('login-method', 'create', 'sso', '--institution', '01LM_UNI', '--type', 'saml', '--match', 'primary_id', '--config', '{}');
  if (noModule.code === 0) {
    // The SAML module has landed: then an empty config is what is refused.
    assert.fail('an empty SAML config was accepted');
  }
  assert.match(noModule.err, /saml is not available|not valid/);
  const badMatch = carrel('login-method', 'create', 'm2', '--institution', '01LM_UNI', '--type', 'email-link', '--match', 'NOPE', '--config', '{}');
  assert.notEqual(badMatch.code, 0);
  assert.match(badMatch.err, /match NOPE/);
  const upd = carrel('login-method', 'update', 'mail', '--institution', '01LM_UNI', '--disabled', '--position', '3', '--match', 'univ_id');
  assert.equal(upd.code, 0, upd.err);
  assert.match(upd.out, /"enabled": false/);
  assert.match(upd.out, /"match": "UNIV_ID"/);
  const list = carrel('login-method', 'list', '--institution', '01LM_UNI');
  assert.match(list.out, /^mail\temail-link\tmatch UNIV_ID\tdisabled\tE-mail me a link$/m);
  const show = carrel('login-method', 'show', 'mail', '--institution', '01LM_UNI');
  assert.match(show.out, /"position": 3/);
  assert.equal(carrel('login-method', 'delete', 'mail', '--institution', '01LM_UNI').code, 0);
  const gone = carrel('login-method', 'show', 'mail', '--institution', '01LM_UNI');
  assert.notEqual(gone.code, 0);
  assert.match(gone.err, /Login method mail was not found/);
});
