// The OIDC login method against a real oidc-provider: discovery, code + PKCE, state, nonce, the
// claim as subject; and the attacks (wrong state, replayed code, bad nonce, a token from another
// issuer, the IdP's own error, the IdP down). The module is called as the seam calls it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2 } from './helpers/identity.js';
import { browser } from './helpers/sign-in.js';
import oidcMethod, { clearDiscoveryCache, type OidcSettings } from '../src/domain/sign-in/methods/oidc.js';
import { isRefusal, type RedirectMethod, type Verified } from '../src/domain/sign-in/method.js';
import { AppError } from '../src/errors.js';
import { methodContext } from './helpers/method-context.js';
import { queryOf, startImpostorIssuer, startOp, walkToCallback, type TestOp } from './helpers/oidc-provider.js';

const m = oidcMethod as unknown as RedirectMethod<any>;
const CALLBACK = 'http://carrel.test/auth/UNIV/login/campus/callback';
const CLIENT = { client_id: 'carrel', client_secret: randomBytes(16).toString('hex'), redirect_uris: [CALLBACK] };

describe('OIDC login method (oidc-provider)', { timeout: 60_000 }, () => {
  let op: TestOp;
  let settings: OidcSettings;
  const ctx = (extra: Partial<OidcSettings> = {}, memory?: Set<string>) =>
    methodContext('oidc', { ...settings, ...extra }, { code: 'campus', ...(memory ? { memory } : {}) });

  before(async () => {
    op = await startOp([CLIENT]);
    op.accounts.set('alice-sub', { email: 'alice@univ.example.edu', given_name: 'Alice', family_name: 'Liddell' });
    op.nextAccount = 'alice-sub';
    settings = { issuer: op.issuer, client_id: CLIENT.client_id, client_secret: CLIENT.client_secret };
  });
  after(async () => op.close());

  /** Start, walk through the OP, return what the callback would receive. */
  async function roundTrip(c: ReturnType<typeof ctx>, tamper?: (u: URL) => void) {
    const flowId = randomBytes(16).toString('base64url');
    const started = await m.start(c, flowId);
    const url = new URL(started.redirect);
    tamper?.(url);
    const back = await walkToCallback(url.href, c.urls.callback);
    return { flow: started.flow, query: queryOf(back), flowId };
  }

  it('signs in: code + PKCE + nonce, the sub claim is the subject; names and e-mail for JIT', async () => {
    const c = ctx();
    c.method.jit = { recordType: 'PUBLIC', userGroup: null };
    const flowId = 'flow-' + randomBytes(8).toString('hex');
    const started = await m.start(c, flowId);
    const url = new URL(started.redirect);
    assert.equal(url.origin, op.issuer);
    assert.equal(url.searchParams.get('state'), flowId);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('redirect_uri'), CALLBACK);
    assert.ok(url.searchParams.get('nonce'));
    // The verifier never leaves the server.
    assert.ok(!started.redirect.includes(started.flow.verifier!));
    const back = await walkToCallback(started.redirect, CALLBACK);
    const r = await m.finish(c, { query: queryOf(back), body: {} }, started.flow);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    const v = r as Verified;
    assert.equal(v.subject, 'alice-sub');
    assert.equal(v.email, 'alice@univ.example.edu');
    assert.equal(v.firstName, 'Alice');
  });

  it('matches another claim (email) read from userinfo when the ID token does not carry it', async () => {
    const c = ctx({ claim: 'email' });
    const { flow, query } = await roundTrip(c);
    const r = await m.finish(c, { query, body: {} }, flow);
    assert.ok(!isRefusal(r), JSON.stringify(r));
    assert.equal((r as Verified).subject, 'alice@univ.example.edu');
  });

  it('refuses a wrong state (an answer to another browser\'s flow)', async () => {
    const c = ctx();
    const { flow, query } = await roundTrip(c);
    const r = await m.finish(c, { query: { ...query, state: 'someone-elses-flow' }, body: {} }, flow);
    assert.deepEqual(isRefusal(r) && r.refused, 'state');
    // No state at all is refused the same way.
    const r2 = await m.finish(c, { query: { code: query.code! }, body: {} }, flow);
    assert.deepEqual(isRefusal(r2) && r2.refused, 'state');
  });

  it('refuses a replayed code: the single-use memory sees it, and the IdP refuses it too', async () => {
    const c = ctx();
    const { flow, query } = await roundTrip(c);
    const first = await m.finish(c, { query, body: {} }, flow);
    assert.ok(!isRefusal(first));
    const again = await m.finish(c, { query, body: {} }, flow);
    assert.deepEqual(isRefusal(again) && again.refused, 'replay');
    // Another server without that memory: the OP itself refuses the used code (invalid_grant).
    const elsewhere = { ...c, firstUse: async () => true };
    const atIdp = await m.finish(elsewhere, { query, body: {} }, flow);
    assert.deepEqual(isRefusal(atIdp) && atIdp.refused, 'replay', JSON.stringify(atIdp));
  });

  it('refuses a bad nonce (an authorization request whose nonce was swapped on the way)', async () => {
    const c = ctx();
    const { flow, query } = await roundTrip(c, (u) => u.searchParams.set('nonce', 'attacker-chosen'));
    const r = await m.finish(c, { query, body: {} }, flow);
    assert.deepEqual(isRefusal(r) && r.refused, 'nonce', JSON.stringify(r));
  });

  it('refuses an ID token from another issuer than the one configured', async () => {
    const impostor = await startImpostorIssuer(op);
    try {
      const c = ctx({ issuer: impostor.issuer });
      const { flow, query } = await roundTrip(c);
      // The real OP names itself in `iss`: refused as the issuer it is.
      const r = await m.finish(c, { query, body: {} }, flow);
      assert.deepEqual(isRefusal(r) && r.refused, 'issuer', JSON.stringify(r));
      // Without the response's iss parameter, the ID token's own iss claim is checked.
      const { flow: flow2, query: q2 } = await roundTrip(c);
      delete q2.iss;
      const r2 = await m.finish(c, { query: q2, body: {} }, flow2);
      assert.deepEqual(isRefusal(r2) && r2.refused, 'issuer', JSON.stringify(r2));
    } finally {
      await impostor.close();
    }
  });

  it('an IdP error parameter (access_denied) is a refusal, not a sign-in', async () => {
    op.nextAccount = null;
    try {
      const c = ctx();
      const { flow, query } = await roundTrip(c);
      assert.equal(query.error, 'access_denied');
      const r = await m.finish(c, { query, body: {} }, flow);
      assert.deepEqual(isRefusal(r) && r.refused, 'idp_error');
    } finally {
      op.nextAccount = 'alice-sub';
    }
  });

  it('an unreachable issuer: start throws LOGIN_METHOD_UNAVAILABLE, finish refuses unavailable', async () => {
    clearDiscoveryCache();
    const c = ctx({ issuer: 'http://localhost:9' });
    await assert.rejects(m.start(c, 'f'), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_UNAVAILABLE');
    const r = await m.finish(c, { query: { code: 'x', state: 'f' }, body: {} }, { state: 'f', nonce: 'n', verifier: 'v' });
    assert.deepEqual(isRefusal(r) && r.refused, 'unavailable');
  });

  it('discovery is cached per method, re-read after an hour, and the old one kept while the OP is down (up to a day)', async () => {
    const op2 = await startOp([CLIENT]);
    const c = methodContext('oidc', { ...settings, issuer: op2.issuer }, { code: 'campus' });
    const t0 = Date.now();
    const at = (ms: number) => ({ ...c, clock: () => new Date(t0 + ms) });
    await m.start(at(0), 'warm');
    await op2.close();
    // Within the hour: no discovery is read at all.
    assert.ok((await m.start(at(30 * 60_000), 'cached')).redirect.startsWith(op2.issuer));
    // After the hour the refresh fails: the last discovery is still used.
    assert.ok((await m.start(at(2 * 3_600_000), 'stale')).redirect.startsWith(op2.issuer));
    // After a day without the OP: the page offers local login.
    await assert.rejects(m.start(at(25 * 3_600_000), 'gone'), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_UNAVAILABLE');
  });

  it('create refuses an http issuer that is not on this machine', () => {
    assert.throws(() => m.check!({ ...settings, issuer: 'http://idp.example.edu' }), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_INVALID');
    m.check!({ ...settings, issuer: 'https://login.microsoftonline.com/tenant/v2.0' });
    assert.deepEqual(m.secrets, ['client_secret']);
  });
});

// The same method through Carrel's pages and database: the seam's flow cookie, the match on an
// identifier, the session, the audit events, and the attacks as a browser would carry them.
describe('OIDC sign-in through the login pages', { timeout: 120_000 }, () => {
  let ctx: TestContext;
  let inst: { id: string; code: string; key: string };
  let op: TestOp;
  let secretOfCampus = '';
  const system = { kind: 'system', label: 'test' } as const;
  const auth = (path: string) => `/auth/${inst.code}${path}`;
  const callbackUrl = () => `http://carrel.test${auth('/login/campus/callback')}`;

  before(async () => {
    ctx = await createTestContext({ config: CHEAP_ARGON2 });
    inst = await ctx.institution();
    const res = await client(ctx.server, inst.key).post('/users', {
      record_type: { value: 'PUBLIC' }, primary_id: 'ada', first_name: 'Ada', last_name: 'Lovelace',
      account_type: { value: 'EXTERNAL' }, external_id: 'SIS', status: { value: 'ACTIVE' }, user_group: { value: 'UNDERGRAD' },
      user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: 'U-1001', segment_type: 'External' }],
    });
    assert.equal(res.statusCode, 200, res.body);
    const secret = randomBytes(16).toString('hex');
    secretOfCampus = secret;
    op = await startOp([{ client_id: 'carrel-e2e', client_secret: secret, redirect_uris: [callbackUrl()] }]);
    op.accounts.set('U-1001', { email: 'ada@univ.example.edu' });
    op.accounts.set('U-9999', {});
    op.nextAccount = 'U-1001';
    const lm = ctx.app.services.loginMethods;
    await lm.create(system, inst.id, { code: 'campus', type: 'oidc', label: 'Campus sign-in', match: 'UNIV_ID', config: { issuer: op.issuer, client_id: 'carrel-e2e', client_secret: secret } });
    await lm.create(system, inst.id, { code: 'down', type: 'oidc', match: 'UNIV_ID', config: { issuer: 'http://localhost:9', client_id: 'x', client_secret: 'y' } });
  });
  after(async () => {
    await op?.close();
    await ctx?.close();
  });

  /** The browser starts at Carrel, goes through the OP, and comes back to Carrel's callback. */
  async function signInVia(b: ReturnType<typeof browser>, startQuery = '', tamper?: (u: URL) => void) {
    const start = await b.get(auth(`/login/campus${startQuery}`));
    assert.equal(start.statusCode, 303, start.body);
    const to = new URL(start.headers.location as string);
    tamper?.(to);
    const back = await walkToCallback(to.href, callbackUrl());
    const res = await b.get(`${back.pathname}${back.search}`);
    return { res, back };
  }

  async function failures(reason: string) {
    const rows = await ctx.testDb.db.query<{ context: Record<string, unknown> }>(
      "SELECT context FROM audit_event WHERE institution_id = $1 AND action = 'sign_in.failed' ORDER BY id",
      [inst.id],
    );
    return rows.filter((r) => r.context.reason === reason).length;
  }

  it('signs the user in: OP, callback, session cookie, account page, audit event', async () => {
    const b = browser(ctx.server);
    const { res } = await signInVia(b);
    assert.equal(res.statusCode, 303, res.body);
    assert.equal(res.headers.location, auth('/account'));
    assert.ok(b.cookie('carrel_session'));
    const account = await b.get(auth('/account'));
    assert.match(account.body, /Ada Lovelace/);
    const ok = await ctx.testDb.db.query("SELECT 1 FROM audit_event WHERE institution_id = $1 AND action = 'sign_in'", [inst.id]);
    assert.ok(ok.length >= 1);
  });

  it('an OP account with no library account gets the no-account page, and no user is made', async () => {
    op.nextAccount = 'U-9999';
    try {
      const { res } = await signInVia(browser(ctx.server));
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /no library account/i);
    } finally {
      op.nextAccount = 'U-1001';
    }
  });

  it('a callback finished in another browser (login CSRF) signs nobody in', async () => {
    const attacker = browser(ctx.server);
    const start = await attacker.get(auth('/login/campus'));
    const back = await walkToCallback(start.headers.location as string, callbackUrl());
    const victim = browser(ctx.server);
    const res = await victim.get(`${back.pathname}${back.search}`);
    assert.equal(res.statusCode, 401);
    assert.equal(victim.cookie('carrel_session'), undefined);
  });

  it('a wrong state and a replayed callback are refused and audited', async () => {
    const b = browser(ctx.server);
    const start = await b.get(auth('/login/campus'));
    const back = await walkToCallback(start.headers.location as string, callbackUrl());
    back.searchParams.set('state', 'not-the-flow');
    const before = await failures('state');
    const res = await b.get(`${back.pathname}${back.search}`);
    assert.equal(res.statusCode, 401);
    assert.equal(await failures('state'), before + 1);
    // Sign in properly, then replay the same callback in the same browser: the flow is used.
    const ok = await signInVia(b);
    assert.equal(ok.res.statusCode, 303);
    const replay = await b.get(`${ok.back.pathname}${ok.back.search}`);
    assert.equal(replay.statusCode, 401);
  });

  it('a bad nonce is refused with reason nonce', async () => {
    const before = await failures('nonce');
    const { res } = await signInVia(browser(ctx.server), '', (u) => u.searchParams.set('nonce', 'swapped'));
    assert.equal(res.statusCode, 401);
    assert.equal(await failures('nonce'), before + 1);
  });

  it('return parameters never lead off the institution\'s pages (open redirect)', async () => {
    for (const evil of ['https://evil.example/x', '//evil.example/x', '/\\evil.example', '/auth/OTHERINST/account', '/%2F%2Fevil.example']) {
      const { res } = await signInVia(browser(ctx.server), `?return=${encodeURIComponent(evil)}`);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, auth('/account'), `return=${evil}`);
    }
    const { res } = await signInVia(browser(ctx.server), `?return=${encodeURIComponent(auth('/change-password'))}`);
    assert.equal(res.headers.location, auth('/change-password'));
  });

  it('an OP that is down gives the outage page with the local-login link', async () => {
    const res = await browser(ctx.server).get(auth('/login/down'));
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /login\?auth=local/);
  });

  it('create refuses a config the module refuses, and never shows the client secret', async () => {
    const lm = ctx.app.services.loginMethods;
    await assert.rejects(
      lm.create(system, inst.id, { code: 'plain', type: 'oidc', match: 'UNIV_ID', config: { issuer: 'http://idp.example.edu', client_id: 'a', client_secret: 'b' } }),
      (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_INVALID',
    );
    const listed = await lm.list(system, inst.id);
    const campus = listed.find((m) => m.code === 'campus')!;
    assert.equal(campus.config.client_secret, 'set');
    assert.ok(!JSON.stringify(listed).includes(secretOfCampus), 'the secret is never listed');
  });
});
