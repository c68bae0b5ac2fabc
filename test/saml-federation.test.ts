// Federation aggregates: a generated aggregate of ~3,000 IdPs signed by a federation key, used only
// when that key signed it and its validUntil is ahead; kept in the database by the worker's idle
// hook, refreshed when due, searchable for the discovery page; a chosen IdP's sign-in works and
// its scopes hold.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { parseIdpMetadata, verifiedAggregate } from '../src/domain/sign-in/methods/saml/idp-metadata.js';
import { aggregate, EPPN, makeKeyPair, readAuthnRequest, TestIdp, type KeyPair, type ResponseOptions } from './helpers/saml-idp.js';
import { federationStatus, replaceFederationIdps } from '../src/db/queries/saml-federation.js';
import { findLoginMethodByCode } from '../src/db/queries/login-methods.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, testClock, type TestClock } from './helpers/identity.js';
import { browser } from './helpers/sign-in.js';

let fedKey: KeyPair;
let otherKey: KeyPair;
let idpKey: KeyPair;
let entities: string[];
const COUNT = 3000;

/** ~3,000 IdPs sharing one key pair (generating 3,000 RSA keys would only slow the test). */
function generatedEntities(n: number, key: KeyPair): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const host = `idp${i}.univ${i}.example.org`;
    out.push(new TestIdp(`https://${host}/idp/shibboleth`, `https://${host}/idp/profile/SAML2/Redirect/SSO`, [key], [`univ${i}.example.org`], `University number ${i}`).entityDescriptor());
  }
  return out;
}

before(() => {
  fedKey = makeKeyPair('federation');
  otherKey = makeKeyPair('not-the-federation');
  idpKey = makeKeyPair('idps');
  entities = generatedEntities(COUNT, idpKey);
});

describe('federation aggregate: signature and parsing', () => {
  test(`a signed aggregate of ${COUNT} IdPs verifies and parses`, () => {
    const xml = aggregate(entities, fedKey, { validUntil: new Date(Date.now() + 14 * 86400_000), cacheDuration: 'PT6H' });
    const signed = verifiedAggregate(xml, fedKey.cert);
    const parsed = parseIdpMetadata(signed);
    assert.equal(parsed.idps.length, COUNT);
    assert.equal(parsed.cacheDurationSeconds, 6 * 3600);
    assert.ok(parsed.validUntil && parsed.validUntil > new Date());
    const i42 = parsed.idps.find((i) => i.entityId === 'https://idp42.univ42.example.org/idp/shibboleth');
    assert.deepEqual(i42?.scopes, ['univ42.example.org']);
    assert.equal(i42?.displayName, 'University number 42');
    assert.equal(i42?.certs.length, 1);
  });

  test('unsigned, signed by another key, or changed after signing: refused', () => {
    const small = entities.slice(0, 5);
    assert.throws(() => verifiedAggregate(aggregate(small), fedKey.cert), /not signed/);
    assert.throws(() => verifiedAggregate(aggregate(small, otherKey), fedKey.cert), /not valid/);
    const tampered = aggregate(small, fedKey).replace('University number 3', 'Evil University');
    assert.throws(() => verifiedAggregate(tampered, fedKey.cert), /not valid/);
  });

  test('an entity slipped in outside the signed root is not read', () => {
    const xml = aggregate(entities.slice(0, 3), fedKey);
    const evil = new TestIdp('https://evil.example.net/idp', 'https://evil.example.net/sso', [otherKey], ['example.edu']).entityDescriptor();
    // A DOCTYPE or a second root cannot carry it (not well-formed / refused); inside the root, the digest breaks.
    const inside = xml.replace('</md:EntitiesDescriptor>', `${evil}</md:EntitiesDescriptor>`);
    assert.throws(() => verifiedAggregate(inside, fedKey.cert), /not valid/);
    const doctype = `<!DOCTYPE x [<!ENTITY e "x">]>${xml}`;
    assert.throws(() => verifiedAggregate(doctype, fedKey.cert), /DOCTYPE/);
  });
});

describe('federation through the database, the worker hook and the pages', () => {
  let ctx: TestContext;
  let clock: TestClock;
  let server: Server;
  let served = '';
  let fetches = 0;
  let inst: { id: string; code: string; key: string };
  let home: TestIdp;
  let url: string;
  let methodId: string;
  const system = { kind: 'system', label: 'test' } as const;

  before(async () => {
    home = new TestIdp('https://idp.home.example.edu/idp', 'https://idp.home.example.edu/sso', [makeKeyPair('home')], ['home.example.edu'], 'Home State University');
    served = aggregate([...entities, home.entityDescriptor()], fedKey, { validUntil: new Date(Date.now() + 14 * 86400_000), cacheDuration: 'PT6H' });
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(served);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/aggregate.xml`;
    clock = testClock();
    ctx = await createTestContext({ config: CHEAP_ARGON2, clock: clock.fn });
    inst = await ctx.institution();
    const res = await client(ctx.server, inst.key).post('/users', {
      record_type: { value: 'PUBLIC' }, primary_id: 'hanna', first_name: 'Hanna', last_name: 'Home', account_type: { value: 'EXTERNAL' }, external_id: 'SIS',
      status: { value: 'ACTIVE' }, user_group: { value: 'UNDERGRAD' },
      user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: 'hanna@home.example.edu', segment_type: 'External' }],
    });
    assert.equal(res.statusCode, 200, res.body);
    await ctx.app.services.loginMethods.create(system, inst.id, {
      code: 'fed', type: 'saml', label: 'Your institution (federation)', match: 'UNIV_ID',
      config: { federation_metadata_url: url, federation_signing_cert: fedKey.cert },
    });
    methodId = (await findLoginMethodByCode(ctx.testDb.db, inst.id, 'fed'))!.id;
  });
  after(async () => {
    await ctx.close();
    await new Promise((r) => server.close(r));
  });

  const auth = (path: string) => `/auth/${inst.code}${path}`;
  const status = () => federationStatus(ctx.testDb.db, methodId);
  /** What an administrator sees: GET /api/v1/login-methods/fed (the same view as `login-method show`). */
  const shown = async () => {
    const res = await ctx.server.inject({ method: 'GET', url: '/api/v1/login-methods/fed', headers: { authorization: `apikey ${inst.key}` } });
    assert.equal(res.statusCode, 200, res.body);
    return res.json().federation as { state: string; idps: number; loaded_at: string | null; valid_until: string | null; next_refresh_at: string | null; failures: number; last_error: string | null };
  };

  test('the API shows a federation not loaded yet', async () => {
    const f = await shown();
    assert.deepEqual({ state: f.state, idps: f.idps, loaded_at: f.loaded_at, valid_until: f.valid_until, last_error: f.last_error }, { state: 'pending', idps: 0, loaded_at: null, valid_until: null, last_error: null });
  });

  test('the idle hook loads the signed aggregate once, then not again until it is due; the server answers meanwhile', async () => {
    // Checking the signature and parsing 3,000 entities is seconds of CPU: done on the event loop,
    // every request of `carrel serve` would wait that long. The bound is generous (a busy 2-core
    // machine): the loop never stalls for a second, and /healthz answers while the load goes on.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    let loading = true;
    const load = ctx.app.services.samlFederation.refreshDue(true).finally(() => (loading = false));
    let answeredDuringLoad = 0;
    while (loading) {
      const res = await ctx.server.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200);
      if (loading) answeredDuringLoad++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const results = await load;
    const took = performance.now() - started;
    delay.disable();
    const maxDelayMs = delay.max / 1e6;
    console.log(`# aggregate of ${COUNT + 1} IdPs loaded in ${took.toFixed(0)} ms; longest event-loop stall ${maxDelayMs.toFixed(0)} ms; /healthz answered ${answeredDuringLoad} times meanwhile`);
    assert.ok(maxDelayMs < 1000, `the event loop stalled ${maxDelayMs.toFixed(0)} ms during the load`);
    assert.ok(answeredDuringLoad >= 3, `/healthz answered ${answeredDuringLoad} times during a ${took.toFixed(0)} ms load`);
    assert.deepEqual(results.map((r) => [r.ok, r.idps]), [[true, COUNT + 1]]);
    const st = await status();
    assert.equal(st?.idp_count, COUNT + 1);
    assert.ok(st && st.next_refresh_at.getTime() - clock.fn().getTime() <= 6 * 3600_000 + 1000);
    const before = fetches;
    assert.deepEqual(await ctx.app.services.samlFederation.refreshDue(true), []);
    assert.equal(fetches, before, 'not due: not fetched');
    const f = await shown();
    assert.equal(f.state, 'loaded');
    assert.equal(f.idps, COUNT + 1);
    assert.equal(f.loaded_at, clock.fn().toISOString());
    assert.ok(f.valid_until && new Date(f.valid_until) > clock.fn());
    assert.equal(f.next_refresh_at, st!.next_refresh_at.toISOString());
    assert.deepEqual([f.failures, f.last_error], [0, null]);
  });

  test('discovery: start without an IdP shows the search; a search finds the home IdP among thousands', async () => {
    const b = browser(ctx.server);
    const start = await b.get(auth('/login/fed'));
    assert.equal(start.statusCode, 303);
    assert.match(start.headers.location as string, /\/saml\/fed\/discovery$/);
    const page = await b.get(auth('/saml/fed/discovery?q=home+state'));
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes('Home State University'), page.body);
    assert.ok(page.body.includes(`?idp=${encodeURIComponent(home.entityId)}`));
    const all = await b.get(auth('/saml/fed/discovery?q=university'));
    assert.match(all.body, /more: type more of the name/);
  });

  test('the chosen IdP signs its user in; a scope it may not assert and another IdP\'s key are refused', async () => {
    const b = browser(ctx.server);
    const go = async (over: Partial<ResponseOptions> = {}, signer = home) => {
      const res = await b.get(auth(`/login/fed?idp=${encodeURIComponent(home.entityId)}`));
      assert.equal(res.statusCode, 303, res.body);
      assert.ok((res.headers.location as string).startsWith(home.ssoUrl));
      const req = readAuthnRequest(res.headers.location as string);
      const samlResponse = signer.response({
        inResponseTo: req.id, acs: `http://carrel.test/auth/${inst.code}/saml/fed/acs`, audience: `http://carrel.test/auth/${inst.code}/saml/fed/metadata`,
        attributes: { [EPPN]: ['hanna@home.example.edu'] }, now: clock.fn(), issuer: home.entityId, ...over,
      });
      for (const k of [...b.jar.keys()]) if (k.startsWith('carrel_flow\u0000')) b.jar.delete(k);
      return b.post(auth('/saml/fed/acs'), { SAMLResponse: samlResponse, RelayState: req.relayState! }, { csrf: false });
    };
    assert.equal((await go({ attributes: { [EPPN]: ['hanna@univ7.example.org'] } })).statusCode, 401);
    const univ7 = new TestIdp('https://idp7.univ7.example.org/idp/shibboleth', 'x', [idpKey]);
    assert.equal((await go({}, univ7)).statusCode, 401, 'signed by another IdP of the federation');
    const ok = await go();
    assert.equal(ok.statusCode, 303, ok.body);
    assert.equal(ok.headers.location, auth('/account'));
  });

  /** From the start URL to the ACS's answer, through the chosen IdP. */
  async function signInFrom(b: ReturnType<typeof browser>, start: string) {
    const res = await b.get(start);
    assert.equal(res.statusCode, 303, res.body);
    const req = readAuthnRequest(res.headers.location as string);
    const samlResponse = home.response({
      inResponseTo: req.id, acs: `http://carrel.test/auth/${inst.code}/saml/fed/acs`, audience: `http://carrel.test/auth/${inst.code}/saml/fed/metadata`,
      attributes: { [EPPN]: ['hanna@home.example.edu'] }, now: clock.fn(), issuer: home.entityId,
    });
    return b.post(auth('/saml/fed/acs'), { SAMLResponse: samlResponse, RelayState: req.relayState! }, { csrf: false });
  }
  const pathOf = (location: string) => {
    const u = new URL(location, 'http://carrel.test');
    return `${u.pathname}${u.search}`;
  };
  /** The discovery page's link to the home IdP, as the browser would follow it. */
  const homeLink = (body: string) => {
    const hrefs = [...body.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
    const link = hrefs.find((h) => new URL(h, 'http://carrel.test').searchParams.get('idp') === home.entityId);
    assert.ok(link, body);
    return link;
  };

  test('the return URL goes through the discovery page to the sign-in; another site or institution is dropped', async () => {
    const wanted = auth('/account?tab=loans');
    const b = browser(ctx.server);
    const start = await b.get(auth(`/login/fed?return=${encodeURIComponent(wanted)}`));
    assert.equal(start.statusCode, 303);
    const discovery = pathOf(start.headers.location as string);
    assert.equal(new URL(discovery, 'http://carrel.test').searchParams.get('return'), wanted);
    const page = await b.get(`${discovery}&q=home+state`);
    assert.ok(page.body.includes(`<input type="hidden" name="return" value="${wanted.replace(/&/g, '&amp;')}">`), 'the search keeps it');
    const link = homeLink(page.body);
    assert.equal(new URL(link, 'http://carrel.test').searchParams.get('return'), wanted);
    const done = await signInFrom(b, link);
    assert.equal(done.statusCode, 303, done.body);
    assert.equal(done.headers.location, wanted);

    for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', '/%2F%2Fevil.example', '/auth/OTHER/account', '/api/v1/users']) {
      const e = browser(ctx.server);
      const s = await e.get(auth(`/login/fed?return=${encodeURIComponent(evil)}`));
      assert.equal(s.statusCode, 303);
      assert.equal(new URL(s.headers.location as string).searchParams.get('return'), null, evil);
      // Straight to the discovery page with it: not carried on either.
      const p = await e.get(auth(`/saml/fed/discovery?q=home+state&return=${encodeURIComponent(evil)}`));
      assert.doesNotMatch(p.body, /name="return"|[?&](amp;)?return=/, evil);
      // And given to the start page with the IdP: the sign-in lands on the account page.
      const landed = await signInFrom(e, auth(`/login/fed?idp=${encodeURIComponent(home.entityId)}&return=${encodeURIComponent(evil)}`));
      assert.equal(landed.headers.location, auth('/account'), evil);
    }
  });

  test('an aggregate the federation did not sign is refused and the IdPs kept stay in use', async () => {
    const good = served;
    served = aggregate([home.entityDescriptor()], otherKey, { validUntil: new Date(Date.now() + 14 * 86400_000) });
    const r = await ctx.app.services.samlFederation.refresh(methodId, { federation_metadata_url: url, federation_signing_cert: fedKey.cert });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /not valid/);
    const st = await status();
    assert.equal(st?.idp_count, COUNT + 1);
    assert.equal(st?.failures, 1);
    assert.ok(st?.last_error);
    const f = await shown();
    assert.deepEqual([f.state, f.idps, f.failures], ['loaded', COUNT + 1, 1], 'the kept IdPs stay in use');
    assert.match(f.last_error ?? '', /signature is not valid/);
    assert.ok(new Date(f.next_refresh_at!) > clock.fn());
    const page = await browser(ctx.server).get(auth('/saml/fed/discovery?q=home'));
    assert.ok(page.body.includes('Home State University'));
    served = good;
  });

  test('a store that dies half-way leaves the IdPs in use whole; the next refresh clears what it left', async () => {
    const rows = async () => (await ctx.testDb.db.one<{ n: number }>('SELECT count(*)::int AS n FROM saml_federation_idp WHERE method_id = $1', [methodId])).n;
    const idp = (i: number) => ({ entity_id: `https://idp${i}.broken.example/idp`, display_name: `Broken ${i}`, sso_url: 'https://sso.broken.example', certs: ['x'], scopes: [] });
    // The second batch fails (a name the table refuses) after the first went in.
    const idps = Array.from({ length: 600 }, (_, i) => (i === 400 ? { ...idp(i), display_name: null as unknown as string } : idp(i)));
    const st = (await status())!;
    await assert.rejects(
      replaceFederationIdps(ctx.testDb.db, methodId, { sourceHash: st.source_hash, fetchedAt: clock.fn(), validUntil: st.valid_until, nextRefreshAt: st.next_refresh_at, idps }),
    );
    assert.equal((await status())?.idp_count, COUNT + 1);
    assert.ok((await browser(ctx.server).get(auth('/saml/fed/discovery?q=home'))).body.includes('Home State University'), 'the old set is in use');
    assert.doesNotMatch((await browser(ctx.server).get(auth('/saml/fed/discovery?q=broken'))).body, /Broken 1\b/, 'the half-stored set is not');
    assert.ok((await rows()) > COUNT + 1, 'rows of the dead refresh are still there');
    const r = await ctx.app.services.samlFederation.refresh(methodId, { federation_metadata_url: url, federation_signing_cert: fedKey.cert });
    assert.equal(r.ok, true, r.error);
    assert.equal(await rows(), COUNT + 1, 'only the generation in use is kept');
  });

  test('past validUntil the kept IdPs are not used; an expired aggregate is not loaded', async () => {
    const expired = aggregate([home.entityDescriptor()], fedKey, { validUntil: new Date(clock.fn().getTime() - 1000) });
    const saved = served;
    served = expired;
    const r = await ctx.app.services.samlFederation.refresh(methodId, { federation_metadata_url: url, federation_signing_cert: fedKey.cert });
    assert.match(r.error ?? '', /expired/);
    served = saved;
    clock.advance(15 * 86400_000);
    const page = await browser(ctx.server).get(auth('/saml/fed/discovery?q=home'));
    assert.doesNotMatch(page.body, /Home State University/);
    const start = await browser(ctx.server).get(auth(`/login/fed?idp=${encodeURIComponent(home.entityId)}`));
    assert.equal(start.statusCode, 503, 'the IdP is not trusted any more: campus sign-in not answering, local login offered');
    assert.deepEqual([(await shown()).state, (await shown()).idps], ['expired', 0]);
    clock.advance(-15 * 86400_000);
  });
});
