// Links and reverse proxies: a `link` never comes from a client's Host header; with
// CARREL_TRUSTED_PROXIES, X-Forwarded-* are believed from those peers only, so the login throttle
// counts each client behind the proxy on its own; `carrel serve` warns when exposed without either.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { exposureWarning } from '../src/cli/commands/serve.js';
import { loadConfig, type Config } from '../src/config.js';
import { proxyTrust } from '../src/http/proxies.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2 } from './helpers/identity.js';
import { ENGINE } from './helpers/db.js';

const contexts: TestContext[] = [];
after(async () => {
  for (const c of contexts) await c.close();
});
async function context(config: Partial<Config>) {
  const ctx = await createTestContext({ config: { ...CHEAP_ARGON2, publicUrl: undefined, port: 8080, host: '10.1.2.3', ...config } });
  contexts.push(ctx);
  const inst = await ctx.institution();
  const api = client(ctx.server, inst.key);
  assert.equal((await api.post('/users', jsonUser('proxied', { password: 'Correct horse 2024' }))).statusCode, 200);
  return { ctx, inst, api };
}

const linkOf = (res: { body: string }) => (JSON.parse(res.body) as { link: string }).link;
const listLinkOf = (res: { body: string }) => (JSON.parse(res.body) as { user: { link: string }[] }).user[0]!.link;

describe('links', () => {
  test('without a public URL or trusted proxies, a Host header does not make the link: the server\'s own address does', async () => {
    const { api } = await context({});
    const evil = { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    assert.equal(linkOf(await api.get('/users/proxied', evil)), 'http://10.1.2.3:8080/almaws/v1/users/proxied');
    assert.equal(listLinkOf(await api.get('/users?limit=1', evil)), 'http://10.1.2.3:8080/almaws/v1/users/proxied');
  });

  test('with a public URL, that is the link whatever the headers', async () => {
    const { api } = await context({ publicUrl: 'https://carrel.example.org/', trustedProxies: ['127.0.0.1'] });
    const res = await api.get('/users/proxied', { host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    assert.equal(linkOf(res), 'https://carrel.example.org/almaws/v1/users/proxied');
  });

  test('with trusted proxies, the forwarded host and protocol of a trusted peer make the link; an untrusted peer\'s do not', async () => {
    const { ctx, inst } = await context({ trustedProxies: ['127.0.0.0/8', '::1'] });
    const ask = (remoteAddress: string, headers: Record<string, string>) =>
      ctx.server.inject({
        method: 'GET',
        url: '/almaws/v1/users/proxied',
        remoteAddress,
        headers: { authorization: `apikey ${inst.key}`, accept: 'application/json', ...headers },
      });
    const forwarded = { host: 'internal:8080', 'x-forwarded-host': 'library.example.edu', 'x-forwarded-proto': 'https' };
    assert.equal(linkOf(await ask('127.0.0.1', forwarded)), 'https://library.example.edu/almaws/v1/users/proxied');
    assert.equal(linkOf(await ask('203.0.113.9', { ...forwarded, host: 'evil.example' })), 'http://10.1.2.3:8080/almaws/v1/users/proxied');
    // A trusted peer that forwards nothing: the server's own address, never its Host header.
    assert.equal(linkOf(await ask('127.0.0.1', { host: 'evil.example' })), 'http://10.1.2.3:8080/almaws/v1/users/proxied');
    // A forwarded host that is not a host name is not used.
    assert.equal(linkOf(await ask('127.0.0.1', { 'x-forwarded-host': 'evil.example/path?' })), 'http://10.1.2.3:8080/almaws/v1/users/proxied');
  });
});

describe('trusted proxies and the login throttle', () => {
  /** Signs in on the login page as `client` (its address as the peer, or forwarded by the proxy). */
  async function signIn(ctx: TestContext, code: string, peer: string, forwardedFor: string | undefined, password: string) {
    const headers: Record<string, string> = { host: '127.0.0.1', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) };
    const page = await ctx.server.inject({ method: 'GET', url: `/auth/${code}/login`, remoteAddress: peer, headers });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const csrf = String(page.headers['set-cookie'] ?? '').match(/carrel_csrf=([^;]+)/)?.[1] ?? '';
    const res = await ctx.server.inject({
      method: 'POST',
      url: `/auth/${code}/login`,
      remoteAddress: peer,
      headers: { ...headers, cookie: `carrel_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ identifier: 'proxied', password, _csrf: token }).toString(),
    });
    assert.ok([303, 401].includes(res.statusCode), `${res.statusCode} ${res.body.slice(0, 200)}`);
    return res.statusCode === 303 ? 'ok' : 'failed';
  }

  test('two clients behind a trusted proxy are throttled separately; an untrusted peer\'s X-Forwarded-For is ignored', async () => {
    const { ctx, inst } = await context({ trustedProxies: ['loopback'], loginAddressMaxFailures: 3 });
    // Client A fails until its address is refused (wrong passwords on an unknown user: no account lock).
    for (let i = 0; i < 3; i++) assert.equal(await signIn(ctx, inst.code, '127.0.0.1', '198.51.100.1', 'wrong'), 'failed');
    assert.equal(await signIn(ctx, inst.code, '127.0.0.1', '198.51.100.1', 'Correct horse 2024'), 'failed', 'A is refused');
    // Client B, behind the same proxy, is not.
    assert.equal(await signIn(ctx, inst.code, '127.0.0.1', '198.51.100.2', 'Correct horse 2024'), 'ok', 'B gets in');

    // A peer that is not a proxy cannot pick its address: each guess counts against the peer.
    for (let i = 0; i < 3; i++) assert.equal(await signIn(ctx, inst.code, '203.0.113.7', `192.0.2.${i + 10}`, 'wrong'), 'failed');
    assert.equal(await signIn(ctx, inst.code, '203.0.113.7', '192.0.2.99', 'Correct horse 2024'), 'failed', 'the peer is refused');
  });

  test('without trusted proxies, X-Forwarded-For is ignored: everyone behind a proxy is one address', async () => {
    const { ctx, inst } = await context({ loginAddressMaxFailures: 3 });
    for (let i = 0; i < 3; i++) assert.equal(await signIn(ctx, inst.code, '127.0.0.1', `198.51.100.${i + 1}`, 'wrong'), 'failed');
    assert.equal(await signIn(ctx, inst.code, '127.0.0.1', '198.51.100.50', 'Correct horse 2024'), 'failed');
  });
});

describe('configuration and the start-up warning', () => {
  test('CARREL_TRUSTED_PROXIES takes addresses, CIDRs and keywords; refuses anything else', () => {
    const list = loadConfig({ CARREL_TRUSTED_PROXIES: '10.0.0.1, 192.168.0.0/16,::1,loopback' }).trustedProxies;
    assert.deepEqual(list, ['10.0.0.1', '192.168.0.0/16', '::1', 'loopback']);
    const trust = proxyTrust(list);
    for (const a of ['10.0.0.1', '192.168.7.7', '::1', '127.0.0.9', '::ffff:192.168.1.1']) assert.equal(trust(a), true, a);
    for (const a of ['10.0.0.2', '8.8.8.8', '::2', undefined]) assert.equal(trust(a), false, String(a));
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    for (const bad of ['proxy.example', '10.0.0.0/33', '*', 'true']) assert.throws(() => loadConfig({ CARREL_TRUSTED_PROXIES: bad }), /trustedProxies/, bad);
  });

  test('the warning: said when listening beyond loopback without a public URL or trusted proxies', () => {
    const base = { publicUrl: undefined, trustedProxies: [] as string[], port: 3000 };
    assert.match(exposureWarning({ ...base, host: '0.0.0.0' })!, /CARREL_PUBLIC_URL.*CARREL_TRUSTED_PROXIES/);
    assert.ok(exposureWarning({ ...base, host: '10.0.0.5' }));
    for (const host of ['127.0.0.1', 'localhost', '::1']) assert.equal(exposureWarning({ ...base, host }), undefined, host);
    assert.equal(exposureWarning({ ...base, host: '0.0.0.0', publicUrl: 'https://x.example' }), undefined);
    assert.equal(exposureWarning({ ...base, host: '0.0.0.0', trustedProxies: ['loopback'] }), undefined);
  });

  test('carrel serve prints it', { skip: ENGINE !== 'pglite' && 'one engine is enough for the CLI' }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carrel-warn-'));
    const env = { ...process.env, CARREL_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn', CARREL_PUBLIC_URL: '', CARREL_TRUSTED_PROXIES: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--host', '0.0.0.0', '--port', '0', '--no-worker'], {
      cwd: new URL('..', import.meta.url).pathname,
      env,
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const deadline = Date.now() + 60_000;
      while (!/serving on/.test(out)) {
        assert.ok(Date.now() < deadline, `server did not start: ${out}`);
        assert.equal(child.exitCode, null, `server exited: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, /WARNING: listening on 0\.0\.0\.0 with neither CARREL_PUBLIC_URL nor CARREL_TRUSTED_PROXIES/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
