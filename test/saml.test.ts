// The SAML module alone, against a test IdP with real keys: the AuthnRequest, the SP metadata, the
// checks on a Response, and every attack of issue 9's list refused with its reason. Through the
// login pages (flows, sessions, audit): test/saml-e2e.test.ts.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Static } from 'typebox';
import type { Institution } from '../src/model/institution.js';
import type { LoginMethod } from '../src/model/login-method.js';
import { isRefusal, type MethodContext, type RedirectMethod, type Refusal, type Verified } from '../src/domain/sign-in/method.js';
import { saml } from '../src/domain/sign-in/methods/saml.js';
import { encryptAssertion, EPPN, makeKeyPair, readAuthnRequest, SCOPED_AFFILIATION, SUBJECT_ID, TARGETED_ID, TestIdp, xsw, type KeyPair, type ResponseOptions } from './helpers/saml-idp.js';
import { AppError } from '../src/errors.js';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { verify } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const mod = saml as unknown as RedirectMethod<typeof saml.config>;
const BASE = 'https://carrel.test/auth/UNI';
const urls = { callback: `${BASE}/login/campus/callback`, acs: `${BASE}/saml/campus/acs`, metadata: `${BASE}/saml/campus/metadata` };

let idp: TestIdp;
let other: KeyPair;
let seen: Set<string>;

function context(config: Record<string, unknown>, clock = () => new Date()): MethodContext<Static<typeof saml.config>> {
  const method: LoginMethod = {
    id: '00000000-0000-0000-0000-00000000000a',
    institutionId: 'i',
    code: 'campus',
    type: 'saml',
    label: 'Campus',
    match: 'UNIV_ID',
    config,
    jit: null,
    enabled: true,
    position: 0,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  return {
    method: method as never,
    institution: { id: 'i', code: 'UNI' } as Institution,
    urls,
    clock,
    async firstUse(key: string) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

before(() => {
  idp = new TestIdp();
  other = makeKeyPair('attacker');
  seen = new Set();
});

const baseConfig = () => ({ idp_metadata: idp.metadata(), attribute: 'eduPersonPrincipalName' });

/** Start a flow and answer it: the response the IdP would post for this very request. */
async function flowAndResponse(config = baseConfig(), over: Partial<ResponseOptions> = {}) {
  const ctx = context(config);
  const started = await mod.start(ctx, 'flow-1');
  const req = readAuthnRequest(started.redirect);
  const opts: ResponseOptions = {
    inResponseTo: req.id,
    acs: urls.acs,
    audience: urls.metadata,
    attributes: { [EPPN]: ['alice@example.edu'], [SCOPED_AFFILIATION]: ['staff@example.edu', 'member@example.edu'] },
    ...over,
  };
  return { ctx, started, req, opts };
}

async function finish(ctx: MethodContext<never>, flow: Record<string, string>, samlResponse: string): Promise<Verified | Refusal> {
  return mod.finish(ctx as never, { query: {}, body: { SAMLResponse: samlResponse, RelayState: 'flow-1' } }, flow);
}

function refusedWith(r: Verified | Refusal, reason: Refusal['refused']) {
  assert.ok(isRefusal(r), `expected a refusal (${reason}), got a sign-in as ${JSON.stringify(r)}`);
  assert.equal(r.refused, reason, r.detail);
}

describe('SAML SP: requests and metadata', () => {
  test('start sends the browser to the IdP with an AuthnRequest for our ACS, RelayState = flow id, the request id kept', async () => {
    const { started, req } = await flowAndResponse();
    assert.ok(started.redirect.startsWith(`${idp.ssoUrl}?`), started.redirect);
    assert.equal(req.relayState, 'flow-1');
    assert.equal(req.acs, urls.acs);
    assert.equal(req.issuer, urls.metadata);
    assert.match(req.id, /^_[0-9a-f]{40}$/);
    assert.deepEqual(started.flow, { requestId: req.id, idp: idp.entityId });
  });

  test('SP metadata: entity id is the metadata URL, ACS by POST', async () => {
    const xml = await mod.metadata!(context(baseConfig()) as never);
    assert.match(xml, new RegExp(`entityID="${urls.metadata}"`));
    assert.match(xml, /AssertionConsumerService[^>]+HTTP-POST/);
    assert.ok(xml.includes(`Location="${urls.acs}"`));
  });

  test('check: one metadata source, parsable, with a signing certificate; https for URLs', () => {
    const bad = (c: Record<string, unknown>, re: RegExp) =>
      assert.throws(() => mod.check!(c as never), (e: unknown) => e instanceof AppError && e.code === 'LOGIN_METHOD_INVALID' && re.test(e.message));
    mod.check!(baseConfig() as never);
    bad({ attribute: 'mail' }, /exactly one/);
    bad({ idp_metadata: '<nope', attribute: 'mail' }, /well-formed|neither/);
    bad({ idp_metadata_url: 'http://idp.example.edu/md', attribute: 'mail' }, /https/);
    bad({ federation_metadata_url: 'https://fed.example.org/md.xml' }, /federation_signing_cert/);
    bad({ idp_metadata: idp.metadata([]) }, /no signing certificate/);
  });
});

describe('SAML SP: a good response signs in', () => {
  for (const sign of ['assertion', 'response', 'both'] as const) {
    test(`signed ${sign}: subject is eduPersonPrincipalName, scoped affiliation maps to a group`, async () => {
      const config = { ...baseConfig(), affiliation_groups: { 'faculty@example.edu': 'FAC', staff: 'STAFF' } };
      const { ctx, started, opts } = await flowAndResponse(config, { sign, attributes: { [EPPN]: ['alice@example.edu'], [SCOPED_AFFILIATION]: ['member@example.edu', 'staff@example.edu'], 'urn:oid:0.9.2342.19200300.100.1.3': ['alice@mail.example.edu'], 'urn:oid:2.5.4.42': ['Alice'] } });
      const r = await finish(ctx as never, started.flow, idp.response(opts));
      assert.ok(!isRefusal(r), JSON.stringify(r));
      assert.equal(r.subject, 'alice@example.edu');
      assert.equal(r.userGroup, 'STAFF');
      assert.equal(r.email, 'alice@mail.example.edu');
      assert.equal(r.firstName, 'Alice');
    });
  }

  test('subject-id, eduPersonTargetedID and NameID can be the matched value', async () => {
    const sid = await flowAndResponse({ ...baseConfig(), attribute: 'subject-id' }, { attributes: { [SUBJECT_ID]: ['8f3a@example.edu'] } });
    const r1 = await finish(sid.ctx as never, sid.started.flow, idp.response(sid.opts));
    assert.ok(!isRefusal(r1) && r1.subject === '8f3a@example.edu', JSON.stringify(r1));

    const nid = await flowAndResponse({ ...baseConfig(), attribute: 'NameID' }, { nameId: 'persistent-42' });
    const r2 = await finish(nid.ctx as never, nid.started.flow, idp.response(nid.opts));
    assert.ok(!isRefusal(r2) && r2.subject === 'persistent-42', JSON.stringify(r2));

    // eduPersonTargetedID carries a NameID element; Carrel writes it idp!sp!value.
    const t = await flowAndResponse({ ...baseConfig(), attribute: 'eduPersonTargetedID' }, { attributes: {} });
    const xml = idp
      .responseXml({ ...t.opts, sign: 'none' })
      .replace('</saml:Assertion>', `<saml:AttributeStatement><saml:Attribute Name="${TARGETED_ID}"><saml:AttributeValue><saml:NameID NameQualifier="${idp.entityId}" SPNameQualifier="${urls.metadata}">abc123</saml:NameID></saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>`);
    const { signElement } = await import('./helpers/saml-idp.js');
    const r3 = await finish(t.ctx as never, t.started.flow, Buffer.from(signElement(xml, idp.keys[0]!, 'Assertion')).toString('base64'));
    assert.ok(!isRefusal(r3) && r3.subject === `${idp.entityId}!${urls.metadata}!abc123`, JSON.stringify(r3));
  });

  test('key rollover: metadata with two signing certificates accepts responses signed by either', async () => {
    const next = makeKeyPair('idp-next');
    const config = { ...baseConfig(), idp_metadata: idp.metadata([idp.keys[0]!, next]) };
    for (const key of [idp.keys[0]!, next]) {
      const { ctx, started, opts } = await flowAndResponse(config, { key });
      const r = await finish(ctx as never, started.flow, idp.response(opts));
      assert.ok(!isRefusal(r), JSON.stringify(r));
    }
  });

  test('a missing matched attribute and a scope the IdP may not assert are refused', async () => {
    const a = await flowAndResponse(baseConfig(), { attributes: { [SCOPED_AFFILIATION]: ['staff@example.edu'] } });
    refusedWith(await finish(a.ctx as never, a.started.flow, idp.response(a.opts)), 'invalid_response');
    const b = await flowAndResponse(baseConfig(), { attributes: { [EPPN]: ['rector@other-university.edu'] } });
    refusedWith(await finish(b.ctx as never, b.started.flow, idp.response(b.opts)), 'invalid_response');
  });
});

describe('SAML SP: attacks are refused with their reason', () => {
  for (const variant of [1, 2, 3, 4, 5, 6, 7, 8] as const) {
    test(`XSW${variant}`, async () => {
      const { ctx, started, opts } = await flowAndResponse(baseConfig(), { sign: variant <= 2 ? 'response' : 'assertion' });
      const legit = idp.responseXml(opts);
      // The untouched response signs in: the refusal below is the wrapping's doing.
      const wrapped = xsw(variant, legit, 'admin@example.edu');
      // A real attack: the signature still verifies cryptographically when checked on its own.
      const sigNode = new DOMParser().parseFromString(wrapped, 'text/xml').getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0]!;
      const naive = new SignedXml({ publicCert: idp.keys[0]!.cert });
      naive.loadSignature(sigNode);
      assert.equal(naive.checkSignature(wrapped), true);
      const r = await finish(ctx as never, started.flow, Buffer.from(wrapped).toString('base64'));
      refusedWith(r, 'signature');
      const again = await finish(ctx as never, started.flow, Buffer.from(legit).toString('base64'));
      assert.ok(!isRefusal(again) && again.subject === 'alice@example.edu', JSON.stringify(again));
    });
  }

  test('unsigned response', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { sign: 'none' });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'signature');
  });

  test('unsigned assertion in a signed response, when the assertion is what must be signed', async () => {
    const { ctx, started, opts } = await flowAndResponse({ ...baseConfig(), want_assertions_signed: true } as never, { sign: 'response' });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'signature');
  });

  test('a second, unsigned assertion beside the signed one', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { sign: 'response' });
    const xml = idp.responseXml(opts);
    const assertion = xml.slice(xml.indexOf('<saml:Assertion'), xml.indexOf('</saml:Assertion>') + '</saml:Assertion>'.length);
    const injected = xml.replace('</samlp:Response>', `${assertion.replace('alice@example.edu', 'admin@example.edu').replace(/ID="[^"]+"/, 'ID="_second"')}</samlp:Response>`);
    refusedWith(await finish(ctx as never, started.flow, Buffer.from(injected).toString('base64')), 'signature');
  });

  test('response signed by another key', async () => {
    for (const sign of ['assertion', 'response'] as const) {
      const { ctx, started, opts } = await flowAndResponse(baseConfig(), { sign, key: other });
      refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'signature');
    }
  });

  test('a signed value changed afterwards', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig());
    const tampered = idp.responseXml(opts).replace('alice@example.edu', 'admin@example.edu');
    refusedWith(await finish(ctx as never, started.flow, Buffer.from(tampered).toString('base64')), 'signature');
  });

  test('expired (Conditions and bearer confirmation), beyond the clock skew', async () => {
    const past = new Date(Date.now() - 60 * 60_000);
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { now: past, notOnOrAfter: new Date(past.getTime() + 5 * 60_000) });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'expired');
    const b = await flowAndResponse(baseConfig(), { subjectNotOnOrAfter: new Date(Date.now() - 10 * 60_000) });
    refusedWith(await finish(b.ctx as never, b.started.flow, idp.response(b.opts)), 'expired');
  });

  test('a minute of clock difference is tolerated, ten are not (not yet valid)', async () => {
    const soon = await flowAndResponse(baseConfig(), { notBefore: new Date(Date.now() + 60_000) });
    assert.ok(!isRefusal(await finish(soon.ctx as never, soon.started.flow, idp.response(soon.opts))));
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { notBefore: new Date(Date.now() + 10 * 60_000), notOnOrAfter: new Date(Date.now() + 20 * 60_000) });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'not_yet_valid');
  });

  test('wrong audience', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { audience: 'https://other-sp.example.org/shibboleth' });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'audience');
  });

  test('wrong recipient; wrong destination', async () => {
    const a = await flowAndResponse(baseConfig(), { recipient: 'https://other-sp.example.org/Shibboleth.sso/SAML2/POST' });
    refusedWith(await finish(a.ctx as never, a.started.flow, idp.response(a.opts)), 'recipient');
    const b = await flowAndResponse(baseConfig(), { destination: 'https://other-sp.example.org/Shibboleth.sso/SAML2/POST', sign: 'both' });
    refusedWith(await finish(b.ctx as never, b.started.flow, idp.response(b.opts)), 'destination');
  });

  test('replayed: the same assertion a second time', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig());
    const response = idp.response(opts);
    assert.ok(!isRefusal(await finish(ctx as never, started.flow, response)));
    refusedWith(await finish(ctx as never, started.flow, response), 'replay');
  });

  test('InResponseTo of another session (signed, valid, answering the other flow)', async () => {
    const victim = await flowAndResponse();
    const attacker = await flowAndResponse();
    // The attacker's own valid response, posted into the victim's flow.
    refusedWith(await finish(victim.ctx as never, victim.started.flow, idp.response(attacker.opts)), 'in_response_to');
    // Only the unsigned Response attribute changed to the victim's request: the signed confirmation still says otherwise.
    const relabelled = idp.response({ ...attacker.opts, responseInResponseTo: victim.req.id });
    refusedWith(await finish(victim.ctx as never, victim.started.flow, relabelled), 'in_response_to');
    // Unsolicited (no InResponseTo in the confirmation the IdP signed): refused too.
    refusedWith(await finish(victim.ctx as never, {}, idp.response(victim.opts)), 'in_response_to');
  });

  test('an assertion issued by another IdP, signed with our IdP key still refused by issuer', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { issuer: 'https://idp.other.edu/idp' });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'issuer');
  });

  test('an IdP error status is idp_error; garbage is invalid_response', async () => {
    const { ctx, started, opts } = await flowAndResponse(baseConfig(), { status: 'urn:oasis:names:tc:SAML:2.0:status:Responder', sign: 'both' });
    refusedWith(await finish(ctx as never, started.flow, idp.response(opts)), 'idp_error');
    refusedWith(await finish(ctx as never, started.flow, Buffer.from('<not-xml').toString('base64')), 'invalid_response');
    refusedWith(await finish(ctx as never, started.flow, ''), 'invalid_response');
  });
});

describe('SAML SP: metadata at a URL, and the SP key pair', () => {
  test('metadata fetched once and kept; while the IdP web server fails the kept copy serves; none at all is "unavailable"', async () => {
    let hits = 0;
    let failing = false;
    const server = createServer((_req, res) => {
      hits++;
      if (failing) res.writeHead(500).end('down');
      else res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idp.metadata());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const config = { idp_metadata_url: `${base}/idp.xml`, attribute: 'eduPersonPrincipalName' };
      mod.check!(config as never);
      const { ctx, started, opts } = await flowAndResponse(config as never);
      assert.ok(started.redirect.startsWith(idp.ssoUrl));
      assert.ok(!isRefusal(await finish(ctx as never, started.flow, idp.response(opts))));
      assert.equal(hits, 1, 'kept, not fetched per request');
      failing = true;
      const later = context(config, () => new Date(Date.now() + 7 * 3600_000));
      const again = await mod.start(later as never, 'flow-2');
      assert.ok(again.redirect.startsWith(idp.ssoUrl), 'the kept copy serves while the server fails');
      assert.equal(hits, 2, 'it did try again once due');
      const none = context({ idp_metadata_url: `${base}/other.xml` });
      await assert.rejects(() => mod.start(none as never, 'flow-3'), /answered 500/);
      const finishNone = await finish(none as never, { requestId: '_x', idp: idp.entityId }, idp.response(opts));
      refusedWith(finishNone, 'unavailable');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('with an SP key pair, AuthnRequests are signed (HTTP-Redirect SigAlg/Signature) and the SP metadata publishes the certificate', async () => {
    const sp = makeKeyPair('carrel-sp');
    const config = { ...baseConfig(), sp_private_key: sp.key, sp_certificate: sp.cert };
    mod.check!(config as never);
    const ctx = context(config);
    const started = await mod.start(ctx as never, 'flow-1');
    const u = new URL(started.redirect);
    const sigAlg = u.searchParams.get('SigAlg');
    assert.equal(sigAlg, 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const signedPart = u.search.slice(1).split('&').filter((p) => !p.startsWith('Signature=')).join('&');
    assert.ok(verify('RSA-SHA256', Buffer.from(signedPart), sp.cert, Buffer.from(u.searchParams.get('Signature')!, 'base64')));
    const md = await mod.metadata!(ctx as never);
    assert.match(md, /AuthnRequestsSigned="true"/);
    assert.ok(md.replace(/\s+/g, '').includes(sp.cert.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')));
    assert.equal(mod.secrets.includes('sp_private_key'), true, 'the private key is a secret: never shown');
  });

  test('an encrypted assertion is decrypted with the SP key; without the key refused; an encrypted assertion nobody signed refused', async () => {
    const sp = makeKeyPair('carrel-sp-enc');
    const config = { ...baseConfig(), sp_private_key: sp.key, sp_certificate: sp.cert };
    const a = await flowAndResponse(config as never);
    const encrypted = await encryptAssertion(idp.responseXml(a.opts), sp.cert);
    assert.doesNotMatch(encrypted, /alice@example\.edu/);
    const r = await finish(a.ctx as never, a.started.flow, Buffer.from(encrypted).toString('base64'));
    assert.ok(!isRefusal(r) && r.subject === 'alice@example.edu', JSON.stringify(r));
    const b = await flowAndResponse();
    const noKey = await encryptAssertion(idp.responseXml(b.opts), sp.cert);
    refusedWith(await finish(b.ctx as never, b.started.flow, Buffer.from(noKey).toString('base64')), 'invalid_response');
    const c = await flowAndResponse(config as never, { sign: 'none' });
    const unsignedInside = await encryptAssertion(idp.responseXml(c.opts), sp.cert);
    refusedWith(await finish(c.ctx as never, c.started.flow, Buffer.from(unsignedInside).toString('base64')), 'signature');
  });
});

