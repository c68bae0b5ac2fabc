// Login-page sessions without a browser: rotation at sign-in, idle and absolute timeouts,
// shared accounts warned or refused, revocation by staff, Secure cookies outside localhost.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, staffUser, testClock, v1, type TestClock } from './helpers/identity.js';

let ctx: TestContext;
let clock: TestClock;
let code: string;
let key: string;
let readOnlyKey: string;
const PASSWORD = 'Shared-Backup-2026';

before(async () => {
  clock = testClock();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, sessionIdleMinutes: 30, sessionAbsoluteMinutes: 720 }, clock: clock.fn });
  const inst = await ctx.institution();
  ({ code, key, readOnlyKey } = inst);
  for (const id of ['shared_admin', 'solo_user']) {
    const res = await client(ctx.server, key).post('/users', staffUser(id, { password: PASSWORD }));
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(() => ctx.close());

const cookieOf = (setCookie: unknown, name: string): string | undefined => {
  const all = Array.isArray(setCookie) ? setCookie : [setCookie];
  const hit = all.find((c) => typeof c === 'string' && c.startsWith(`${name}=`)) as string | undefined;
  return hit?.split(';')[0]!.slice(name.length + 1);
};

/** One browser: a cookie jar and the CSRF token of the last form it was shown. */
function browser(host = '127.0.0.1') {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: { headers: Record<string, unknown> }) => {
    for (const name of ['carrel_session', 'carrel_csrf']) {
      const v = cookieOf(res.headers['set-cookie'], name);
      if (v !== undefined) jar.set(name, v);
    }
  };
  return {
    jar,
    async get(path: string) {
      const res = await ctx.server.inject({ method: 'GET', url: `/auth/${code}${path}`, headers: { host, cookie: cookieHeader() } });
      keep(res);
      return res;
    },
    async post(path: string, form: Record<string, string>) {
      // Any page with a form carries the browser's CSRF token; this one shows its form signed in or not.
      const page = await this.get('/forgot-password');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const res = await ctx.server.inject({
        method: 'POST',
        url: `/auth/${code}${path}`,
        headers: { host, cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ ...form, _csrf: token }).toString(),
      });
      keep(res);
      return res;
    },
    signIn(identifier: string, password = PASSWORD) {
      return this.post('/login', { identifier, password });
    },
  };
}

test('signing in rotates the session id and ends the browser\'s previous session', async () => {
  const b = browser();
  b.jar.set('carrel_session', 'fixated-by-an-attacker-000000000000000000000');
  const first = await b.signIn('solo_user');
  assert.equal(first.statusCode, 303);
  const firstCookie = b.jar.get('carrel_session')!;
  assert.notEqual(firstCookie, 'fixated-by-an-attacker-000000000000000000000');
  await b.signIn('solo_user');
  const second = b.jar.get('carrel_session')!;
  assert.notEqual(second, firstCookie);
  const old = browser();
  old.jar.set('carrel_session', firstCookie);
  assert.equal((await old.get('/account')).statusCode, 303, 'the first session ended');
  assert.equal((await b.get('/account')).statusCode, 200);
});

test('sessions end after the idle timeout and after the absolute timeout', async () => {
  const idle = browser();
  await idle.signIn('solo_user');
  clock.advance(31 * 60_000);
  assert.match((await idle.get('/account')).headers.location as string, /\/login$/);

  const busy = browser();
  await busy.signIn('solo_user');
  for (let i = 0; i < 35; i += 1) {
    clock.advance(20 * 60_000);
    assert.equal((await busy.get('/account')).statusCode, 200, `still active after ${(i + 1) * 20} minutes`);
  }
  clock.advance(40 * 60_000);
  assert.match((await busy.get('/account')).headers.location as string, /\/login$/, 'ended after 12 hours however busy');
});

test('a shared account is warned about, then refused, a second live session', async () => {
  const staff = v1(ctx.server, key);
  const put = (policy: string, k = key) =>
    ctx.server.inject({ method: 'PUT', url: '/api/v1/users/shared_admin/session-policy', headers: { authorization: `apikey ${k}`, 'content-type': 'application/json' }, payload: JSON.stringify({ concurrent_sessions: policy }) });
  assert.equal((await put('warn', readOnlyKey)).statusCode, 400);
  assert.equal((await put('warn')).statusCode, 200);

  const alice = browser();
  assert.match((await alice.signIn('shared_admin')).headers.location as string, /account$/);
  const bob = browser();
  const warned = await bob.signIn('shared_admin');
  assert.match(warned.headers.location as string, /account\?shared=1$/);
  assert.match((await bob.get('/account?shared=1')).body, /also signed in somewhere else/);

  assert.equal((await put('refuse')).statusCode, 200);
  const carol = browser();
  const refused = await carol.signIn('shared_admin');
  assert.equal(refused.statusCode, 409);
  assert.match(refused.body, /already signed in somewhere else/);
  assert.equal(carol.jar.get('carrel_session'), undefined);

  // Staff end the other sessions; now the account is free again.
  const sessions = (await staff.get('/users/shared_admin/sessions')).json().sessions;
  assert.equal(sessions.length, 2);
  assert.equal((await staff.delete('/users/shared_admin/sessions')).statusCode, 200);
  assert.match((await alice.get('/account')).headers.location as string, /\/login$/);
  assert.equal((await carol.signIn('shared_admin')).statusCode, 303);
  await put('allow');
});

test('cookies are Secure outside localhost, and not on plain-HTTP localhost', async () => {
  const remote = browser('carrel.example.edu');
  const page = await remote.get('/login');
  assert.match(String(page.headers['set-cookie']), /carrel_csrf=[^;]+;.*Secure/);
  const res = await remote.signIn('solo_user');
  assert.equal(res.statusCode, 303);
  const set = (Array.isArray(res.headers['set-cookie']) ? res.headers['set-cookie'] : [res.headers['set-cookie']]).join('\n');
  assert.match(set, /carrel_session=[^;]+;.*HttpOnly/);
  assert.match(set, /carrel_session=[^;]+;.*Secure/);
  assert.match(set, /carrel_session=[^;]+;.*SameSite=Lax/);
  const local = await browser().get('/login');
  assert.doesNotMatch(String(local.headers['set-cookie']), /Secure/);
});

test('pages of an unknown institution are a 404 page, not a stack trace', async () => {
  const res = await ctx.server.inject({ method: 'GET', url: '/auth/NO_SUCH_LIBRARY/login' });
  assert.equal(res.statusCode, 404);
  assert.match(res.headers['content-type'] as string, /text\/html/);
  assert.match(res.body, /no such library/i);
});
