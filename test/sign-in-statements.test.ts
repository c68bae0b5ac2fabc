// What one sign-in costs the database, counted through a Db wrapper (helpers/counting-db.ts):
// the LDAP method's page and the local password form, from an address the user signed in from
// before (the steady state) and with the browser's previous session cookie. An upper bound on
// round trips keeps the sign-in path from growing a lookup per feature again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { countingDb } from './helpers/counting-db.js';
import { CHEAP_ARGON2, type InjectResult } from './helpers/identity.js';
import { PEOPLE, PEOPLE_SEED, SERVICE_DN, SERVICE_PASSWORD, slapdAvailable, startSlapd, type Slapd } from './helpers/slapd.js';

const system = { kind: 'system', label: 'test' } as const;
const alice = PEOPLE_SEED[0]!;
const PW = 'Correct horse 2024';
const ADDRESS = '198.51.100.5';

let ctx: TestContext;
let counter: ReturnType<typeof countingDb>;
let inst: { id: string; code: string; key: string };
let slapd: Slapd | undefined;

before(async () => {
  if (slapdAvailable()) slapd = await startSlapd();
  ctx = await createTestContext({ config: CHEAP_ARGON2, wrapDb: (db) => (counter = countingDb(db)).db });
  inst = await ctx.institution();
  const res = await client(ctx.server, inst.key).post('/users', { ...jsonUser('alice', { password: PW }) });
  assert.equal(res.statusCode, 200, res.body);
  if (slapd) {
    await ctx.app.services.loginMethods.create(system, inst.id, {
      code: 'dir',
      type: 'ldap',
      match: 'primary_id',
      config: {
        url: slapd.url,
        bind_dn: SERVICE_DN,
        bind_password: SERVICE_PASSWORD,
        search_base: PEOPLE,
        filter: '(&(objectClass=inetOrgPerson)(uid={username}))',
        attribute: 'uid',
        timeout_ms: 10_000,
      },
    });
  }
});
after(async () => {
  await ctx?.close();
  await slapd?.stop();
});

/** A form POST from ADDRESS with the form's CSRF token (and a session cookie, when given); counts only the POST. */
async function post(path: string, form: Record<string, string>, session?: string): Promise<{ res: InjectResult; trips: number; sql: string[] }> {
  const url = `/auth/${inst.code}${path}`;
  const page = await ctx.server.inject({ method: 'GET', url, remoteAddress: ADDRESS });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const raw = page.headers['set-cookie'];
  const csrf = (Array.isArray(raw) ? raw : [raw]).find((c) => typeof c === 'string' && c.startsWith('carrel_csrf='))!.split(';')[0]!;
  counter.reset();
  const res = (await ctx.server.inject({
    method: 'POST',
    url,
    remoteAddress: ADDRESS,
    headers: { cookie: [csrf, session].filter(Boolean).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ...form, _csrf: token }).toString(),
  })) as InjectResult;
  return { res, trips: counter.roundTrips(), sql: [...counter.counts.sql] };
}

const sessionOf = (res: InjectResult) => {
  const raw = res.headers['set-cookie'];
  return (Array.isArray(raw) ? raw : [raw]).find((c) => typeof c === 'string' && c.startsWith('carrel_session='))?.split(';')[0];
};

/** The browser's previous session ended with the new sign-in (rotation). */
async function assertRevoked(cookie: string) {
  const res = await ctx.server.inject({ method: 'GET', url: `/auth/${inst.code}/account`, headers: { cookie } });
  assert.notEqual(res.statusCode, 200, 'the previous session no longer works');
}

describe('round trips per sign-in', () => {
  test('the login form reads nothing while its institution and methods are kept', async () => {
    const url = `/auth/${inst.code}/login`;
    await ctx.server.inject({ method: 'GET', url, remoteAddress: ADDRESS });
    counter.reset();
    const page = await ctx.server.inject({ method: 'GET', url, remoteAddress: ADDRESS });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /name="_csrf"/);
    assert.equal(counter.roundTrips(), 0, counter.counts.sql.join('\n'));
  });

  test('a change of login method shows on the next page at once', async () => {
    const url = `/auth/${inst.code}/login?auth=`;
    await ctx.app.services.loginMethods.create(system, inst.id, { code: 'later', type: 'cas', label: 'Added later', match: 'primary_id', config: { server_url: 'https://cas.test/cas' } });
    assert.match((await ctx.server.inject({ method: 'GET', url, remoteAddress: ADDRESS })).body, /Added later/);
    await ctx.app.services.loginMethods.remove(system, inst.id, 'later');
    assert.doesNotMatch((await ctx.server.inject({ method: 'GET', url, remoteAddress: ADDRESS })).body, /Added later/);
  });

  test('the local password form', async () => {
    await post('/login', { identifier: 'alice', password: PW }); // the address becomes familiar
    const first = await post('/login', { identifier: 'alice', password: PW });
    assert.equal(first.res.statusCode, 303);
    // The login candidate (the user, its credential, the throttle's counters), the session state, the
    // session write; the institution is kept by the pages (institution-service.ts: forPages).
    assert.ok(first.trips <= 3, `local, no previous session: ${first.trips} round trips\n  ${first.sql.join('\n  ')}`);
    const again = await post('/login', { identifier: 'alice', password: PW }, sessionOf(first.res));
    assert.equal(again.res.statusCode, 303);
    await assertRevoked(sessionOf(first.res)!);
    assert.ok(again.trips <= 3, `local, previous session: ${again.trips} round trips\n  ${again.sql.join('\n  ')}`);
  });

  test('the LDAP method\'s page', { skip: !slapdAvailable() && !process.env.CI ? 'slapd is not installed' : false }, async () => {
    await post('/login/dir', { username: alice.uid, password: alice.password });
    const first = await post('/login/dir', { username: alice.uid, password: alice.password });
    assert.equal(first.res.statusCode, 303, first.res.body);
    // The throttle's read, the user the directory's answer matches, the session state, the session
    // write; the institution and its methods are kept (forPages, sign-in.ts: methodsOf).
    assert.ok(first.trips <= 4, `ldap, no previous session: ${first.trips} round trips\n  ${first.sql.join('\n  ')}`);
    const again = await post('/login/dir', { username: alice.uid, password: alice.password }, sessionOf(first.res));
    assert.equal(again.res.statusCode, 303);
    await assertRevoked(sessionOf(first.res)!);
    assert.ok(again.trips <= 4, `ldap, previous session: ${again.trips} round trips\n  ${again.sql.join('\n  ')}`);
  });
});
