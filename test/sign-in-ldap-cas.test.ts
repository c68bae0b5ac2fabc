// LDAP and CAS sign-in end to end through Carrel's pages, against a real slapd and a
// protocol-correct CAS server: the method's page, the session cookie, the landing on the account
// page, the refusal pages (wrong password, injection, empty password, no library account,
// directory or CAS down), a replayed ticket and one for another service, every attempt audited,
// the settings' checks and secrets, and another institution's method out of reach.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, v1 } from './helpers/identity.js';
import { startCasServer, type CasServer } from './helpers/cas-server.js';
import { browser } from './helpers/sign-in.js';
import { freePort, PEOPLE, PEOPLE_SEED, SERVICE_DN, SERVICE_PASSWORD, slapdAvailable, startSlapd, type Slapd } from './helpers/slapd.js';

const system = { kind: 'system', label: 'test' } as const;
const alice = PEOPLE_SEED[0]!;

let ctx: TestContext;
let inst: { id: string; code: string; key: string };
let other: { id: string; code: string; key: string };
let slapd: Slapd;
let cas: CasServer;

function patron(primaryId: string, univId: string) {
  return {
    record_type: { value: 'PUBLIC' },
    primary_id: primaryId,
    first_name: 'Alice',
    last_name: 'Archer',
    account_type: { value: 'EXTERNAL' },
    external_id: 'SIS',
    status: { value: 'ACTIVE' },
    user_group: { value: 'UNDERGRAD' },
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: univId, segment_type: 'External' }],
  };
}

const ldapConfig = (over: Record<string, unknown> = {}) => ({
  url: slapd.url,
  bind_dn: SERVICE_DN,
  bind_password: SERVICE_PASSWORD,
  search_base: PEOPLE,
  filter: '(&(objectClass=inetOrgPerson)(uid={username}))',
  attribute: 'employeeNumber',
  timeout_ms: 10_000,
  ...over,
});

before(async () => {
  // Without slapd (outside CI) the LDAP half is skipped; the CAS half needs nothing installed.
  const withLdap = slapdAvailable();
  if (withLdap) slapd = await startSlapd();
  cas = await startCasServer({
    alice: { password: 'alice-cas-1', attributes: { employeeNumber: ['E1001'], mail: ['alice@uni.test'] } },
    stranger: { password: 'stranger-cas-1', attributes: {} },
  });
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
  other = await ctx.institution();
  // alice is known to Carrel (primary id alice, UNIV_ID = her employeeNumber); bob and the
  // stranger are known to the directory and CAS only.
  const res = await client(ctx.server, inst.key).post('/users', patron('alice', 'E1001'));
  assert.equal(res.statusCode, 200, res.body);
  const lm = ctx.app.services.loginMethods;
  if (withLdap) {
    await lm.create(system, inst.id, { code: 'dir', type: 'ldap', label: 'Campus directory', match: 'UNIV_ID', config: ldapConfig() });
    await lm.create(system, inst.id, { code: 'dir-tls', type: 'ldap', match: 'UNIV_ID', config: ldapConfig({ starttls: true, tls_ca: slapd.ca }) });
    await lm.create(system, inst.id, { code: 'dir-down', type: 'ldap', match: 'UNIV_ID', config: ldapConfig({ url: `ldap://127.0.0.1:${await freePort()}` }) });
  }
  await lm.create(system, inst.id, { code: 'cas3', type: 'cas', label: 'Campus SSO', match: 'primary_id', config: { server_url: cas.url, version: '3.0' } });
  await lm.create(system, inst.id, { code: 'cas2', type: 'cas', match: 'primary_id', config: { server_url: cas.url, version: '2.0' } });
  await lm.create(system, inst.id, { code: 'cas-attr', type: 'cas', match: 'UNIV_ID', config: { server_url: cas.url, attribute: 'employeeNumber' } });
  await lm.create(system, inst.id, { code: 'cas-down', type: 'cas', match: 'primary_id', config: { server_url: `http://127.0.0.1:${await freePort()}/cas`, timeout_ms: 3000 } });
});
after(async () => {
  await ctx?.close();
  await cas?.close();
  await slapd?.stop();
});

const auth = (path: string, code = inst.code) => `/auth/${code}${path}`;

async function lastFailure(): Promise<Record<string, unknown>> {
  const rows = await ctx.testDb.db.query<{ context: Record<string, unknown>; action: string }>(
    "SELECT action, context FROM audit_event WHERE institution_id = $1 AND action LIKE 'sign_in%' ORDER BY id DESC LIMIT 1",
    [inst.id],
  );
  assert.equal(rows[0]?.action, 'sign_in.failed');
  return rows[0]!.context;
}

describe('LDAP through the login page', { skip: !slapdAvailable() && !process.env.CI ? 'slapd is not installed (.ci/run installs it)' : false }, () => {
  const signIn = async (username: string, password: string, method = 'dir') => {
    const b = browser(ctx.server);
    const res = await b.post(auth(`/login/${method}`), { username, password });
    return { b, res };
  };

  test('the method\'s page shows a user name and password form', async () => {
    const page = await browser(ctx.server).get(auth('/login/dir'));
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /name="username"/);
    assert.match(page.body, /name="password"/);
    assert.match(page.body, /name="_csrf"/);
  });

  test('the right password signs in: session cookie set, lands on the account page, audited', async () => {
    for (const method of ['dir', 'dir-tls']) {
      const { b, res } = await signIn('alice', alice.password, method);
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, auth('/account'));
      assert.ok(b.cookie('carrel_session'), 'a session cookie');
      const account = await b.get(auth('/account'));
      assert.equal(account.statusCode, 200);
      assert.match(account.body, /alice/);
    }
    const rows = await ctx.testDb.db.query<{ context: Record<string, unknown> }>(
      "SELECT context FROM audit_event WHERE institution_id = $1 AND action = 'sign_in' ORDER BY id DESC LIMIT 1",
      [inst.id],
    );
    assert.equal(rows[0]?.context.method, 'dir-tls');
  });

  test('a wrong password, an unknown name and an injected filter get the same page and no session', async () => {
    const pages = [];
    for (const [name, password, detail] of [
      ['alice', 'not-her-password', /user bind refused/],
      ['nobody', 'whatever', /no entry/],
      ['*)(uid=*', alice.password, /no entry/],
      ['*', alice.password, /no entry/],
    ] as const) {
      const { b, res } = await signIn(name, password);
      assert.equal(res.statusCode, 401, name);
      assert.match(res.body, /user name or password is not right/);
      assert.equal(b.cookie('carrel_session'), undefined, name);
      const audit = await lastFailure();
      assert.equal(audit.reason, 'bad_credentials');
      assert.match(String(audit.detail), detail);
      assert.doesNotMatch(JSON.stringify(audit), new RegExp(password.replace(/[*()]/g, '\\$&')));
      pages.push(res.body.replace(/ value="[^"]*"/g, ''));
    }
    assert.equal(new Set(pages).size, 1, 'one answer whatever the cause');
  });

  test('an empty password is refused, though this directory would accept the unauthenticated bind', async () => {
    const { b, res } = await signIn('alice', '');
    assert.equal(res.statusCode, 401);
    assert.equal(b.cookie('carrel_session'), undefined);
    assert.equal((await lastFailure()).reason, 'bad_credentials');
  });

  test('someone the directory knows but Carrel does not gets the no-account page', async () => {
    const { b, res } = await signIn('bob', 'bob-pass-2');
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /no library account/i);
    assert.equal(b.cookie('carrel_session'), undefined);
  });

  test('a directory that is down gives the unavailable page with the local-login link', async () => {
    const { b, res } = await signIn('alice', alice.password, 'dir-down');
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /not answering/);
    assert.match(res.body, /login\?auth=local/);
    assert.equal(b.cookie('carrel_session'), undefined);
    assert.equal((await lastFailure()).reason, 'unavailable');
  });

  test('the form needs its CSRF token', async () => {
    const b = browser(ctx.server);
    await b.get(auth('/login/dir'));
    const res = await b.post(auth('/login/dir'), { username: 'alice', password: alice.password }, { csrf: false });
    assert.equal(res.statusCode, 403);
    assert.equal(b.cookie('carrel_session'), undefined);
  });

  test('settings: the bind password is never shown; a clear-text directory elsewhere or a filter without {username} is refused', async () => {
    const api = v1(ctx.server, inst.key);
    const shown = await api.get('/login-methods/dir');
    assert.equal(shown.statusCode, 200, shown.body);
    assert.doesNotMatch(shown.body, new RegExp(SERVICE_PASSWORD));
    const lm = ctx.app.services.loginMethods;
    await assert.rejects(lm.create(system, inst.id, { code: 'clear', type: 'ldap', match: 'UNIV_ID', config: ldapConfig({ url: 'ldap://ldap.uni.example' }) }), /LOGIN_METHOD_INVALID|sends passwords in clear/);
    await assert.rejects(lm.create(system, inst.id, { code: 'nofilter', type: 'ldap', match: 'UNIV_ID', config: ldapConfig({ filter: '(uid=alice)' }) }), /\{username\}/);
  });

  test('another institution cannot use this institution\'s directory method', async () => {
    const b = browser(ctx.server);
    assert.equal((await b.get(auth('/login/dir', other.code))).statusCode, 404);
    // With a CSRF token the browser holds, so that only the method's scope can refuse.
    const res = await b.post(auth('/login/dir', other.code), { username: 'alice', password: alice.password }, { formUrl: auth('/login/dir') });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(b.cookie('carrel_session'), undefined);
  });
});

describe('CAS through the login pages', () => {
  /** Start at Carrel, sign in at the CAS form (a real HTTP round trip), come back with the ticket. */
  async function toCas(b: ReturnType<typeof browser>, method: string) {
    const start = await b.get(auth(`/login/${method}`));
    assert.equal(start.statusCode, 303, start.body);
    const login = new URL(start.headers.location as string);
    assert.equal(`${login.origin}${login.pathname}`, `${cas.url}/login`);
    const service = login.searchParams.get('service')!;
    assert.ok(service.startsWith(`http://carrel.test${auth(`/login/${method}/callback`)}?state=`), service);
    return { login, service };
  }
  async function casSignIn(login: URL, username: string, password: string): Promise<URL> {
    const res = await fetch(new URL(login.pathname, login), {
      method: 'POST',
      body: new URLSearchParams({ service: login.searchParams.get('service')!, username, password }),
      redirect: 'manual',
    });
    assert.equal(res.status, 302);
    return new URL(res.headers.get('location')!);
  }
  const back = (b: ReturnType<typeof browser>, url: URL) => b.get(`${url.pathname}${url.search}`);

  for (const method of ['cas3', 'cas2', 'cas-attr']) {
    test(`${method}: the round trip signs in with a session cookie and lands on the account page`, async () => {
      const b = browser(ctx.server);
      const { login } = await toCas(b, method);
      const res = await back(b, await casSignIn(login, 'alice', 'alice-cas-1'));
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, auth('/account'));
      assert.ok(b.cookie('carrel_session'));
      assert.equal((await b.get(auth('/account'))).statusCode, 200);
    });
  }

  test('a replayed ticket is refused, in another flow of the same browser as well', async () => {
    const b = browser(ctx.server);
    const { login } = await toCas(b, 'cas3');
    const ticketUrl = await casSignIn(login, 'alice', 'alice-cas-1');
    assert.equal((await back(b, ticketUrl)).statusCode, 303);
    // The same callback again: its flow is used.
    const again = browser(ctx.server);
    const r1 = await back(again, ticketUrl);
    assert.equal(r1.statusCode, 401);
    assert.equal(again.cookie('carrel_session'), undefined);
    // A fresh flow offered the old ticket: Carrel has seen it, the CAS server is not asked.
    const c = browser(ctx.server);
    await toCas(c, 'cas3');
    const asked = cas.validations;
    const r2 = await c.get(`${auth('/login/cas3/callback')}?ticket=${ticketUrl.searchParams.get('ticket')}`);
    assert.equal(r2.statusCode, 401);
    assert.equal(c.cookie('carrel_session'), undefined);
    assert.equal((await lastFailure()).reason, 'replay');
    assert.equal(cas.validations, asked);
  });

  test('a ticket issued for another service is refused', async () => {
    const b = browser(ctx.server);
    await toCas(b, 'cas3');
    const foreign = cas.issueTicket('https://other-app.uni.test/login', 'alice');
    const res = await b.get(`${auth('/login/cas3/callback')}?ticket=${foreign}`);
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /could not be completed/);
    assert.equal(b.cookie('carrel_session'), undefined);
    assert.equal((await lastFailure()).reason, 'service');
  });

  test('someone CAS knows but Carrel does not gets the no-account page', async () => {
    const b = browser(ctx.server);
    const { login } = await toCas(b, 'cas3');
    const res = await back(b, await casSignIn(login, 'stranger', 'stranger-cas-1'));
    assert.equal(res.statusCode, 403);
    assert.equal(b.cookie('carrel_session'), undefined);
  });

  test('a CAS server that is down gives the unavailable page with the local-login link', async () => {
    const b = browser(ctx.server);
    await b.get(auth('/login/cas-down'));
    const res = await b.get(`${auth('/login/cas-down/callback')}?ticket=ST-1-abc`);
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /login\?auth=local/);
    assert.equal(b.cookie('carrel_session'), undefined);
    assert.equal((await lastFailure()).reason, 'unavailable');
  });

  test('a CAS server over plain http on another host is refused when the method is made', async () => {
    await assert.rejects(
      ctx.app.services.loginMethods.create(system, inst.id, { code: 'cas-clear', type: 'cas', match: 'primary_id', config: { server_url: 'http://cas.uni.example/cas' } }),
      /https/,
    );
  });
});
