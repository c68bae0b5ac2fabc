// What reaches the log under attack: no secret in any spelling a parser accepts, at any level,
// and clients that give up mid-upload are not server errors.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { redactUrl } from '../src/http/server.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2 } from './helpers/identity.js';
import { api as sisApi } from './helpers/sis.js';

const PASSWORD = 'Pw-Secret-4711-Zebra';
let ctx: TestContext;
let key: string;
const log: string[] = [];
const logStream = new Writable({
  write(chunk, _enc, done) {
    log.push(String(chunk));
    done();
  },
});

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, logLevel: 'trace' }, logStream });
  ({ key } = await ctx.institution());
  const res = await client(ctx.server, key).post('/users', jsonUser('holder', { password: PASSWORD }));
  assert.equal(res.statusCode, 200, res.body);
});
after(() => ctx.close());

/** Every spelling of a secret parameter the parsers (or a lenient proxy) would read. */
function secretUrls(secretKey: string, pw: string): [string, string][] {
  const k = encodeURIComponent(secretKey);
  const p = encodeURIComponent(pw);
  return [
    ['GET', `/almaws/v1/users/holder?apikey=${k}`],
    ['GET', `/almaws/v1/users/holder?%61pikey=${k}`],
    ['GET', `/almaws/v1/users/holder?%2561pikey=${k}`],
    ['GET', `/almaws/v1/users/holder?APIKEY=${k}&format=json`],
    ['GET', `/almaws/v1/users/holder?apikey%5B%5D=${k}`],
    ['GET', `/almaws/v1/users/holder?apikey[]=${k}`],
    ['GET', `/almaws/v1/users/holder?api%5Fkey=${k}`],
    ['GET', `/almaws/v1/users/holder?format=json;apikey=${k}`],
    ['GET', `/almaws/v1/users/holder;apikey=${k}`],
    ['GET', `/almaws/v1/users/holder?x=1%26apikey%3D${k}`],
    ['GET', `/almaws/v1/users/holder?apikey%3D${k}`],
    ['GET', `/almaws/v1/users/holder?+apikey+=${k}`],
    ['GET', `/almaws/v1/nowhere?apikey=${k}`],
    ['GET', `/almaws/v1/users/%zz?apikey=${k}`],
    ['GET', `/almaws/v1/users/a%00b?apikey=${k}`],
    ['GET', `/almaws/v1/users?offset=1e300&apikey=${k}`],
    ['POST', `/almaws/v1/users/holder?op=auth&password=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth&%70assword=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth&PassWord=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth&password%5B%5D=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth;password=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth&pw=${p}`],
    ['POST', `/almaws/v1/users/holder?op=auth&token=${p}`],
  ];
}

test('9. redactUrl masks secret parameters whatever their spelling', () => {
  for (const [, url] of secretUrls('KEY123', 'PW456')) {
    const out = redactUrl(url);
    assert.doesNotMatch(out, /KEY123|PW456/, `${url} -> ${out}`);
  }
  assert.equal(redactUrl('/almaws/v1/users/x?apikey=K&password=P&format=json'), '/almaws/v1/users/x?apikey=[redacted]&password=[redacted]&format=json');
  assert.equal(redactUrl('/almaws/v1/users?q=last_name~smith&limit=5'), '/almaws/v1/users?q=last_name~smith&limit=5');
  assert.equal(redactUrl('/a?%zz=1&b=%'), '/a?%zz=1&b=%');
});

test('9. neither the key nor a password reaches the log, in any spelling, at any level', async () => {
  log.length = 0;
  for (const [method, url] of secretUrls(key, PASSWORD)) {
    const res = await ctx.server.inject({ method: method as 'GET', url, headers: { accept: 'application/json' } });
    assert.ok(res.statusCode < 500, `${method} ${url}: ${res.statusCode} ${res.body}`);
  }
  assert.ok(log.some((l) => l.includes('incoming request')), 'the log was captured');
  for (const line of log) {
    assert.ok(!line.includes(key), `the key leaked: ${line}`);
    assert.ok(!line.includes(PASSWORD) && !line.includes(encodeURIComponent(PASSWORD)), `a password leaked: ${line}`);
  }

  // A server whose database is gone answers 500 and logs at error level: still nothing secret.
  const lines: string[] = [];
  const c = await createTestContext({
    config: { logLevel: 'trace' },
    logStream: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }),
  });
  try {
    const inst = await c.institution();
    await c.app.db.close();
    for (const [method, url] of secretUrls(inst.key, PASSWORD)) {
      await c.server.inject({ method: method as 'GET', url, headers: { accept: 'application/json', authorization: `apikey ${inst.key}` } });
    }
    assert.ok(lines.some((l) => l.includes('"level":50')), 'error-level lines were written');
    for (const line of lines) {
      assert.ok(!line.includes(inst.key) && !line.includes(PASSWORD), `a secret leaked: ${line}`);
    }
  } finally {
    await c.server.close();
    await c.testDb.drop().catch(() => {});
  }
});

/** Opens a raw connection, sends the head and part of a body, and hangs up. */
async function abortedUpload(port: number, path: string, type: string): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: apikey ${key}\r\nContent-Type: ${type}\r\n` +
      `Content-Length: 900000\r\n\r\n{"first_name":"${'x'.repeat(64 * 1024)}`,
  );
  // Wait until the server has read some of it, then vanish.
  await new Promise((r) => setTimeout(r, 20));
  socket.destroy();
}

test('6. clients that abort their uploads are logged at info, never as errors', async () => {
  const a = sisApi(ctx.server, key);
  assert.equal((await a.createProfile({ code: 'CAMPUS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl' })).status, 201);
  const jobs = async () => (await ctx.app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM job')).n;
  const jobsBefore = await jobs();
  log.length = 0;
  await ctx.server.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (ctx.server.server.address() as AddressInfo).port;
    const targets: [string, string][] = [
      ['/api/v1/integration-profiles/CAMPUS/imports', 'application/x-ndjson'],
      ['/almaws/v1/users', 'application/json'],
      ['/almaws/v1/users', 'application/xml'],
    ];
    const n = 20;
    await Promise.all(Array.from({ length: n }, (_, i) => abortedUpload(port, ...targets[i % targets.length]!)));
    // Poll until every aborted request has been seen to its end.
    const deadline = Date.now() + 60_000;
    while (log.filter((l) => l.includes('client aborted the request')).length < n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(log.filter((l) => l.includes('client aborted the request')).length, n);
  } finally {
    await ctx.server.close();
  }
  const errors = log.filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(errors, []);
  assert.equal(await jobs(), jobsBefore);
});
