// Sign-in events through the API (issue 9, scope 5): every sign-in and failed sign-in on the login
// page is an audit event (method, user if known, address, reason), read with
// GET /api/v1/sign-in-events and its filters (user, method, outcome, since), a page at a time;
// credentials:manage only; one institution's events only; a name typed for an unknown user is
// never stored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser, v1 } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Events passphrase 2026';

interface Event {
  id: number;
  occurred_at: string;
  outcome: string;
  user_id: string | null;
  method: string;
  address: string | null;
  reason: string | null;
}

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  inst = await ctx.institution();
  other = await ctx.institution();
  for (const [id, extra] of [
    ['admin1', { password: PASSWORD, user_role: [role('50', inst.code)] }],
    ['reader1', { password: PASSWORD }],
  ] as const) {
    assert.equal((await client(ctx.server, inst.key).post('/users', staffUser(id, extra))).statusCode, 200);
  }
  assert.equal((await client(ctx.server, other.key).post('/users', staffUser('reader1', { password: PASSWORD }))).statusCode, 200);

  const b = browser(ctx.server, inst.code, { ip: '198.51.100.23' });
  assert.equal((await b.signIn('reader1', PASSWORD)).statusCode, 303);
  assert.equal((await b.signIn('reader1', 'not the password')).statusCode, 401);
  assert.equal((await b.signIn('ghost-typed-name', PASSWORD)).statusCode, 401);
  assert.equal((await browser(ctx.server, other.code).signIn('reader1', PASSWORD)).statusCode, 303);
});
after(() => ctx.close());

const list = async (query = '') => {
  const res = await v1(ctx.server, inst.key).get(`/sign-in-events${query}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { event: Event[]; next_before: number | null };
};

test('successes and failures, newest first, with method, user, address and reason', async () => {
  const { event } = await list();
  assert.deepEqual(
    event.map((e) => [e.outcome, e.user_id, e.method, e.address, e.reason]),
    [
      ['failure', null, 'password', '198.51.100.23', 'bad_credentials'],
      ['failure', 'reader1', 'password', '198.51.100.23', 'bad_credentials'],
      ['success', 'reader1', 'password', '198.51.100.23', null],
    ],
    "this institution's events only",
  );
  const typed = await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE context::text LIKE '%ghost-typed-name%' OR entity_label = 'ghost-typed-name'");
  assert.equal(typed.n, 0, 'the name typed for an unknown user is not stored');
});

test('filters: user, outcome, method, since; and pages', async () => {
  assert.equal((await list('?user=reader1')).event.length, 2);
  assert.deepEqual((await list('?outcome=success')).event.map((e) => e.user_id), ['reader1']);
  assert.equal((await list('?outcome=failure')).event.length, 2);
  assert.equal((await list('?method=saml')).event.length, 0);
  assert.equal((await list('?method=password')).event.length, 3);
  assert.equal((await list(`?since=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`)).event.length, 0);
  assert.equal((await list(`?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`)).event.length, 3);

  const first = await list('?limit=2');
  assert.equal(first.event.length, 2);
  assert.ok(first.next_before);
  const second = await list(`?limit=2&before=${first.next_before}`);
  assert.equal(second.event.length, 1);
  assert.equal(second.next_before, null);
  assert.ok(second.event[0]!.id < first.event[1]!.id);

  assert.equal(errorCode(await v1(ctx.server, inst.key).get('/sign-in-events?user=nobody')), '401861');
  assert.equal((await v1(ctx.server, inst.key).get('/sign-in-events?outcome=maybe')).statusCode, 400);
  assert.equal((await v1(ctx.server, inst.key).get('/sign-in-events?since=yesterday')).statusCode, 400);
});

test('credentials:manage only: a read-only key is refused; a signed-in User Administrator reads them', async () => {
  assert.equal(errorCode(await v1(ctx.server, inst.readOnlyKey).get('/sign-in-events')), 'UNAUTHORIZED');
  const admin = browser(ctx.server, inst.code);
  await admin.signIn('admin1', PASSWORD);
  const res = await admin.api('GET', '/sign-in-events?user=admin1');
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual((res.json() as { event: Event[] }).event.map((e) => e.outcome), ['success']);
});
