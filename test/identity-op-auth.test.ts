// op=auth, as a discovery layer or a proxy calls it, and the seed's back-up admin: an INTERNAL
// STAFF account with the User Administrator role that still gets in while campus SSO is down.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client } from './helpers/alma.js';
import { CHEAP_ARGON2, opAuth, staffUser } from './helpers/identity.js';

let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let api: ReturnType<typeof client>;
const logs: string[] = [];

const ADMIN_PASSWORD = 'Shared-Reserve#2024 passphrase';

before(async () => {
  const logStream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  ctx = await createTestContext({ config: { ...CHEAP_ARGON2, logLevel: 'info' }, logStream });
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
  // The back-up admin of the seed: INTERNAL, STAFF, User Administrator, a group SIS does not manage.
  const admin = await api.post('/users', staffUser('backup_admin', {
    first_name: 'Backup',
    last_name: 'ADMIN',
    password: ADMIN_PASSWORD,
    user_role: [{ role_type: { value: '50' }, status: { value: 'ACTIVE' } }],
    user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'BK-0001' }],
  }));
  assert.equal(admin.statusCode, 200, admin.body);
  // Everyone else on staff signs in through campus SSO.
  const sso = await api.post('/users', staffUser('sso_staff', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS_STAFF' }));
  assert.equal(sso.statusCode, 200, sso.body);
});
after(() => ctx.close());

describe('the back-up admin while SSO is down', () => {
  test('authenticates with op=auth by primary id or barcode, header or parameter; 204 with no body', async () => {
    for (const [id, via] of [['backup_admin', 'header'], ['BACKUP_ADMIN', 'query'], ['BK-0001', 'header']] as const) {
      const res = await opAuth(ctx.server, inst.key, id, ADMIN_PASSWORD, via);
      assert.equal(res.statusCode, 204, `${id} ${via}: ${res.body}`);
      assert.equal(res.body, '');
      assert.equal(res.headers['x-carrel-password-change-required'], undefined);
    }
  });

  test('a read-only key may check a password (Alma allows op=auth with read-only keys)', async () => {
    assert.equal((await opAuth(ctx.server, inst.readOnlyKey, 'backup_admin', ADMIN_PASSWORD)).statusCode, 204);
  });

  test('an EXTERNAL staff member has no local password: op=auth fails with 401866', async () => {
    const res = await opAuth(ctx.server, inst.key, 'sso_staff', ADMIN_PASSWORD);
    assert.equal(res.statusCode, 400);
    assert.deepEqual(almaError(res), { status: 400, code: '401866', message: 'User authentication failed' });
  });

  test('the admin found by login carries role 50, so the domain lets it manage credentials', async () => {
    const result = await ctx.app.services.identity.verifyLogin(inst.id, 'backup_admin', ADMIN_PASSWORD, '192.0.2.10');
    if (result.outcome !== 'ok') return assert.fail(`login ${result.outcome}`);
    const admin = await ctx.app.services.users.get({ kind: 'system', label: 'test' }, inst.id, result.user.primaryId);
    const actor = {
      kind: 'staff' as const,
      userId: result.user.id,
      institutionId: inst.id,
      primaryId: result.user.primaryId,
      roles: admin.roles.map((r) => ({ roleType: r.roleType, scope: r.scope })),
      sessionId: 'test',
    };
    const toggled = await ctx.app.services.identity.toggleAccountType(actor, inst.id, 'sso_staff', {
      accountType: 'INTERNAL',
      password: 'Temporary-Pass 77',
    });
    assert.equal(toggled.user.accountType, 'INTERNAL');
    const signal = await opAuth(ctx.server, inst.key, 'sso_staff', 'Temporary-Pass 77');
    assert.equal(signal.statusCode, 204);
    assert.equal(signal.headers['x-carrel-password-change-required'], 'true');
  });
});

describe('op=auth answers', () => {
  test('wrong password, unknown user, empty and malformed passwords all get the same answer', async () => {
    const strip = (body: string) => body.replace(/"trackingId":"[^"]*"/, '');
    const wrong = await opAuth(ctx.server, inst.key, 'backup_admin', 'not the password');
    const unknown = await opAuth(ctx.server, inst.key, 'nobody_at_all', 'not the password');
    const empty = await ctx.server.inject({
      method: 'POST',
      url: '/almaws/v1/users/backup_admin?op=auth',
      headers: { authorization: `apikey ${inst.key}`, accept: 'application/json' },
    });
    const malformed = await ctx.server.inject({
      method: 'POST',
      url: '/almaws/v1/users/backup_admin?op=auth',
      headers: { authorization: `apikey ${inst.key}`, accept: 'application/json', 'exl-user-pw': '%E0%A4%A' },
    });
    for (const res of [wrong, unknown, empty, malformed]) {
      assert.equal(res.statusCode, 400);
      assert.equal(strip(res.body), strip(wrong.body));
    }
  });

  test('URL-encoded header: "+" is a space, %2B a plus; a JSON content type with an empty body is fine', async () => {
    const res = await ctx.server.inject({
      method: 'POST',
      url: '/almaws/v1/users/backup_admin?op=auth',
      headers: {
        authorization: `apikey ${inst.key}`,
        'content-type': 'application/json',
        'exl-user-pw': ADMIN_PASSWORD.replace(/ /g, '+').replace('#', '%23'),
      },
    });
    assert.equal(res.statusCode, 204, res.body);
  });

  test('op=refresh is not supported (401859); errors follow Accept (XML by default)', async () => {
    const refresh = await ctx.server.inject({
      method: 'POST',
      url: '/almaws/v1/users/backup_admin?op=refresh',
      headers: { authorization: `apikey ${inst.key}` },
    });
    assert.equal(refresh.statusCode, 400);
    assert.match(refresh.body, /<errorCode>401859<\/errorCode>/);
    const bad = await opAuth(ctx.server, inst.key, 'backup_admin', 'x');
    assert.equal(almaError(bad).code, '401866');
  });

  test('an inactive user cannot authenticate; without a key nothing is checked', async () => {
    const body = (await api.get('/users/backup_admin')).json();
    await api.post('/users', staffUser('inactive01', { password: 'Inactive-Pass 91', status: { value: 'INACTIVE' } }));
    assert.equal((await opAuth(ctx.server, inst.key, 'inactive01', 'Inactive-Pass 91')).statusCode, 400);
    const noKey = await ctx.server.inject({ method: 'POST', url: '/almaws/v1/users/backup_admin?op=auth', headers: { 'exl-user-pw': ADMIN_PASSWORD } });
    assert.equal(noKey.statusCode, 400);
    assert.match(noKey.body, /UNAUTHORIZED/);
    assert.equal(body.password, '');
  });

  test('another institution\'s key does not reach this institution\'s users', async () => {
    const other = await ctx.institution();
    assert.equal((await opAuth(ctx.server, other.key, 'backup_admin', ADMIN_PASSWORD)).statusCode, 400);
  });

  test('the OpenAPI document describes op=auth, its change signal, and the staff actions', async () => {
    const doc = (await ctx.server.inject({ method: 'GET', url: '/api/docs/json' })).json();
    const auth = doc.paths['/almaws/v1/users/{user_id}'].post;
    assert.match(auth.description, /X-Carrel-Password-Change-Required: true/);
    assert.match(auth.description, /401866/);
    for (const path of ['/api/v1/users/{user_id}/password', '/api/v1/users/{user_id}/account-type', '/api/v1/account-type', '/api/v1/mail-outbox']) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths['/api/v1/users/{user_id}/account-type'].post.requestBody, 'typebox body schema shown');
  });

  test('the password never reaches the log, in the query or in the header', () => {
    const all = logs.join('');
    assert.ok(all.includes('op=auth'), 'requests were logged');
    assert.ok(all.includes('password=[redacted]'), 'the parameter is masked');
    for (const secret of [ADMIN_PASSWORD, encodeURIComponent(ADMIN_PASSWORD), 'Temporary-Pass', 'Inactive-Pass']) {
      assert.ok(!all.includes(secret), `log contains ${secret}`);
    }
    assert.ok(!/exl-user-pw/i.test(all));
  });
});
