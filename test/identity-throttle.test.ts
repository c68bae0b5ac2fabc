// Throttling with a small N: per (account, source), per client address, the familiar-address
// exemption, and the same answer with the same work for unknown users, users without a password,
// refused attempts and wrong passwords. The redesign against lockout: sign-in-throttling.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db, Queryable } from '../src/db/database.js';
import { createIdentityService } from '../src/domain/identity/identity-service.js';
import { createPasswordHasher, type PasswordHasher } from '../src/domain/identity/password-hasher.js';
import { addressBucket } from '../src/domain/identity/throttle.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { CHEAP_ARGON2, opAuth, testClock } from './helpers/identity.js';

/** An identity service's options for these tests: the address limit out of the way. */
const identityOptions = (argon2: { memoryKiB: number; timeCost: number; parallelism: number }) => ({
  argon2,
  resetLinkMinutes: 60,
  setPasswordLinkHours: 24,
  emailLoginLinkMinutes: 15,
  loginAddressMaxFailures: 1000,
  loginAddressWindowMinutes: 15,
  publicUrl: 'http://carrel.test',
});

const clock = testClock();
let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;
const PW = 'Correct horse 2024';
const MIN = 60_000;

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, loginAddressMaxFailures: 5, loginAddressWindowMinutes: 15 }, clock: clock.fn });
  inst = await ctx.institution();
  await ctx.app.services.institutions.updateSettings(inst.code, { loginMaxFailures: 3, loginLockMinutes: 30 });
  api = client(ctx.server, inst.key);
});
after(() => ctx.close());

async function user(id: string, extra: Record<string, unknown> = {}) {
  const res = await api.post('/users', jsonUser(id, { password: PW, ...extra }));
  assert.equal(res.statusCode, 200, res.body);
}
const login = (id: string, password: string, address: string | null) =>
  ctx.app.services.identity.verifyLogin(inst.id, id, password, address).then((r) => r.outcome);

describe('per (account, source)', () => {
  test('N failures through one key refuse that key for the window; the right password is refused until it ends', async () => {
    await user('lock01');
    for (let i = 0; i < 3; i++) assert.equal((await opAuth(ctx.server, inst.key, 'lock01', 'wrong')).statusCode, 400);
    assert.equal((await opAuth(ctx.server, inst.key, 'lock01', PW)).statusCode, 400, 'locked');
    clock.advance(29 * MIN);
    // Hammering a locked account does not extend the lock.
    for (let i = 0; i < 5; i++) await opAuth(ctx.server, inst.key, 'lock01', 'wrong');
    assert.equal((await opAuth(ctx.server, inst.key, 'lock01', PW)).statusCode, 400);
    clock.advance(2 * MIN);
    assert.equal((await opAuth(ctx.server, inst.key, 'lock01', PW)).statusCode, 204, 'released after 30 minutes');
  });

  test('a success resets the count: N-1 failures, a success, N-1 failures do not lock', async () => {
    await user('lock02');
    for (const round of [1, 2]) {
      for (let i = 0; i < 2; i++) await opAuth(ctx.server, inst.key, 'lock02', 'wrong');
      assert.equal((await opAuth(ctx.server, inst.key, 'lock02', PW)).statusCode, 204, `round ${round}`);
    }
  });

  test('a password reset by link lifts a lock', async () => {
    await user('lock03', { contact_info: { email: [{ email_address: 'lock03@example.org' }] } });
    for (let i = 0; i < 3; i++) await opAuth(ctx.server, inst.key, 'lock03', 'wrong');
    assert.equal((await opAuth(ctx.server, inst.key, 'lock03', PW)).statusCode, 400);
    await ctx.app.services.identity.requestPasswordReset(inst.id, 'lock03', null);
    const mail = (await ctx.app.db.one<{ text: string }>("SELECT text FROM mail_outbox WHERE to_address = 'lock03@example.org'")).text;
    const token = /token=([A-Za-z0-9_-]{43})/.exec(mail)![1]!;
    await ctx.app.services.identity.resetPasswordWithToken(inst.id, token, 'After the lock 99');
    assert.equal((await opAuth(ctx.server, inst.key, 'lock03', 'After the lock 99')).statusCode, 204);
  });
});

describe('a source refused is that source only', () => {
  test('an attacker elsewhere is refused, but the owner still gets in from home; at home guessing is capped too', async () => {
    await user('owner01');
    const home = '192.0.2.44';
    const attacker = '203.0.113.66';
    assert.equal(await login('owner01', PW, home), 'ok');
    for (let i = 0; i < 3; i++) assert.equal(await login('owner01', 'guess', attacker), 'failed');
    assert.equal(await login('owner01', PW, attacker), 'failed', 'locked for the attacker, even with the password');
    assert.equal(await login('owner01', PW, home), 'ok', 'the owner, from home, is not locked out');
    // From the known address itself, guessing is capped by the pair counter.
    for (let i = 0; i < 3; i++) assert.equal(await login('owner01', 'guess', home), 'failed');
    assert.equal(await login('owner01', PW, home), 'failed', 'the pair is exhausted too');
    clock.advance(31 * MIN);
    assert.equal(await login('owner01', PW, home), 'ok');
  });
});

describe('per client address', () => {
  test('N failures from one address (any accounts) refuse it for the window; other addresses are fine', async () => {
    await user('addr01');
    const noisy = '198.51.100.20';
    for (let i = 0; i < 5; i++) assert.equal(await login(`unknown-${i}`, 'x', noisy), 'failed');
    assert.equal(await login('addr01', PW, noisy), 'failed', 'refused from the noisy address');
    assert.equal(await login('addr01', PW, '198.51.100.21'), 'ok', 'fine from elsewhere');
    clock.advance(16 * MIN);
    assert.equal(await login('addr01', PW, noisy), 'ok', 'the window has passed');
  });

  test('IPv6 addresses count per /64; IPv4-mapped addresses as IPv4', async () => {
    assert.equal(addressBucket('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64');
    assert.equal(addressBucket('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressBucket('::1'), '0:0:0:0::/64');
    assert.equal(addressBucket('not an address'), null);
    await user('addr02');
    for (let i = 0; i < 5; i++) await login(`nobody-${i}`, 'x', `2001:db8:77:1::${i + 1}`);
    assert.equal(await login('addr02', PW, '2001:db8:77:1::abcd'), 'failed');
    assert.equal(await login('addr02', PW, '2001:db8:77:2::1'), 'ok');
  });
});

describe('the same answer, the same work', () => {
  test('unknown user, no password, EXTERNAL, inactive, locked and wrong password: one argon2 verify each', async () => {
    let verifies = 0;
    let hashes = 0;
    const real = createPasswordHasher({ memoryKiB: 1024, timeCost: 1, parallelism: 1 });
    const counting: PasswordHasher = {
      params: real.params,
      hash: (p) => ((hashes += 1), real.hash(p)),
      verify: (s, p) => ((verifies += 1), real.verify(s, p)),
      verifyDummy: (p) => ((verifies += 1), real.verifyDummy(p)),
    };
    const identity = createIdentityService({
      db: ctx.app.db,
      mail: ctx.app.services.mail,
      clock: clock.fn,
      hasher: counting,
      options: identityOptions(real.params),
    });
    await user('same01');
    await api.post('/users', jsonUser('same-nopw'));
    await api.post('/users', jsonUser('same-ext', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }));
    await user('same-inactive', { status: { value: 'INACTIVE' } });
    await user('same-locked');
    for (let i = 0; i < 3; i++) await login('same-locked', 'wrong', '192.0.2.99');

    for (const id of ['nobody-here', 'same-nopw', 'same-ext', 'same-inactive', 'same-locked', 'same01']) {
      verifies = 0;
      hashes = 0;
      const r = await identity.verifyLogin(inst.id, id, id === 'same-locked' ? PW : 'wrong password', '192.0.2.99');
      assert.deepEqual(r, { outcome: 'failed' }, id);
      assert.equal(verifies, 1, `${id}: one verify`);
      assert.equal(hashes, 0, id);
    }
  });

  test('every failure makes the same database statements, so timing does not tell which users exist', async () => {
    // Counted, not timed: the same SQL texts in the same order is what makes the answers take as
    // long (measured on PostgreSQL by bench/auth-timing.ts).
    const real = ctx.app.db;
    let statements: string[] = [];
    const record = <F extends (sql: string, ...rest: never[]) => unknown>(f: F) =>
      ((sql: string, ...rest: never[]) => (statements.push(sql), f(sql, ...rest))) as unknown as F;
    const wrapQ = <Q extends Queryable>(q: Q): Q => ({ ...q, query: record(q.query), one: record(q.one), maybeOne: record(q.maybeOne) });
    const db: Db = { ...wrapQ(real), transaction: (fn) => real.transaction((tx) => fn(wrapQ(tx))) };
    const identity = createIdentityService({
      db,
      mail: ctx.app.services.mail,
      clock: clock.fn,
      options: identityOptions({ memoryKiB: 1024, timeCost: 1, parallelism: 1 }),
    });
    try {
      await user('stmt01');
      await api.post('/users', jsonUser('stmt-nopw'));
      await api.post('/users', jsonUser('stmt-ext', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }));
      await user('stmt-locked');
      const actor = { kind: 'apiKey', id: 'k', institutionId: inst.id, readOnly: true, label: 'test' } as const;
      // Refused from both sources the runs use: through the key, and from the address.
      for (let i = 0; i < 3; i++) {
        await login('stmt-locked', 'wrong', '192.0.2.98');
        await ctx.app.services.identity.checkPassword(actor, inst.id, 'stmt-locked', 'wrong').catch(() => {});
      }
      // The first failure of a fresh service also prunes old counters (every ten minutes at most).
      await identity.checkPassword(actor, inst.id, 'warm-up', 'x').catch(() => {});
      for (const address of [null, '192.0.2.98']) {
        const run = async (id: string) => {
          statements = [];
          if (address) assert.equal((await identity.verifyLogin(inst.id, id, 'wrong password', address)).outcome, 'failed');
          else await assert.rejects(identity.checkPassword(actor, inst.id, id, 'wrong password'), { code: 'AUTHENTICATION_FAILED' });
          return statements;
        };
        const wrongPassword = await run('stmt01');
        assert.ok(wrongPassword.length >= 2, 'a failure is written before the answer');
        for (const id of ['nobody-at-all', 'stmt-nopw', 'stmt-ext', 'stmt-locked']) {
          assert.deepEqual(await run(id), wrongPassword, `${id} (address ${address})`);
        }
      }
    } finally {
      await identity.close();
    }
  });

  test('oversized and non-string passwords fail the same way, without hashing the input', async () => {
    await user('big01');
    for (const pw of ['x'.repeat(257), 'x'.repeat(100_000), '', undefined, 42]) {
      assert.equal(await ctx.app.services.identity.verifyLogin(inst.id, 'big01', pw as string, null).then((r) => r.outcome), 'failed');
    }
    const huge = await opAuth(ctx.server, inst.key, 'big01', 'y'.repeat(5000));
    assert.equal(huge.statusCode, 400);
  });
});
