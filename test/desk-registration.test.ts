// Desk registration (issue 10, scope 3): a circulation desk operator (role 32, users:register
// without users:write) signed in on the login page registers a walk-in PUBLIC patron through
// POST /api/v1/registrations and gets its generated barcode, preferred identifier first. Other
// record types, roles and passwords are refused and write nothing; so are a session without the
// CSRF token, a read-only key and a role without users:register; another institution's desk
// registers into its own institution and sees nothing here; the create is audited as the
// operator; the operator cannot change the identifiers afterwards; and the next barcode the
// settings preview (config:manage) is the one the next registration gets, previewing taking none.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser, v1 } from './helpers/identity.js';
import { formatIdentifier } from '../src/domain/users/identifier-generation.js';
import { AppError } from '../src/errors.js';
import type { Actor } from '../src/domain/access/actor.js';
import type { IdentifierGenerationRule } from '../src/model/institution.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let other: Awaited<ReturnType<TestContext['institution']>>;
const PASSWORD = 'Circulation desk 2026 pass';
const RULE: IdentifierGenerationRule = { identifierType: 'BARCODE', prefix: '2319', padding: 9, checkDigit: 'mod10' };

before(async () => {
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2 } });
  inst = await ctx.institution();
  other = await ctx.institution();
  for (const i of [inst, other]) {
    await ctx.app.services.institutions.updateSettings(i.code, {
      identifierGeneration: { PUBLIC: RULE },
      mandatoryIdentifier: { PUBLIC: 'BARCODE' },
      // A patron's card also carries the university id; the barcode is what the desk reads out.
      preferredIdentifier: 'BARCODE',
    });
  }
  const users: [typeof inst, string, string][] = [
    [inst, 'desk1', '32'],
    [inst, 'deskmgr', '221'],
    [inst, 'sysadmin', '26'],
    [other, 'otherdesk', '32'],
  ];
  for (const [i, id, roleType] of users) {
    const res = await client(ctx.server, i.key).post('/users', staffUser(id, { password: PASSWORD, user_role: [role(roleType, i.code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(() => ctx.close());

const walkIn = (extra: Record<string, unknown> = {}) => ({
  first_name: 'Ada',
  last_name: 'Lovelace',
  user_group: 'COMMUNITY',
  email: 'ada@example.org',
  phone: '+44 20 7946 0000',
  address: { line1: '12 St James Square', city: 'London', postal_code: 'SW1Y 4JH', country: 'GBR' },
  expiry_date: '2027-12-31',
  ...extra,
});

async function signedIn(i: typeof inst, id: string) {
  const b = browser(ctx.server, i.code);
  assert.equal((await b.signIn(id, PASSWORD)).statusCode, 303);
  return b;
}

const userCount = async (institutionId: string) =>
  (await ctx.app.db.one<{ n: number }>("SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1 AND record_type = 'PUBLIC'", [institutionId])).n;

test('a desk operator registers a PUBLIC patron and gets the generated barcode, preferred first', async () => {
  const desk = await signedIn(inst, 'desk1');
  const res = await desk.api('POST', '/registrations', walkIn({ identifiers: undefined }));
  assert.equal(res.statusCode, 201, res.body);
  const u = res.json();
  const barcode = formatIdentifier(RULE, 1n);
  assert.equal(barcode.length, 14, 'the 14-digit Codabar library barcode');
  assert.deepEqual(u.preferred_identifier, { id_type: 'BARCODE', value: barcode });
  assert.equal(u.user_identifier[0].value, barcode);
  assert.equal(u.record_type.value, 'PUBLIC');
  assert.equal(u.account_type.value, 'INTERNAL');
  assert.equal(u.status.value, 'ACTIVE');
  assert.equal(u.primary_id, 'adalovelace1', "Alma's default primary id: names and a counter");
  assert.equal(u.user_group.value, 'COMMUNITY');
  assert.equal(u.expiry_date, '2027-12-31Z');
  assert.equal(u.contact_info.email[0].email_address, 'ada@example.org');
  assert.equal(u.contact_info.phone[0].phone_number, '+44 20 7946 0000');
  assert.equal(u.contact_info.address[0].city, 'London');
  assert.deepEqual(u.user_role ?? [], [], 'a desk grants no roles');
  assert.equal(res.headers.etag, '"1"');

  // The Alma API finds the patron by the barcode the desk printed.
  const found = await client(ctx.server, inst.key).get(`/users/${barcode}`);
  assert.equal(found.statusCode, 200, found.body);
  assert.equal(found.json().primary_id, 'adalovelace1');

  // A second walk-in of the same name: the next barcode, the next primary id.
  const second = (await desk.api('POST', '/registrations', walkIn({ email: 'ada2@example.org' }))).json();
  assert.equal(second.primary_id, 'adalovelace2');
  assert.equal(second.preferred_identifier.value, formatIdentifier(RULE, 2n));
});

test('the create is audited as the operator, marked as a registration', async () => {
  const desk = await signedIn(inst, 'deskmgr');
  const res = await desk.api('POST', '/registrations', walkIn({ first_name: 'Charles', last_name: 'Babbage', primary_id: 'cbabbage' }));
  assert.equal(res.statusCode, 201, res.body);
  const row = await ctx.app.db.one<{ actor_type: string; actor_label: string; context: Record<string, unknown>; changes: string }>(
    "SELECT actor_type, actor_label, context, changes::text AS changes FROM audit_event WHERE action = 'user.create' AND entity_label = 'cbabbage'",
  );
  assert.equal(row.actor_type, 'staff');
  assert.equal(row.actor_label, 'deskmgr');
  assert.equal(row.context.registration, true);
  assert.ok(row.changes.includes(res.json().preferred_identifier.value), 'the generated barcode is in the audited change');
});

test('a card scanned at the desk is kept, and no number is taken', async () => {
  const desk = await signedIn(inst, 'desk1');
  const before = await ctx.app.db.one<{ v: string }>('SELECT last_value::text AS v FROM identifier_sequence WHERE scope_id = $1', [inst.id]);
  const res = await desk.api('POST', '/registrations', walkIn({ first_name: 'Mary', last_name: 'Somerville', identifiers: [{ id_type: 'barcode', value: '29999000000017' }] }));
  assert.equal(res.statusCode, 201, res.body);
  assert.deepEqual(res.json().preferred_identifier, { id_type: 'BARCODE', value: '29999000000017' });
  const after = await ctx.app.db.one<{ v: string }>('SELECT last_value::text AS v FROM identifier_sequence WHERE scope_id = $1', [inst.id]);
  assert.equal(after.v, before.v);
});

test('only PUBLIC patrons: another record type, roles, a password or a bad value are refused and write nothing', async () => {
  const desk = await signedIn(inst, 'desk1');
  const count = await userCount(inst.id);
  const staff = await desk.api('POST', '/registrations', walkIn({ record_type: 'STAFF', first_name: 'Eve' }));
  assert.equal(staff.statusCode, 400, staff.body);
  assert.equal(errorCode(staff), 'CARREL_REGISTRATION_PUBLIC_ONLY');
  assert.match(staff.body, /PUBLIC patrons only, not STAFF/);
  for (const body of [
    walkIn({ user_role: [{ role_type: '50' }] }),
    walkIn({ password: 'Patron password 2026' }),
    walkIn({ account_type: 'EXTERNAL' }),
  ]) {
    const res = await desk.api('POST', '/registrations', body);
    assert.equal(res.statusCode, 400, JSON.stringify(body));
    assert.match(res.body, /must NOT have additional properties/);
  }
  const badGroup = await desk.api('POST', '/registrations', walkIn({ user_group: 'ASTRONAUT' }));
  assert.equal(errorCode(badGroup), '401852');
  const badMail = await desk.api('POST', '/registrations', walkIn({ email: 'not an address' }));
  assert.equal(errorCode(badMail), '401864');
  assert.equal(await userCount(inst.id), count);
  // The domain holds the rule whoever calls it (a key, a job), not only the route's schema.
  const deskActor = { kind: 'staff', userId: '00000000-0000-0000-0000-000000000032', institutionId: inst.id, primaryId: 'desk1', roles: [{ roleType: '32', scope: inst.code }], sessionId: 's' } satisfies Actor;
  await assert.rejects(
    ctx.app.services.users.register(deskActor, inst.id, { recordType: 'PUBLIC', primaryId: 'x-role', firstName: 'X', lastName: 'Y', userGroup: 'COMMUNITY', roles: [{ roleType: '50', scope: inst.code, status: 'ACTIVE', expiryDate: null, parameters: [] }] }),
    (e: unknown) => e instanceof AppError && e.code === 'ACTION_NOT_SUPPORTED',
  );
  assert.equal(await userCount(inst.id), count);
});

test('a session without the CSRF token, a read-only key and a role without users:register are refused', async () => {
  const count = await userCount(inst.id);
  const desk = await signedIn(inst, 'desk1');
  for (const csrf of [false, 'not-the-token'] as const) {
    const res = await desk.api('POST', '/registrations', walkIn(), { csrf });
    assert.equal(res.statusCode, 403);
    assert.equal(errorCode(res), 'CARREL_CSRF_TOKEN_INVALID');
  }
  const readOnly = await v1(ctx.server, inst.readOnlyKey).post('/registrations', walkIn());
  assert.equal(errorCode(readOnly), 'UNAUTHORIZED');
  const sysadmin = await signedIn(inst, 'sysadmin');
  const res = await sysadmin.api('POST', '/registrations', walkIn());
  assert.equal(errorCode(res), 'UNAUTHORIZED');
  const anonymous = await ctx.server.inject({ method: 'POST', url: '/api/v1/registrations', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(walkIn()) });
  assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
  assert.equal(await userCount(inst.id), count);
  // A read-write key (an integration's self-registration page) may register.
  const key = await v1(ctx.server, inst.key).post('/registrations', walkIn({ first_name: 'Key', email: null, phone: null, address: null }));
  assert.equal(key.statusCode, 201, key.body);
});

test("another institution's desk registers into its own institution, with its own counter, and sees nothing here", async () => {
  const theirs = await signedIn(other, 'otherdesk');
  const res = await theirs.api('POST', '/registrations', walkIn({ first_name: 'Hedy', last_name: 'Lamarr' }));
  assert.equal(res.statusCode, 201, res.body);
  // Their first number: counters are per institution (no network here).
  assert.equal(res.json().preferred_identifier.value, formatIdentifier(RULE, 1n));
  const row = await ctx.app.db.one<{ institution_id: string }>("SELECT institution_id FROM app_user WHERE primary_id = 'hedylamarr1'");
  assert.equal(row.institution_id, other.id);
  // Our key does not find their patron; their key does not find ours.
  assert.equal((await client(ctx.server, inst.key).get('/users/hedylamarr1')).statusCode, 400);
  assert.equal((await client(ctx.server, other.key).get('/users/adalovelace1')).statusCode, 400);
  // The same walk-in at our desk is a patron of ours: a session acts in its own institution only.
  const ours = await signedIn(inst, 'desk1');
  const again = await ours.api('POST', '/registrations', walkIn({ first_name: 'Hedy', last_name: 'Lamarr' }));
  assert.equal(again.statusCode, 201);
  assert.equal((await ctx.app.db.one<{ institution_id: string }>("SELECT institution_id FROM app_user WHERE primary_id = 'hedylamarr1' AND institution_id = $1", [inst.id])).institution_id, inst.id);
});

test('the operator cannot change identifiers afterwards (users:register is not users:write)', async () => {
  const desk = await signedIn(inst, 'desk1');
  const created = (await desk.api('POST', '/registrations', walkIn({ first_name: 'Grace', last_name: 'Murray', primary_id: 'gmurray' }))).json();
  const barcode = created.preferred_identifier.value as string;
  const deskActor = { kind: 'staff', userId: '00000000-0000-0000-0000-000000000032', institutionId: inst.id, primaryId: 'desk1', roles: [{ roleType: '32', scope: inst.code }], sessionId: 's' } satisfies Actor;
  const { users } = ctx.app.services;
  // Alma's PUT in the domain: refused for a users:register-only actor, nothing written.
  const input = { ...(await users.get(deskActor, inst.id, 'gmurray')), identifiers: [{ idType: 'BARCODE', value: 'CHANGED-1', note: null, status: 'ACTIVE' as const, segmentType: 'Internal' as const }] };
  await assert.rejects(users.replace(deskActor, inst.id, 'gmurray', input), (e: unknown) => e instanceof AppError && e.code === 'UNAUTHORIZED');
  await assert.rejects(users.remove(deskActor, inst.id, 'gmurray'), (e: unknown) => e instanceof AppError && e.code === 'UNAUTHORIZED');
  // Over HTTP the Alma API takes keys only: the session's cookie does not open it.
  const cookie = [...desk.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const put = await ctx.server.inject({
    method: 'PUT',
    url: '/almaws/v1/users/gmurray',
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json' },
    payload: JSON.stringify({ ...created, user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'CHANGED-2' }] }),
  });
  assert.equal(put.statusCode, 400);
  assert.equal(errorCode(put), 'UNAUTHORIZED');
  // Registering again does not reach the existing patron either: the primary id is taken.
  const twice = await desk.api('POST', '/registrations', walkIn({ primary_id: 'gmurray', identifiers: [{ id_type: 'BARCODE', value: 'CHANGED-3' }] }));
  assert.equal(errorCode(twice), '401851');
  const stored = await users.get(deskActor, inst.id, 'gmurray');
  assert.deepEqual(stored.identifiers.map((i) => i.value), [barcode]);
  assert.equal(stored.version, 1);
});

test('the previewed next barcode (config:manage) is what the next registration gets; previewing takes no number', async () => {
  const sysadmin = await signedIn(inst, 'sysadmin');
  const counter = async () => BigInt((await ctx.app.db.one<{ v: string }>('SELECT last_value::text AS v FROM identifier_sequence WHERE scope_id = $1', [inst.id])).v);
  const preview = async (recordType = 'PUBLIC', who = sysadmin) => who.api('GET', `/institution/settings/identifier-generation/preview?record_type=${recordType}`);
  const last = await counter();

  const first = await preview();
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual(first.json(), { record_type: 'PUBLIC', identifier_type: 'BARCODE', next_value: formatIdentifier(RULE, last + 1n) });
  assert.deepEqual((await preview('public')).json(), first.json(), 'asked twice: the same value');
  assert.equal(await counter(), last, 'previewing moves no counter');

  // A card scanned at the desk holds the next number: the preview skips it, as the draw does.
  const desk = await signedIn(inst, 'desk1');
  const held = formatIdentifier(RULE, last + 1n);
  assert.equal((await desk.api('POST', '/registrations', walkIn({ first_name: 'Held', identifiers: [{ id_type: 'BARCODE', value: held }] }))).statusCode, 201);
  const next = (await preview()).json().next_value as string;
  assert.equal(next, formatIdentifier(RULE, last + 2n));
  assert.equal(await counter(), last);

  const registered = await desk.api('POST', '/registrations', walkIn({ first_name: 'Next' }));
  assert.equal(registered.statusCode, 201, registered.body);
  assert.equal(registered.json().preferred_identifier.value, next, 'the registration gets the previewed value');
  // The draw's second round took two numbers and burned the one it did not need: the preview
  // follows the counter, and the registration after it gets what it says again.
  const after = (await preview()).json().next_value as string;
  assert.equal(after, formatIdentifier(RULE, (await counter()) + 1n));
  assert.equal((await desk.api('POST', '/registrations', walkIn({ first_name: 'After' }))).json().preferred_identifier.value, after);

  // Reading the rules takes config:manage; a record type without a rule has none to preview.
  const refused = await preview('PUBLIC', desk);
  assert.deepEqual([refused.statusCode, errorCode(refused)], [400, 'UNAUTHORIZED']);
  assert.equal(errorCode(await v1(ctx.server, inst.readOnlyKey).get('/institution/settings/identifier-generation/preview?record_type=PUBLIC')), 'UNAUTHORIZED');
  assert.equal((await preview('STAFF')).statusCode, 404);
  const bogus = await preview('ROBOT');
  assert.deepEqual([bogus.statusCode, errorCode(bogus)], [400, '401864']);
  // Another institution's key sees its own counter, not ours.
  const theirs = await v1(ctx.server, other.key).get('/institution/settings/identifier-generation/preview?record_type=PUBLIC');
  assert.equal(theirs.statusCode, 200, theirs.body);
  assert.equal(theirs.json().next_value, formatIdentifier(RULE, 2n));
});
