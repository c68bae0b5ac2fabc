// Institution and network settings through /api/v1 (issue 10, scope 1): GET and PATCH in
// snake_case, a merge patch whose GET answer is a valid body; every field checked (types, ranges,
// regular expressions, e-mail addresses, identifier types against UserIdentifierTypes), a refusal
// naming the field and changing nothing; config:manage only (a read-only key, a User
// Administrator refused; a General System Administrator's session needs the CSRF token); the
// network's settings changed only by its zone; every change audited with before and after; the
// domain check shared by the CLI; the password policy's words follow the settings (issue 10, fix 3).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';
import { browser, role } from './helpers/browser.js';
import { CHEAP_ARGON2, errorCode, staffUser, type InjectResult } from './helpers/identity.js';

type Inst = Awaited<ReturnType<TestContext['institution']>>;
let ctx: TestContext;
let zone: Inst;
let member: Inst;
let other: Inst;
const PASSWORD = 'Settings admin 2026 pass';

function call(key: string, method: 'GET' | 'PATCH', url: string, body?: unknown): Promise<InjectResult> {
  return ctx.server.inject({
    method,
    url: `/api/v1${url}`,
    headers: { authorization: `apikey ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  }) as Promise<InjectResult>;
}

const audits = (action: string, entityId: string) =>
  ctx.app.db.query<{ actor_type: string; actor_label: string; changes: Record<string, { before: unknown; after: unknown }> }>(
    'SELECT actor_type, actor_label, changes FROM audit_event WHERE action = $1 AND entity_id = $2 ORDER BY id',
    [action, entityId],
  );

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  zone = await ctx.institution({ networkZone: true });
  member = await ctx.institution({ network: zone.code });
  other = await ctx.institution();
  const api = client(ctx.server, member.key);
  for (const [id, r] of [['sysadmin', '26'], ['useradmin', '50']] as const) {
    const res = await api.post('/users', staffUser(id, { password: PASSWORD, user_role: [role(r, member.code)] }));
    assert.equal(res.statusCode, 200, res.body);
  }
});
after(() => ctx.close());

test('GET shows the settings in force in snake_case; PATCH changes the fields given and answers the whole; GET again shows them; audited with before and after', async () => {
  const start = await call(member.key, 'GET', '/institution/settings');
  assert.equal(start.statusCode, 200, start.body);
  assert.deepEqual(start.json(), {
    primary_identifier_regex: null,
    mandatory_identifier: {},
    preferred_identifier: null,
    external_password_fallback: false,
    password_min_length: 8,
    password_required_classes: [],
    login_max_failures: 15,
    login_lock_minutes: 30,
    identifier_generation: {},
  });
  const patched = await call(member.key, 'PATCH', '/institution/settings', {
    primary_identifier_regex: '^[a-z0-9]+$',
    mandatory_identifier: { STAFF: 'univ_id' },
    preferred_identifier: 'BARCODE',
    login_max_failures: 10,
    identifier_generation: { PUBLIC: { identifier_type: 'BARCODE', prefix: 'LIB-', padding: 8, check_digit: 'luhn' }, CONTACT: { identifier_type: 'primary_id', padding: 6 } },
  });
  assert.equal(patched.statusCode, 200, patched.body);
  const body = patched.json();
  assert.equal(body.mandatory_identifier.STAFF, 'UNIV_ID', 'stored in the code table\'s spelling');
  assert.deepEqual(body.identifier_generation.PUBLIC, { identifier_type: 'BARCODE', prefix: 'LIB-', padding: 8, check_digit: 'luhn' });
  assert.deepEqual(body.identifier_generation.CONTACT, { identifier_type: 'PRIMARY_ID', prefix: '', padding: 6, check_digit: 'none' });
  assert.equal(body.password_min_length, 8, 'fields left out are kept');
  assert.deepEqual((await call(member.key, 'GET', '/institution/settings')).json(), body);

  // GET's answer is a valid PATCH body, and one that changes nothing writes no audit row.
  const rows = await audits('institution.settings', member.id);
  assert.equal((await call(member.key, 'PATCH', '/institution/settings', body)).statusCode, 200);
  assert.equal((await audits('institution.settings', member.id)).length, rows.length);

  const row = rows.at(-1)!;
  assert.equal(row.actor_type, 'api_key');
  assert.deepEqual(row.changes.loginMaxFailures, { before: 15, after: 10 });
  assert.deepEqual(row.changes.mandatoryIdentifier, { before: {}, after: { STAFF: 'UNIV_ID' } });
  assert.equal(row.changes.passwordMinLength, undefined, 'only what changed');

  // A merge patch: null removes one record type's entry and clears a nullable setting.
  const cleared = await call(member.key, 'PATCH', '/institution/settings', { identifier_generation: { CONTACT: null }, preferred_identifier: null, primary_identifier_regex: null });
  assert.equal(cleared.statusCode, 200, cleared.body);
  assert.deepEqual(Object.keys(cleared.json().identifier_generation), ['PUBLIC']);
  assert.equal(cleared.json().preferred_identifier, null);
});

test('every invalid field is refused with 400 naming it, and nothing of the patch is stored', async () => {
  const before = (await call(member.key, 'GET', '/institution/settings')).body;
  const rowsBefore = (await audits('institution.settings', member.id)).length;
  const rule = { identifier_type: 'BARCODE', prefix: 'X', padding: 6, check_digit: 'none' };
  const cases: [Record<string, unknown>, string][] = [
    [{ password_min_length: 7 }, 'password_min_length'],
    [{ password_min_length: 300 }, 'password_min_length'],
    [{ password_min_length: '12' }, 'password_min_length'],
    [{ password_min_length: 12.5 }, 'password_min_length'],
    [{ login_max_failures: 0 }, 'login_max_failures'],
    [{ login_lock_minutes: 20_000 }, 'login_lock_minutes'],
    [{ external_password_fallback: 'yes' }, 'external_password_fallback'],
    [{ primary_identifier_regex: '([a-z' }, 'primary_identifier_regex'],
    [{ primary_identifier_regex: 42 }, 'primary_identifier_regex'],
    [{ password_required_classes: ['upper', 'emoji'] }, 'password_required_classes'],
    [{ mandatory_identifier: { PUBLIC: 'SHOE_SIZE' } }, 'mandatory_identifier.PUBLIC'],
    [{ mandatory_identifier: { CONTACT: 'BARCODE' } }, 'mandatory_identifier.CONTACT'],
    [{ mandatory_identifier: { ALIEN: 'BARCODE' } }, 'mandatory_identifier.ALIEN'],
    [{ mandatory_identifier: 'BARCODE' }, 'mandatory_identifier'],
    [{ preferred_identifier: 'SHOE_SIZE' }, 'preferred_identifier'],
    [{ identifier_generation: { PUBLIC: { ...rule, padding: 0 } } }, 'identifier_generation.PUBLIC.padding'],
    [{ identifier_generation: { PUBLIC: { ...rule, padding: 19 } } }, 'identifier_generation.PUBLIC.padding'],
    [{ identifier_generation: { PUBLIC: { ...rule, prefix: 'P'.repeat(21) } } }, 'identifier_generation.PUBLIC.prefix'],
    [{ identifier_generation: { PUBLIC: { ...rule, prefix: 'A\tB' } } }, 'identifier_generation.PUBLIC.prefix'],
    [{ identifier_generation: { PUBLIC: { ...rule, check_digit: 'crc32' } } }, 'identifier_generation.PUBLIC.check_digit'],
    [{ identifier_generation: { PUBLIC: { ...rule, identifier_type: 'SHOE_SIZE' } } }, 'identifier_generation.PUBLIC.identifier_type'],
    [{ identifier_generation: { CONTACT: rule } }, 'identifier_generation.CONTACT.identifier_type'],
    [{ identifier_generation: { PUBLIC: { ...rule, colour: 'red' } } }, 'identifier_generation.PUBLIC.colour'],
    [{ shoe_size: 44 }, 'shoe_size'],
    [{ passwordMinLength: 12 }, 'passwordMinLength'],
    // The whole patch or nothing: a good field beside a bad one is not stored either.
    [{ password_min_length: 12, login_max_failures: -1 }, 'login_max_failures'],
  ];
  for (const [patch, field] of cases) {
    const res = await call(member.key, 'PATCH', '/institution/settings', patch);
    assert.equal(res.statusCode, 400, `${JSON.stringify(patch)}: ${res.body}`);
    assert.equal(errorCode(res), 'CARREL_SETTING_INVALID', res.body);
    assert.ok(res.json().errorList.error[0].errorMessage.startsWith(`Setting ${field} is not valid:`), `${JSON.stringify(patch)}: ${res.body}`);
  }
  const shoe = await call(member.key, 'PATCH', '/institution/settings', { mandatory_identifier: { PUBLIC: 'SHOE_SIZE' } });
  assert.match(shoe.body, /SHOE_SIZE is not a value of UserIdentifierTypes \(BARCODE, UNIV_ID/);
  const notBody = await call(member.key, 'PATCH', '/institution/settings', [1, 2]);
  assert.equal(notBody.statusCode, 400);
  assert.equal((await call(member.key, 'GET', '/institution/settings')).body, before);
  assert.equal((await audits('institution.settings', member.id)).length, rowsBefore);
});

test('the CLI goes through the same check: a mandatory identifier that is no identifier type is refused, and new users are still accepted', async () => {
  const { institutions } = ctx.app.services;
  await assert.rejects(institutions.updateSettings(other.code, { mandatoryIdentifier: { PUBLIC: 'SHOE_SIZE' } }), { code: 'SETTING_INVALID', message: /mandatoryIdentifier\.PUBLIC/ });
  await assert.rejects(institutions.updateSettings(other.code, { passwordMinLength: 3 }), { code: 'SETTING_INVALID' });
  assert.deepEqual((await institutions.byCode(other.code)).settings.mandatoryIdentifier, {});
  const created = await client(ctx.server, other.key).post('/users', jsonUser('cli-check-1'));
  assert.equal(created.statusCode, 200, created.body);
  // A change the CLI makes is audited as the CLI.
  await institutions.updateSettings(other.code, { loginLockMinutes: 45 });
  const row = (await audits('institution.settings', other.id)).at(-1)!;
  assert.deepEqual(row, { actor_type: 'system', actor_label: 'cli institution settings', changes: { loginLockMinutes: { before: 30, after: 45 } } });
});

test('a changed mandatory identifier applies to the next write at once (the code-table cache is dropped)', async () => {
  const api = client(ctx.server, member.key);
  // No card numbers generated here: the rule must be what refuses a user without a barcode.
  assert.equal((await call(member.key, 'PATCH', '/institution/settings', { identifier_generation: { PUBLIC: null } })).statusCode, 200);
  assert.equal((await api.post('/users', jsonUser('before-rule'))).statusCode, 200);
  assert.equal((await call(member.key, 'PATCH', '/institution/settings', { mandatory_identifier: { PUBLIC: 'BARCODE' } })).statusCode, 200);
  const refused = await api.post('/users', jsonUser('after-rule'));
  assert.equal(refused.statusCode, 400, refused.body);
  assert.match(refused.body, /user_identifier of type BARCODE/);
  const ok = await api.post('/users', jsonUser('after-rule', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'B-after-rule' }] }));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((await call(member.key, 'PATCH', '/institution/settings', { mandatory_identifier: { PUBLIC: null } })).statusCode, 200);
  assert.equal((await api.post('/users', jsonUser('rule-gone'))).statusCode, 200);
});

test("another institution's actors see and change only their own settings; a read-only key gets nothing", async () => {
  await call(member.key, 'PATCH', '/institution/settings', { login_lock_minutes: 60 });
  const theirs = await call(other.key, 'GET', '/institution/settings');
  assert.equal(theirs.statusCode, 200);
  assert.notEqual(theirs.json().login_lock_minutes, 60);
  assert.equal((await call(other.key, 'PATCH', '/institution/settings', { login_lock_minutes: 90 })).statusCode, 200);
  assert.equal((await call(member.key, 'GET', '/institution/settings')).json().login_lock_minutes, 60);
  for (const [method, body] of [['GET', undefined], ['PATCH', { login_lock_minutes: 5 }]] as const) {
    const res = await call(member.readOnlyKey, method, '/institution/settings', body);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  }
  assert.equal((await call(member.key, 'GET', '/institution/settings')).json().login_lock_minutes, 60);
});

test("a General System Administrator's session reads and changes settings with the CSRF token; without it 403; a User Administrator is refused", async () => {
  const admin = browser(ctx.server, member.code);
  assert.equal((await admin.signIn('sysadmin', PASSWORD)).statusCode, 303);
  assert.equal((await admin.api('GET', '/institution/settings')).statusCode, 200);
  const noToken = await admin.api('PATCH', '/institution/settings', { login_max_failures: 7 }, { csrf: false });
  assert.equal(noToken.statusCode, 403, noToken.body);
  assert.equal(errorCode(noToken), 'CARREL_CSRF_TOKEN_INVALID');
  assert.notEqual((await admin.api('GET', '/institution/settings')).json().login_max_failures, 7);
  const ok = await admin.api('PATCH', '/institution/settings', { login_max_failures: 7 });
  assert.equal(ok.statusCode, 200, ok.body);
  const row = (await audits('institution.settings', member.id)).at(-1)!;
  assert.deepEqual({ type: row.actor_type, label: row.actor_label }, { type: 'staff', label: 'sysadmin' });

  const users = browser(ctx.server, member.code);
  assert.equal((await users.signIn('useradmin', PASSWORD)).statusCode, 303);
  for (const [method, body] of [['GET', undefined], ['PATCH', { login_max_failures: 3 }]] as const) {
    const res = await users.api(method, '/institution/settings', body);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(errorCode(res), 'UNAUTHORIZED');
  }
  assert.equal((await admin.api('GET', '/institution/settings')).json().login_max_failures, 7);
});

test("the network's settings: read by a member, changed only by the zone, checked, audited; none outside a network", async () => {
  const read = await call(member.key, 'GET', '/network/settings');
  assert.equal(read.statusCode, 200, read.body);
  assert.equal(read.headers['x-carrel-network-zone'], zone.code);
  assert.deepEqual(read.json(), {
    unique_ids_across_network: false,
    named_user_license: null,
    break_glass_notify: [],
    named_user_warn_percent: 90,
    named_user_at_limit: 'warn',
    named_user_notify: [],
  });
  const byMember = await call(member.key, 'PATCH', '/network/settings', { named_user_license: 500 });
  assert.equal(byMember.statusCode, 400);
  assert.equal(errorCode(byMember), 'UNAUTHORIZED');

  const change = { named_user_license: 500, named_user_warn_percent: 80, named_user_at_limit: 'refuse', named_user_notify: ['office@consortium.example.org'] };
  const byZone = await call(zone.key, 'PATCH', '/network/settings', change);
  assert.equal(byZone.statusCode, 200, byZone.body);
  assert.deepEqual((await call(member.key, 'GET', '/network/settings')).json(), { ...read.json(), ...change });
  const row = (await ctx.app.db.query<{ institution_id: string; changes: Record<string, unknown> }>(
    "SELECT institution_id, changes FROM audit_event WHERE action = 'network.settings' ORDER BY id DESC LIMIT 1",
  ))[0]!;
  assert.equal(row.institution_id, zone.id);
  assert.deepEqual(row.changes.namedUserAtLimit, { before: 'warn', after: 'refuse' });

  const cases: [Record<string, unknown>, string][] = [
    [{ named_user_warn_percent: 0 }, 'named_user_warn_percent'],
    [{ named_user_warn_percent: 101 }, 'named_user_warn_percent'],
    [{ named_user_at_limit: 'maybe' }, 'named_user_at_limit'],
    [{ named_user_notify: ['not-an-address'] }, 'named_user_notify.0'],
    [{ named_user_notify: ['a@b.example.org', 'x@y.example.org\r\nBcc: z@evil.example'] }, 'named_user_notify.1'],
    [{ break_glass_notify: 'office@consortium.example.org' }, 'break_glass_notify'],
    [{ named_user_license: -1 }, 'named_user_license'],
    [{ unique_ids_across_network: 1 }, 'unique_ids_across_network'],
    [{ password_min_length: 12 }, 'password_min_length'],
  ];
  const before = (await call(zone.key, 'GET', '/network/settings')).body;
  for (const [patch, field] of cases) {
    const res = await call(zone.key, 'PATCH', '/network/settings', patch);
    assert.equal(res.statusCode, 400, `${JSON.stringify(patch)}: ${res.body}`);
    assert.ok(res.json().errorList.error[0].errorMessage.startsWith(`Setting ${field} is not valid:`), res.body);
  }
  assert.equal((await call(zone.key, 'GET', '/network/settings')).body, before);

  const none = await call(other.key, 'GET', '/network/settings');
  assert.equal(none.statusCode, 404, none.body);
  assert.equal((await call(other.key, 'PATCH', '/network/settings', { named_user_license: 1 })).statusCode, 404);
  assert.equal((await call(zone.readOnlyKey, 'PATCH', '/network/settings', { named_user_license: 1 })).statusCode, 400);
});

test("the password policy's words follow the settings: the API's refusal and the page's hint say 12 and the classes", async () => {
  const api = client(ctx.server, other.key);
  assert.equal((await api.post('/users', staffUser('policy1'))).statusCode, 200);
  const setPassword = (password: string) =>
    ctx.server.inject({
      method: 'POST',
      url: '/api/v1/users/policy1/password',
      headers: { authorization: `apikey ${other.key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ password }),
    });
  const page = async () => (await ctx.server.inject({ method: 'GET', url: `/auth/${other.code}/set-password?token=x` })).body;
  assert.match(await page(), /At least 8 characters long; not your name/);

  assert.equal((await call(other.key, 'PATCH', '/institution/settings', { password_min_length: 12, password_required_classes: ['upper', 'digit'] })).statusCode, 200);
  const short = await setPassword('abcdefghij');
  assert.equal(short.statusCode, 400);
  assert.equal(errorCode(short), '500038');
  assert.match(short.body, /must be at least 12 characters long, with an upper-case letter and a digit and must not/);
  assert.match(short.body, /It must be at least 12 characters long\./);
  assert.doesNotMatch(short.body, /at least 8/);
  const noDigit = await setPassword('Abcdefghijklmnop');
  assert.match(noDigit.body, /It must contain a digit\./);
  assert.match(await page(), /At least 12 characters long, with an upper-case letter and a digit; not your name/);
  assert.doesNotMatch(await page(), /At least 8/);
  assert.equal((await setPassword('Quiet harbour 2026 lamps')).statusCode, 204);
});
