// No anonymous party can keep a user from signing in, and guessing stays bounded (throttle.ts,
// docs/sign-in-throttling.md), at Alma's defaults: 15 failures, 30 minutes. As an attacker would:
// wrong passwords on the login page with nothing but a card number, through op=auth with and
// without a key trusted to name the end user's address, from one address and from many.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createIdentityService } from '../src/domain/identity/identity-service.js';
import { createPasswordHasher, type PasswordHasher } from '../src/domain/identity/password-hasher.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, opAuth, testClock, type InjectResult } from './helpers/identity.js';

const clock = testClock();
const MIN = 60_000;
const PW = 'Correct horse 2024';
let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let trustedKey: string;

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, loginAddressMaxFailures: 1000 }, clock: clock.fn });
  inst = await ctx.institution();
  ({ key: trustedKey } = await ctx.app.services.apiKeys.create(inst.id, { readOnly: true, label: 'discovery', trustClientAddress: true }));
});
after(() => ctx.close());

let serial = 0;
/** A user with a password and an e-mail address; each test its own, and a fresh hour of the clock. */
async function user(prefix: string): Promise<string> {
  clock.advance(24 * 60 * MIN);
  const id = `${prefix}${++serial}`;
  const res = await client(ctx.server, inst.key).post('/users', jsonUser(id, { password: PW, contact_info: { email: [{ email_address: `${id}@example.org` }] } }));
  assert.equal(res.statusCode, 200, res.body);
  return id;
}

const cookieOf = (setCookie: unknown, name: string) => {
  const all = Array.isArray(setCookie) ? setCookie : [setCookie];
  return (all.find((c) => typeof c === 'string' && c.startsWith(`${name}=`)) as string | undefined)?.split(';')[0];
};

/** A browser at `address`: a form's CSRF token, then the POST, as the login page sees them. */
async function postForm(address: string, path: string, form: Record<string, string>): Promise<InjectResult> {
  const page = await ctx.server.inject({ method: 'GET', url: `/auth/${inst.code}/forgot-password`, remoteAddress: address });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return ctx.server.inject({
    method: 'POST',
    url: `/auth/${inst.code}${path}`,
    remoteAddress: address,
    headers: { cookie: cookieOf(page.headers['set-cookie'], 'carrel_csrf')!, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ ...form, _csrf: token }).toString(),
  }) as Promise<InjectResult>;
}
const pageLogin = async (id: string, password: string, address: string) => (await postForm(address, '/login', { identifier: id, password })).statusCode === 303;
const opAuthAs = (key: string, id: string, password: string, endUser?: string) =>
  ctx.server
    .inject({
      method: 'POST',
      url: `/almaws/v1/users/${encodeURIComponent(id)}?op=auth`,
      headers: { authorization: `apikey ${key}`, 'exl-user-pw': encodeURIComponent(password), ...(endUser ? { 'x-carrel-client-address': endUser } : {}) },
    })
    .then((r) => r.statusCode === 204);

/** An identity service over the same database that counts real verifies: guesses that were tried. */
function countingIdentity() {
  const real = createPasswordHasher({ memoryKiB: 1024, timeCost: 1, parallelism: 1 });
  const counts = { guesses: 0 };
  const hasher: PasswordHasher = {
    params: real.params,
    hash: (p) => real.hash(p),
    verify: (s, p) => ((counts.guesses += 1), real.verify(s, p)),
    verifyDummy: (p) => real.verifyDummy(p),
  };
  const identity = createIdentityService({
    db: ctx.app.db,
    mail: ctx.app.services.mail,
    clock: clock.fn,
    hasher,
    options: {
      argon2: real.params,
      resetLinkMinutes: 60,
      setPasswordLinkHours: 24,
      emailLoginLinkMinutes: 15,
      loginAddressMaxFailures: 1000,
      loginAddressWindowMinutes: 15,
      publicUrl: 'http://carrel.test',
    },
  });
  return { identity, counts, close: () => real.close?.() };
}

/** `n` wrong passwords on the login page, each from a new address. */
async function rotate(id: string, n: number, net: number) {
  for (let i = 0; i < n; i++) await ctx.app.services.identity.verifyLogin(inst.id, id, `guess ${i}`, `10.${net}.${i >> 8}.${i & 255}`);
}

describe('an attacker cannot lock the owner out', () => {
  test('15 wrong passwords on the page from address A do not stop the owner at address B, nor through op=auth', async () => {
    const id = await user('victim');
    for (let i = 0; i < 15; i++) assert.equal(await pageLogin(id, `guess ${i}`, '203.0.113.66'), false);
    assert.equal(await pageLogin(id, PW, '203.0.113.66'), false, 'address A itself is refused, even with the password');
    assert.equal(await pageLogin(id, PW, '198.51.100.7'), true, 'the owner at a new address B signs in');
    assert.equal(await opAuth(ctx.server, inst.readOnlyKey, id, PW).then((r) => r.statusCode), 204, 'and through op=auth');
  });

  test('an op=auth-only user is not stranded: the key they sign in through stays open while the budget is spent', async () => {
    const id = await user('apponly');
    assert.equal(await opAuthAs(inst.readOnlyKey, id, PW), true);
    await rotate(id, 40, 1);
    assert.equal(await pageLogin(id, PW, '198.51.100.8'), false, 'a source the account does not know is refused now');
    assert.equal(await opAuthAs(inst.readOnlyKey, id, PW), true, 'the key the owner uses still admits them');
  });

  test('a trusted key names the end user: failures count per end-user address, and that address becomes familiar', async () => {
    const id = await user('trusted');
    for (let i = 0; i < 15; i++) assert.equal(await opAuthAs(trustedKey, id, `guess ${i}`, '203.0.113.9'), false);
    assert.equal(await opAuthAs(trustedKey, id, PW, '203.0.113.9'), false, 'that end user is refused');
    assert.equal(await opAuthAs(trustedKey, id, PW, '192.0.2.10'), true, 'another end user of the same application is not');
    assert.equal(await opAuthAs(trustedKey, id, PW), true, 'without the header: counted per key, which is clean');
    // Signing in through the application made 192.0.2.10 the owner's: it passes a spent budget, on the page too.
    await rotate(id, 40, 2);
    assert.equal(await pageLogin(id, PW, '192.0.2.11'), false, 'unfamiliar: refused while the budget is spent');
    assert.equal(await pageLogin(id, PW, '192.0.2.10'), true, 'familiar from op=auth: admitted');
  });

  test("an untrusted key's header is ignored: its calls count per key", async () => {
    const id = await user('untrusted');
    for (let i = 0; i < 15; i++) await opAuthAs(inst.readOnlyKey, id, `guess ${i}`, `203.0.113.${i + 1}`);
    assert.equal(await opAuthAs(inst.readOnlyKey, id, PW, '192.0.2.20'), false, 'the key is refused, whatever address it names');
    assert.equal(await opAuthAs(trustedKey, id, PW, '192.0.2.20'), true, 'another key is not');
  });
});

describe('guessing stays bounded', () => {
  test('one source: at most 15 guesses in 30 minutes, with growing delays', async () => {
    const id = await user('onesource');
    const { identity, counts, close } = countingIdentity();
    try {
      for (let i = 0; i < 6; i++) await identity.verifyLogin(inst.id, id, `g${i}`, '203.0.113.50');
      assert.equal(counts.guesses, 6, 'five free failures and the sixth');
      await identity.verifyLogin(inst.id, id, 'g6', '203.0.113.50');
      assert.equal(counts.guesses, 6, 'then a delay (1 s)');
      clock.advance(1000);
      await identity.verifyLogin(inst.id, id, 'g7', '203.0.113.50');
      assert.equal(counts.guesses, 7);
      for (let minute = 0; minute < 29; minute++) {
        clock.advance(MIN);
        await identity.verifyLogin(inst.id, id, `m${minute}`, '203.0.113.50');
      }
      assert.equal(counts.guesses, 15, 'one a minute for half an hour: 15 tried');
      clock.advance(30 * MIN);
      assert.equal((await identity.verifyLogin(inst.id, id, PW, '203.0.113.50')).outcome, 'ok', 'and the source is free again');
    } finally {
      await identity.close();
      await close();
    }
  });

  test('rotating sources: a burst of 30, then one guess per 30 minutes for the whole account', async () => {
    const id = await user('rotating');
    const { identity, counts, close } = countingIdentity();
    let n = 0;
    const guessFromNewAddress = () => identity.verifyLogin(inst.id, id, `g${n}`, `10.9.${++n >> 8}.${n & 255}`);
    try {
      for (let i = 0; i < 100; i++) await guessFromNewAddress();
      assert.equal(counts.guesses, 30, '100 addresses at once: 30 guesses tried');
      for (let i = 0; i < 47; i++) {
        clock.advance(30 * MIN);
        for (let j = 0; j < 10; j++) await guessFromNewAddress();
      }
      assert.equal(counts.guesses, 30 + 47, 'then one per 30 minutes, however many addresses: 77 in the first day');
      clock.advance(2 * 60 * MIN);
      for (let j = 0; j < 10; j++) await guessFromNewAddress();
      assert.equal(counts.guesses, 77 + 4, 'the budget refills at that rate, never faster');
    } finally {
      await identity.close();
      await close();
    }
  });
});

describe('the unlock link', () => {
  test('lifts the budget and the streaks once, from where it is used; a second use is refused', async () => {
    const id = await user('unlock');
    const home = '192.0.2.30';
    for (let i = 0; i < 15; i++) await pageLogin(id, `guess ${i}`, home); // an attacker behind the owner's NAT
    await rotate(id, 40, 3);
    assert.equal(await pageLogin(id, PW, home), false, 'the owner at home is refused');
    assert.equal(await pageLogin(id, PW, '198.51.100.30'), false, 'and elsewhere (unfamiliar, budget spent)');

    // The owner asks for the forgot-password mail, which names no account on the page and carries both links.
    const asked = await postForm(home, '/forgot-password', { identifier: id });
    assert.equal(asked.statusCode, 200);
    const mail = (await ctx.app.db.one<{ text: string }>('SELECT text FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1', [`${id}@example.org`])).text;
    const token = /\/unlock\?token=([A-Za-z0-9_-]{43})/.exec(mail)![1]!;
    const shown = await ctx.server.inject({ method: 'GET', url: `/auth/${inst.code}/unlock?token=${token}`, remoteAddress: home });
    assert.equal(shown.statusCode, 200);
    assert.equal(await pageLogin(id, PW, home), false, 'opening the link (a mail scanner) lifts nothing');

    const used = await postForm(home, '/unlock', { token });
    assert.equal(used.statusCode, 303);
    assert.match(String(used.headers.location), /\/login\?done=unlock$/);
    clock.advance(1000);
    assert.equal(await pageLogin(id, PW, home), true, 'the owner signs in at home');
    assert.equal(await pageLogin(id, PW, '198.51.100.31'), true, 'and from a new address: the budget is lifted');

    for (let i = 0; i < 15; i++) await pageLogin(id, `again ${i}`, home);
    assert.equal(await pageLogin(id, PW, home), false, 'the attacker at home can refuse that source again');
    assert.equal((await postForm(home, '/unlock', { token })).statusCode, 400, 'the link works once');
    assert.equal(await pageLogin(id, PW, home), false);
    const audited = await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE action = 'credential.unlocked' AND entity_label = $1", [id]);
    assert.equal(audited.n, 1);
  });
});
