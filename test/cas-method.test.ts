// The CAS method against a protocol-correct CAS server (test/helpers/cas-server.ts): the browser's
// round trip through /login, validation at /serviceValidate (2.0) and /p3/serviceValidate (3.0,
// attributes), a ticket for another service, a replayed ticket, a server that is down.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Value } from 'typebox/value';
import { isRefusal, type Refusal, type Verified } from '../src/domain/sign-in/method.js';
import { CAS_CONFIG, cas, casConfigProblem, readServiceResponse, serviceUrl, type CasConfig } from '../src/domain/sign-in/methods/cas.js';
import { startCasServer, type CasServer } from './helpers/cas-server.js';
import { freePort } from './helpers/slapd.js';
import { methodContext } from './helpers/method-context.js';

if (cas.kind !== 'redirect') throw new Error('CAS is a redirect method');
const { start, finish } = cas;

const USERS = {
  alice: { password: 'alice-cas-1', attributes: { employeeNumber: ['E1001'], mail: ['alice@uni.test'], givenName: ['Alice'], sn: ['Archer'], memberOf: ['staff', 'library'] } },
  bob: { password: 'bob-cas-2', attributes: { mail: ['bob@uni.test'] } },
};

const verified = (r: Verified | Refusal): Verified => {
  assert.ok(!isRefusal(r), `refused: ${JSON.stringify(r)}`);
  return r;
};
const refused = (r: Verified | Refusal, reason: Refusal['refused']): Refusal => {
  assert.ok(isRefusal(r), `expected a refusal, got ${JSON.stringify(r)}`);
  assert.equal(r.refused, reason, r.detail);
  return r;
};

/** The browser's part: follow start's redirect, sign in at the CAS form, come back with a ticket. */
async function browserSignIn(redirect: string, username: string, password: string): Promise<URL> {
  const login = new URL(redirect);
  const form = await fetch(login);
  assert.equal(form.status, 200);
  const res = await fetch(new URL(login.pathname, login), {
    method: 'POST',
    body: new URLSearchParams({ service: login.searchParams.get('service')!, username, password }),
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location')!);
}
const callbackOf = (back: URL) => ({ query: Object.fromEntries(back.searchParams), body: {} });

describe('CAS method', { timeout: 60_000 }, () => {
  let server: CasServer;
  before(async () => {
    server = await startCasServer(USERS);
  });
  after(async () => {
    await server?.close();
  });
  const ctxOf = (over: Partial<CasConfig> = {}) => methodContext<CasConfig>('cas', { server_url: server.url, ...over });

  test('start: to {server}/login with the callback URL carrying the flow id as the service', async () => {
    const ctx = ctxOf();
    const s = await start(ctx, 'flow-123');
    const u = new URL(s.redirect);
    assert.equal(`${u.origin}${u.pathname}`, `${server.url}/login`);
    assert.equal(u.searchParams.get('service'), 'http://carrel.test/auth/UNIV/login/cas/callback?state=flow-123');
    assert.deepEqual(s.flow, { service: u.searchParams.get('service') });
    assert.equal(new URL((await start(ctxOf({ renew: true }), 'f')).redirect).searchParams.get('renew'), 'true');
  });

  test('CAS 3.0: the user, and the released attributes at /p3/serviceValidate', async () => {
    const ctx = ctxOf({ version: '3.0' });
    const s = await start(ctx, 'flow-v3');
    const back = await browserSignIn(s.redirect, 'alice', USERS.alice.password);
    assert.equal(back.searchParams.get('state'), 'flow-v3');
    const v = verified(await finish(ctx, callbackOf(back), s.flow));
    assert.equal(v.subject, 'alice');
    assert.deepEqual(v.attributes.memberOf, ['staff', 'library']);
    assert.equal(v.email, 'alice@uni.test');
    assert.equal(v.firstName, 'Alice');
    assert.equal(v.lastName, 'Archer');
  });

  test('CAS 3.0 matching a released attribute instead of the user; missing, it is a refusal', async () => {
    const ctx = ctxOf({ attribute: 'employeeNumber' });
    const s = await start(ctx, 'flow-attr');
    const v = verified(await finish(ctx, callbackOf(await browserSignIn(s.redirect, 'alice', USERS.alice.password)), s.flow));
    assert.equal(v.subject, 'E1001');
    assert.deepEqual(v.attributes.user, ['alice']);
    const s2 = await start(ctx, 'flow-attr2');
    refused(await finish(ctx, callbackOf(await browserSignIn(s2.redirect, 'bob', USERS.bob.password)), s2.flow), 'invalid_response');
  });

  test('CAS 2.0: the user at /serviceValidate, no attributes', async () => {
    const ctx = ctxOf({ version: '2.0' });
    const s = await start(ctx, 'flow-v2');
    const v = verified(await finish(ctx, callbackOf(await browserSignIn(s.redirect, 'bob', USERS.bob.password)), s.flow));
    assert.equal(v.subject, 'bob');
    assert.deepEqual(v.attributes, {});
  });

  test('a ticket issued for another service (another application, or another flow) is refused', async () => {
    const ctx = ctxOf();
    const s = await start(ctx, 'flow-mine');
    const foreign = server.issueTicket('https://other-app.uni.test/login', 'alice');
    const r = refused(await finish(ctx, { query: { state: 'flow-mine', ticket: foreign }, body: {} }, s.flow), 'service');
    assert.match(r.detail!, /INVALID_SERVICE/);
    // A ticket for this Carrel's callback but another flow: the service URLs differ by the flow id.
    const otherFlow = server.issueTicket(serviceUrl(ctx.urls.callback, 'flow-other'), 'alice');
    refused(await finish(ctx, { query: { state: 'flow-mine', ticket: otherFlow }, body: {} }, s.flow), 'service');
  });

  test('a replayed ticket is refused before the server is asked again', async () => {
    const ctx = ctxOf();
    const s = await start(ctx, 'flow-replay');
    const back = await browserSignIn(s.redirect, 'alice', USERS.alice.password);
    verified(await finish(ctx, callbackOf(back), s.flow));
    const asked = server.validations;
    refused(await finish(ctx, callbackOf(back), s.flow), 'replay');
    assert.equal(server.validations, asked);
    // The server, asked directly, would have said no too (single use there as well).
    const res = await fetch(`${server.url}/p3/serviceValidate?${new URLSearchParams({ service: s.flow.service!, ticket: back.searchParams.get('ticket')! })}`);
    assert.match(await res.text(), /INVALID_TICKET/);
  });

  test('no ticket, a malformed or an unknown ticket, an expired one: refused, nothing verified', async () => {
    const ctx = ctxOf();
    const s = await start(ctx, 'flow-bad');
    refused(await finish(ctx, { query: { state: 'flow-bad' }, body: {} }, s.flow), 'idp_error');
    refused(await finish(ctx, { query: { ticket: 'PT-123' }, body: {} }, s.flow), 'invalid_response');
    refused(await finish(ctx, { query: { ticket: 'ST-<x>' }, body: {} }, s.flow), 'invalid_response');
    refused(await finish(ctx, { query: { ticket: 'ST-made-up' }, body: {} }, s.flow), 'idp_error');
    server.ticketLifetimeMs = 0;
    try {
      const old = server.issueTicket(s.flow.service!, 'alice');
      await new Promise((r) => setTimeout(r, 5));
      refused(await finish(ctx, { query: { ticket: old }, body: {} }, s.flow), 'idp_error');
    } finally {
      server.ticketLifetimeMs = 10_000;
    }
  });

  test('a CAS server that is down, or answers with an error page, is unavailable', async () => {
    const port = await freePort();
    const ctx = methodContext<CasConfig>('cas', { server_url: `http://127.0.0.1:${port}/cas`, timeout_ms: 3000 });
    const s = await start(ctx, 'flow-down');
    refused(await finish(ctx, { query: { ticket: 'ST-abc' }, body: {} }, s.flow), 'unavailable');
    const ctx404 = ctxOf({ server_url: `${server.url}/nowhere` });
    refused(await finish(ctx404, { query: { ticket: 'ST-abc' }, body: {} }, s.flow), 'unavailable');
  });
});

describe('CAS validation response and settings', () => {
  test('a DTD, garbage, or a success without a user is refused', () => {
    refused(readServiceResponse('<!DOCTYPE x [<!ENTITY e "alice">]><cas:serviceResponse xmlns:cas="c"><cas:authenticationSuccess><cas:user>&e;</cas:user></cas:authenticationSuccess></cas:serviceResponse>'), 'invalid_response');
    refused(readServiceResponse('not xml <'), 'invalid_response');
    refused(readServiceResponse('<html><body>Login</body></html>'), 'invalid_response');
    refused(readServiceResponse('<cas:serviceResponse xmlns:cas="c"><cas:authenticationSuccess></cas:authenticationSuccess></cas:serviceResponse>'), 'invalid_response');
    refused(readServiceResponse('<cas:serviceResponse xmlns:cas="c"><cas:authenticationFailure code="INTERNAL_ERROR">x</cas:authenticationFailure></cas:serviceResponse>'), 'unavailable');
    assert.equal(verified(readServiceResponse('<cas:serviceResponse xmlns:cas="c"><cas:authenticationSuccess><cas:user>a&amp;b</cas:user></cas:authenticationSuccess></cas:serviceResponse>')).subject, 'a&b');
  });
  test('the schema and its checks: https outside this host, no credentials in the URL', () => {
    assert.ok(Value.Check(CAS_CONFIG, { server_url: 'https://cas.uni.example/cas', version: '2.0' }));
    assert.ok(!Value.Check(CAS_CONFIG, { server_url: 'https://cas.uni.example/cas/' }));
    assert.ok(!Value.Check(CAS_CONFIG, { server_url: 'https://cas.uni.example/cas', version: '1.0' }));
    assert.equal(casConfigProblem({ server_url: 'https://cas.uni.example/cas' }), undefined);
    assert.equal(casConfigProblem({ server_url: 'http://127.0.0.1:8080/cas' }), undefined);
    assert.match(casConfigProblem({ server_url: 'http://cas.uni.example/cas' })!, /^server_url/);
    assert.match(casConfigProblem({ server_url: 'https://u:p@cas.uni.example/cas' })!, /^server_url/);
  });
});
