// SAML through the login pages: the SP metadata campus IT registers, the redirect to the IdP, the
// cross-site POST to the ACS (no Lax cookie: the flow found by RelayState), the session, and every
// attack of issue 9's list refused through the page: nothing signed in, each audited with its
// reason. The module's checks in detail: test/saml.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2 } from './helpers/identity.js';
import { browser } from './helpers/sign-in.js';
import { b64, EPPN, makeKeyPair, readAuthnRequest, SCOPED_AFFILIATION, TestIdp, xsw, type KeyPair, type ResponseOptions } from './helpers/saml-idp.js';

let ctx: TestContext;
let inst: { id: string; code: string; key: string };
let other: { id: string; code: string; key: string };
let idp: TestIdp;
let attackerKey: KeyPair;
const system = { kind: 'system', label: 'test' } as const;

const auth = (path: string, code = inst.code) => `/auth/${code}${path}`;
const spUrls = (method: string, code = inst.code) => ({
  acs: `http://carrel.test/auth/${code}/saml/${method}/acs`,
  metadata: `http://carrel.test/auth/${code}/saml/${method}/metadata`,
});

function patron(primaryId: string, eppn: string) {
  return {
    record_type: { value: 'PUBLIC' },
    primary_id: primaryId,
    first_name: 'Alice',
    last_name: 'Campus',
    account_type: { value: 'EXTERNAL' },
    external_id: 'SIS',
    status: { value: 'ACTIVE' },
    user_group: { value: 'UNDERGRAD' },
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: eppn, segment_type: 'External' }],
  };
}

before(async () => {
  idp = new TestIdp();
  attackerKey = makeKeyPair('attacker');
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
  other = await ctx.institution();
  const res = await client(ctx.server, inst.key).post('/users', patron('alice', 'alice@example.edu'));
  assert.equal(res.statusCode, 200, res.body);
  const lm = ctx.app.services.loginMethods;
  const config = { idp_metadata: idp.metadata(), attribute: 'eduPersonPrincipalName' };
  await lm.create(system, inst.id, { code: 'campus', type: 'saml', label: 'Campus sign-in', match: 'UNIV_ID', config });
  await lm.create(system, inst.id, {
    code: 'jit',
    type: 'saml',
    match: 'UNIV_ID',
    config: { ...config, affiliation_groups: { staff: 'STAFF', student: 'UNDERGRAD' } },
    jit: { recordType: 'PUBLIC', userGroup: 'COMMUNITY' },
  });
  await lm.create(system, other.id, { code: 'campus', type: 'saml', match: 'UNIV_ID', config });
});
after(() => ctx.close());

type Browser = ReturnType<typeof browser>;

/** The browser starts the method; the IdP's answer to that very AuthnRequest, unless changed. */
async function start(b: Browser, method = 'campus', code = inst.code) {
  const res = await b.get(auth(`/login/${method}`, code));
  assert.equal(res.statusCode, 303, res.body);
  const req = readAuthnRequest(res.headers.location as string);
  assert.ok(req.relayState, 'RelayState carries the flow id');
  return req;
}

function answer(req: { id: string }, method = 'campus', over: Partial<ResponseOptions> = {}, code = inst.code): ResponseOptions {
  const u = spUrls(method, code);
  return { inResponseTo: req.id, acs: u.acs, audience: u.metadata, attributes: { [EPPN]: ['alice@example.edu'] }, ...over };
}

/** The IdP's auto-submitted form: a cross-site POST, so the Lax flow cookie does not come along. */
async function postAcs(b: Browser, relayState: string, samlResponse: string, method = 'campus', code = inst.code) {
  for (const k of [...b.jar.keys()]) if (k.startsWith('carrel_flow\u0000')) b.jar.delete(k);
  return b.post(auth(`/saml/${method}/acs`, code), { SAMLResponse: samlResponse, RelayState: relayState }, { csrf: false });
}

async function lastFailure() {
  const rows = await ctx.testDb.db.query<{ context: Record<string, unknown> }>(
    "SELECT context FROM audit_event WHERE institution_id = $1 AND action = 'sign_in.failed' ORDER BY id DESC LIMIT 1",
    [inst.id],
  );
  return rows[0]?.context;
}

function assertRefused(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(res.statusCode, 401, res.body);
  assert.match(res.body, /Sign-in did not work/);
  assert.doesNotMatch(String(res.headers['set-cookie'] ?? ''), /carrel_session=[^;]/);
}

test('SP metadata: entity id is its own URL, ACS by POST, what campus IT registers', async () => {
  const res = await browser(ctx.server).get(auth('/saml/campus/metadata'));
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /samlmetadata\+xml/);
  const u = spUrls('campus');
  assert.ok(res.body.includes(`entityID="${u.metadata}"`), res.body);
  assert.ok(res.body.includes(`Location="${u.acs}"`), res.body);
});

test('redirect to the IdP, POST back to the ACS: signed in as the user whose UNIV_ID is the eduPersonPrincipalName, audited', async () => {
  const b = browser(ctx.server);
  const req = await start(b);
  assert.equal(req.acs, spUrls('campus').acs);
  const res = await postAcs(b, req.relayState!, idp.response(answer(req)));
  assert.equal(res.statusCode, 303, res.body);
  assert.equal(res.headers.location, auth('/account'));
  const account = await b.get(auth('/account'));
  assert.equal(account.statusCode, 200);
  assert.match(account.body, /\(alice\)/);
  const ok = await ctx.testDb.db.query<{ entity_label: string; context: Record<string, unknown> }>(
    "SELECT entity_label, context FROM audit_event WHERE institution_id = $1 AND action = 'sign_in' ORDER BY id DESC LIMIT 1",
    [inst.id],
  );
  assert.equal(ok[0]?.entity_label, 'alice');
  assert.equal(ok[0]?.context.method, 'campus');
});

const ATTACKS: Array<[string, string, (req: { id: string }) => string]> = [
  ...([1, 2, 3, 4, 5, 6, 7, 8] as const).map(
    (v) => [`XSW${v}`, 'signature', (req: { id: string }) => b64(xsw(v, idp.responseXml(answer(req, 'campus', { sign: v <= 2 ? 'response' : 'assertion' })), 'admin@example.edu'))] as [string, string, (req: { id: string }) => string],
  ),
  ['unsigned response', 'signature', (req) => idp.response(answer(req, 'campus', { sign: 'none' }))],
  ['signed by another key', 'signature', (req) => idp.response(answer(req, 'campus', { key: attackerKey }))],
  ['expired', 'expired', (req) => idp.response(answer(req, 'campus', { now: new Date(Date.now() - 3600_000), notOnOrAfter: new Date(Date.now() - 3000_000) }))],
  ['not yet valid', 'not_yet_valid', (req) => idp.response(answer(req, 'campus', { notBefore: new Date(Date.now() + 3600_000), notOnOrAfter: new Date(Date.now() + 7200_000) }))],
  ['wrong audience', 'audience', (req) => idp.response(answer(req, 'campus', { audience: 'https://other-sp.example.org/sp' }))],
  ['wrong recipient', 'recipient', (req) => idp.response(answer(req, 'campus', { recipient: 'https://other-sp.example.org/acs' }))],
  ['InResponseTo of another session', 'in_response_to', () => idp.response(answer({ id: '_an_other_sessions_request' }))],
];

for (const [name, reason, forge] of ATTACKS) {
  test(`through the ACS page, refused and audited: ${name}`, async () => {
    const b = browser(ctx.server);
    const req = await start(b);
    const res = await postAcs(b, req.relayState!, forge(req));
    assertRefused(res);
    const failure = await lastFailure();
    assert.equal(failure?.method, 'campus');
    assert.equal(failure?.reason, reason, String(failure?.detail));
    assert.equal((await b.get(auth('/account'))).statusCode === 200 && /\(alice\)/.test((await b.get(auth('/account'))).body), false, 'nobody is signed in');
  });
}

test('unsigned assertion in a signed response, on a method that wants assertions signed: refused (signature)', async () => {
  await ctx.app.services.loginMethods.create(system, inst.id, { code: 'strict', type: 'saml', match: 'UNIV_ID', config: { idp_metadata: idp.metadata(), want_assertions_signed: true } });
  const b = browser(ctx.server);
  const req = await start(b, 'strict');
  assertRefused(await postAcs(b, req.relayState!, idp.response(answer(req, 'strict', { sign: 'response' })), 'strict'));
  assert.equal((await lastFailure())?.reason, 'signature');
});

test('replayed: the same response again (same RelayState, or a fresh flow) signs nobody in', async () => {
  const b = browser(ctx.server);
  const req = await start(b);
  const response = idp.response(answer(req));
  assert.equal((await postAcs(b, req.relayState!, response)).statusCode, 303);
  const attacker = browser(ctx.server);
  assertRefused(await postAcs(attacker, req.relayState!, response));
  assert.equal((await lastFailure())?.reason, 'state');
  const fresh = await start(attacker);
  assertRefused(await postAcs(attacker, fresh.relayState!, response));
  assert.equal((await lastFailure())?.reason, 'in_response_to');
});

test("another institution's SP: an answer meant for it is refused here (its Destination, Recipient and audience differ)", async () => {
  const b = browser(ctx.server);
  const req = await start(b);
  const theirs = idp.response(answer(req, 'campus', {}, other.code));
  assertRefused(await postAcs(b, req.relayState!, theirs));
  assert.equal((await lastFailure())?.reason, 'destination');
});

test('just in time: an unknown staff member is created with the group their scoped affiliation maps to', async () => {
  const b = browser(ctx.server);
  const req = await start(b, 'jit');
  const res = await postAcs(b, req.relayState!, idp.response(answer(req, 'jit', { attributes: { [EPPN]: ['bob@example.edu'], [SCOPED_AFFILIATION]: ['member@example.edu', 'staff@example.edu'], 'urn:oid:2.5.4.42': ['Bob'], 'urn:oid:2.5.4.4': ['Builder'] } })), 'jit');
  assert.equal(res.statusCode, 303, res.body);
  const got = await client(ctx.server, inst.key).get('/users/bob@example.edu');
  assert.equal(got.statusCode, 200, got.body);
  const user = JSON.parse(got.body);
  assert.equal(user.user_group.value, 'STAFF');
  assert.equal(user.first_name, 'Bob');
});
