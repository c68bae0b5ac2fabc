// LDAP sign-ins go through the local password's throttle (login-throttle.ts, throttle.ts), against
// a real slapd whose log tells which binds the directory was asked for: a source refused for an
// account never reaches the directory; a failed bind counts per (account, source) and towards the
// account's budget and the address's count; a success ends the streak and makes the source
// familiar. The account is the Carrel user the typed name matches, else the hashed name (a
// directory account Carrel does not know by that name is throttled too). A refusal by a redirect
// method (an IdP's answer) counts nowhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { CHEAP_ARGON2, testClock, type InjectResult } from './helpers/identity.js';
import { fakeRedirectModule, useModules } from './helpers/sign-in.js';
import { PEOPLE, PEOPLE_SEED, SERVICE_DN, SERVICE_PASSWORD, slapdAvailable, startSlapd, type Slapd } from './helpers/slapd.js';

const system = { kind: 'system', label: 'test' } as const;
const [alice, bob, sam1, sam2] = PEOPLE_SEED as [(typeof PEOPLE_SEED)[0], (typeof PEOPLE_SEED)[0], (typeof PEOPLE_SEED)[0], (typeof PEOPLE_SEED)[0]];
const MIN = 60_000;
const clock = testClock();
const modules = useModules(fakeRedirectModule('oidc'));

let ctx: TestContext;
let inst: { id: string; code: string; key: string };
let slapd: Slapd;

before(async () => {
  if (!slapdAvailable()) return;
  slapd = await startSlapd();
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, loginAddressMaxFailures: 20 }, clock: clock.fn });
  inst = await ctx.institution();
  // alice is known to Carrel by the name she types (primary id alice) and by UNIV_ID; bob and the
  // two Sams are known to the directory only.
  const res = await client(ctx.server, inst.key).post('/users', {
    record_type: { value: 'PUBLIC' },
    primary_id: 'alice',
    first_name: 'Alice',
    last_name: 'Archer',
    account_type: { value: 'EXTERNAL' },
    external_id: 'SIS',
    status: { value: 'ACTIVE' },
    user_group: { value: 'UNDERGRAD' },
    user_identifier: [{ id_type: { value: 'UNIV_ID' }, value: alice.employeeNumber, segment_type: 'External' }],
  });
  assert.equal(res.statusCode, 200, res.body);
  const lm = ctx.app.services.loginMethods;
  await lm.create(system, inst.id, {
    code: 'dir',
    type: 'ldap',
    match: 'UNIV_ID',
    config: {
      url: slapd.url,
      bind_dn: SERVICE_DN,
      bind_password: SERVICE_PASSWORD,
      search_base: PEOPLE,
      filter: '(&(objectClass=inetOrgPerson)(uid={username}))',
      attribute: 'employeeNumber',
      timeout_ms: 10_000,
    },
  });
  await lm.create(system, inst.id, { code: 'campus', type: 'oidc', match: 'primary_id', config: { issuer: 'https://idp.test' } });
});
after(async () => {
  modules.restore();
  await ctx?.close();
  await slapd?.stop();
});

/** The LDAP page's form from `address`: its CSRF token, then the POST. */
async function ldapLogin(username: string, password: string, address: string): Promise<InjectResult> {
  const url = `/auth/${inst.code}/login/dir`;
  const page = await ctx.server.inject({ method: 'GET', url, remoteAddress: address });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const raw = page.headers['set-cookie'];
  const csrfCookie = (Array.isArray(raw) ? raw : [raw]).find((c) => typeof c === 'string' && c.startsWith('carrel_csrf='))!.split(';')[0]!;
  return ctx.server.inject({
    method: 'POST',
    url,
    remoteAddress: address,
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ username, password, _csrf: token }).toString(),
  }) as Promise<InjectResult>;
}

/** How many times the directory was asked to bind as this person's entry (a success logs a second line, with mech=). */
const userBinds = (uid: string) => slapd.log().split(`BIND dn="uid=${uid},${PEOPLE}" method=`).length - 1;

/** `n` wrong passwords for `uid` from `address`, each after the streak's delay has passed: n counted guesses. */
async function guesses(uid: string, address: string, n: number) {
  for (let i = 0; i < n; i++) {
    clock.advance(10 * MIN);
    const res = await ldapLogin(uid, `wrong ${i}`, address);
    assert.equal(res.statusCode, 401, `guess ${i}`);
  }
}

describe('LDAP sign-in is throttled like the local password', { skip: !slapdAvailable() && !process.env.CI ? 'slapd is not installed (.ci/run installs it)' : false }, () => {
  test('15 wrong passwords from one address refuse it without a bind; the owner elsewhere signs in', async () => {
    clock.advance(24 * 60 * MIN);
    const before = userBinds(alice.uid);
    await guesses(alice.uid, '203.0.113.66', 15);
    assert.equal(userBinds(alice.uid), before + 15, 'each guess was a bind');
    // The guesses are on alice's own budget (the local password's too), though she has no local password.
    const debt = await ctx.testDb.db.one<{ guess_debt_until: Date | null }>(
      "SELECT c.guess_debt_until FROM identity.credential c JOIN app_user u ON u.id = c.user_id WHERE u.institution_id = $1 AND u.primary_id = 'alice'",
      [inst.id],
    );
    assert.ok(debt.guess_debt_until && debt.guess_debt_until.getTime() > clock.fn().getTime(), 'the account\'s guess budget is charged');
    clock.advance(MIN);
    const refused = await ldapLogin(alice.uid, alice.password, '203.0.113.66');
    assert.equal(refused.statusCode, 401, 'the address is refused, even with the right password');
    assert.equal(userBinds(alice.uid), before + 15, 'and the directory was not asked');
    const owner = await ldapLogin(alice.uid, alice.password, '198.51.100.7');
    assert.equal(owner.statusCode, 303, 'the owner at another address signs in');
    assert.equal(owner.headers.location, `/auth/${inst.code}/account`);
    const audit = await ctx.testDb.db.query(
      "SELECT 1 FROM audit_event WHERE institution_id = $1 AND action = 'sign_in.failed' AND context->>'detail' LIKE 'throttled%'",
      [inst.id],
    );
    assert.equal(audit.length, 1, 'the refusal is audited as throttled (the page says only "not right")');
  });

  test('a name Carrel does not know is throttled under the hashed name: no bind once refused', async () => {
    clock.advance(24 * 60 * MIN);
    const before = userBinds(bob.uid);
    await guesses(bob.uid, '203.0.113.70', 15);
    clock.advance(MIN);
    assert.equal((await ldapLogin(bob.uid, bob.password, '203.0.113.70')).statusCode, 401, 'refused like a wrong password');
    assert.equal(userBinds(bob.uid), before + 15, 'the 16th attempt never reached the directory');
    // From elsewhere the bind happens, and the right password shows the no-account page.
    assert.equal((await ldapLogin(bob.uid, bob.password, '198.51.100.70')).statusCode, 403);
    assert.equal(userBinds(bob.uid), before + 16);
    // The streak is kept under the name's hash, never the name itself.
    const keys = await ctx.testDb.db.query<{ key: string }>("SELECT key FROM identity.login_counter WHERE key LIKE 'pair:name:%' OR key LIKE 'debt:name:%'");
    assert.ok(keys.length >= 2);
    assert.ok(keys.every((k) => !k.key.includes('bob')));
  });

  test('failures count per address across accounts', async () => {
    clock.advance(24 * 60 * MIN);
    const address = '203.0.113.80';
    // 20 failures (the test's loginAddressMaxFailures) spread over names, each under its streak's free count.
    for (const uid of [bob.uid, sam1.uid, sam2.uid, 'nobody1']) {
      for (let i = 0; i < 5; i++) assert.equal((await ldapLogin(uid, `wrong ${i}`, address)).statusCode, 401);
    }
    const before = userBinds(alice.uid);
    assert.equal((await ldapLogin(alice.uid, alice.password, address)).statusCode, 401, 'the address is refused for alice too');
    assert.equal(userBinds(alice.uid), before, 'without a bind');
    // An address alice signed in from (the previous test's) is familiar: the address limit does not apply there.
  });

  test('a success ends the streak and makes the source familiar', async () => {
    clock.advance(24 * 60 * MIN);
    const address = '192.0.2.44';
    await guesses(alice.uid, address, 4);
    const pair = () =>
      ctx.testDb.db.query("SELECT 1 FROM identity.login_counter WHERE key LIKE 'pair:%' AND key LIKE $1", [`%:${address}`]);
    assert.equal((await pair()).length, 1, 'a streak from that address');
    assert.equal((await ldapLogin(alice.uid, alice.password, address)).statusCode, 303);
    assert.equal((await pair()).length, 0, 'ended by the success');
    const known = await ctx.testDb.db.query('SELECT 1 FROM identity.known_address WHERE address = $1', [address]);
    assert.equal(known.length, 1, 'the address is familiar to alice now');
  });

  test('a redirect method\'s refusals (an IdP saying no, a bad state) count nowhere', async () => {
    clock.advance(24 * 60 * MIN);
    const address = '203.0.113.90';
    const signIn = ctx.app.services.signIn;
    const institution = (await ctx.app.services.institutions.byCode(inst.code))!;
    const meta = { clientAddress: address, userAgent: null };
    for (let i = 0; i < 30; i++) {
      const begun = await signIn.begin(institution, 'campus', null, meta);
      assert.ok('flowId' in begun);
      const out = await signIn.finish(institution, 'campus', begun.flowId, { query: { state: begun.flowId, fail: 'deny' }, body: {} }, meta);
      assert.deepEqual(out, { kind: 'refused', refusal: 'failed' });
      const bad = await signIn.finish(institution, 'campus', 'x'.repeat(43), { query: {}, body: {} }, meta);
      assert.equal(bad.kind, 'refused');
    }
    const rows = await ctx.testDb.db.query('SELECT key FROM identity.login_counter WHERE key LIKE $1', [`%${address}%`]);
    assert.deepEqual(rows, [], 'no counter for the address');
    assert.equal((await ldapLogin(alice.uid, alice.password, address)).statusCode, 303, 'and a password sign-in from it goes through');
  });
});
