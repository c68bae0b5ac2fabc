// The Alma Users API as a library script uses it: create, find by any identifier, search,
// replace, delete, in JSON and XML, with Alma's error codes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';

let ctx: TestContext;
let api: ReturnType<typeof client>;
let inst: Awaited<ReturnType<TestContext['institution']>>;

before(async () => {
  ctx = await createTestContext();
  inst = await ctx.institution();
  api = client(ctx.server, inst.key);
});
after(() => ctx.close());

describe('create and read', () => {
  test('POST /users creates a user that GET finds by primary id and by barcode, case-insensitively', async () => {
    const res = await api.post('/users', jsonUser('ada01', {
      user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'B0001', segment_type: 'Internal' }],
      contact_info: { email: [{ email_address: 'ada@example.org', email_type: [{ value: 'personal' }], preferred: true }] },
    }));
    assert.equal(res.statusCode, 200, res.body);
    const created = res.json();
    assert.equal(created.primary_id, 'ada01');
    assert.deepEqual(created.user_group, { value: 'COMMUNITY', desc: 'Community borrower' });
    assert.equal(created.full_name, 'Ada Lovelace');
    assert.equal(created.link, 'http://carrel.test/almaws/v1/users/ada01');
    assert.equal(created.password, '');

    for (const id of ['ada01', 'ADA01', 'B0001', 'b0001']) {
      const got = await api.get(`/users/${id}`);
      assert.equal(got.statusCode, 200, `${id}: ${got.body}`);
      assert.equal(got.json().primary_id, 'ada01');
      assert.equal(got.json().contact_info.email[0].email_address, 'ada@example.org');
    }
    const byType = await api.get('/users/B0001?user_id_type=BARCODE');
    assert.equal(byType.statusCode, 200);
    const wrongType = await api.get('/users/B0001?user_id_type=UNIV_ID');
    assert.deepEqual(almaError(wrongType).code, '401890');
  });

  test('GET of an unknown user is 400 with 401861, in JSON and in XML', async () => {
    const json = await api.get('/users/nobody-here');
    assert.equal(json.statusCode, 400);
    const err = almaError(json);
    assert.equal(err.code, '401861');
    assert.match(err.message, /nobody-here/);
    const xml = await api.get('/users/nobody-here', { accept: 'application/xml' });
    assert.equal(xml.statusCode, 400);
    assert.match(xml.headers['content-type'] as string, /xml/);
    assert.match(xml.body, /<errorCode>401861<\/errorCode>/);
    assert.match(xml.body, /<trackingId>E01-/);
  });

  test('format=xml and Accept choose the response format; XML is the default', async () => {
    const xml = await api.get('/users/ada01?format=xml');
    assert.match(xml.headers['content-type'] as string, /application\/xml/);
    assert.match(xml.body, /<primary_id>ada01<\/primary_id>/);
    const plain = await ctx.server.inject({ method: 'GET', url: `/almaws/v1/users/ada01?apikey=${inst.key}` });
    assert.equal(plain.statusCode, 200);
    assert.match(plain.body, /^<\?xml/);
  });

  test('a user created from XML reads back the same in JSON', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <user><record_type>PUBLIC</record_type><primary_id>xmluser</primary_id><first_name>Émile</first_name>
      <last_name>Zola &amp; Co</last_name><account_type>EXTERNAL</account_type><external_id>SIS</external_id>
      <user_group>UNDERGRAD</user_group><status>ACTIVE</status>
      <user_identifiers><user_identifier segment_type="External"><id_type>UNIV_ID</id_type><value>00900123</value></user_identifier></user_identifiers>
      </user>`;
    const res = await api.post('/users', xml, { 'content-type': 'application/xml' });
    assert.equal(res.statusCode, 200, res.body);
    const got = (await api.get('/users/00900123')).json();
    assert.equal(got.first_name, 'Émile');
    assert.equal(got.last_name, 'Zola & Co');
    assert.equal(got.user_identifier[0].value, '00900123', 'leading zeros kept');
    assert.equal(got.account_type.value, 'EXTERNAL');
  });
});

describe('search', () => {
  test('q=last_name~ finds by substring, counts all matches, pages with limit and offset', async () => {
    for (const [id, last] of [['s1', 'Smith'], ['s2', 'Smithers'], ['s3', 'Goldsmith'], ['s4', 'Jones']] as const) {
      assert.equal((await api.post('/users', jsonUser(id, { last_name: last }))).statusCode, 200);
    }
    const res = await api.get('/users?q=last_name~smi&limit=2');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.total_record_count, 3);
    assert.equal(body.user.length, 2);
    assert.deepEqual(body.user.map((u: { last_name: string }) => u.last_name), ['Goldsmith', 'Smith']);
    const page2 = (await api.get('/users?q=last_name~smi&limit=2&offset=2')).json();
    assert.deepEqual(page2.user.map((u: { last_name: string }) => u.last_name), ['Smithers']);
    assert.match(page2.user[0].link, /\/almaws\/v1\/users\/s2$/);
    // Past the last match the page is empty and the count still right; no term at all lists everyone.
    const beyond = (await api.get('/users?q=last_name~smi&limit=2&offset=10')).json();
    assert.equal(beyond.total_record_count, 3);
    assert.deepEqual(beyond.user ?? [], []);
    const counted = (await api.get('/users?q=last_name~smi&limit=0')).json();
    assert.equal(counted.total_record_count, 3);
    const everyone = (await api.get('/users?limit=100&order_by=last_name')).json();
    assert.ok(everyone.total_record_count >= 4 && everyone.user.length === everyone.total_record_count);
  });

  test('terms join with AND; identifiers and email are searchable', async () => {
    const both = (await api.get(`/users?q=${encodeURIComponent('last_name~smith AND primary_id~s1')}`)).json();
    assert.equal(both.total_record_count, 1);
    const byBarcode = (await api.get('/users?q=identifiers~b000')).json();
    assert.equal(byBarcode.user[0].primary_id, 'ada01');
    const byEmail = (await api.get('/users?q=email~ada@example')).json();
    assert.equal(byEmail.total_record_count, 1);
  });

  test('bad search parameters answer 402119-style errors, not a 500', async () => {
    for (const url of ['/users?limit=101', '/users?q=shoe_size~42', '/users?q=nonsense', '/users?order_by=shoe_size', '/users?q=last_name~a&modify_date_from=2020-01-01']) {
      const res = await api.get(url);
      assert.equal(res.statusCode, 400, url);
      assert.equal(almaError(res).code, '402119', url);
    }
  });

  test('LIKE wildcards in q are literal', async () => {
    const res = (await api.get(`/users?q=${encodeURIComponent('last_name~%')}`)).json();
    assert.equal(res.total_record_count, 0);
  });
});

describe('replace (PUT) and delete', () => {
  test('PUT swaps the record, keeps roles when absent, bumps the ETag; If-Match guards lost updates', async () => {
    const created = await api.post('/users', jsonUser('put01', {
      user_role: [{ role_type: { value: '200' }, status: { value: 'ACTIVE' }, scope: { value: inst.code } }],
    }));
    assert.equal(created.statusCode, 200, created.body);
    const etag = created.headers.etag as string;
    const body = created.json();
    body.first_name = 'Augusta';
    delete body.user_role;
    const put = await api.put('/users/put01', body, { 'if-match': etag });
    assert.equal(put.statusCode, 200, put.body);
    assert.equal(put.json().first_name, 'Augusta');
    assert.equal(put.json().user_role.length, 1, 'roles kept when absent');
    assert.notEqual(put.headers.etag, etag);

    const stale = await api.put('/users/put01', { ...body, first_name: 'Stale' }, { 'if-match': etag });
    assert.equal(stale.statusCode, 412);
    assert.equal(almaError(stale).code, 'CARREL_PRECONDITION_FAILED');
    assert.equal((await api.get('/users/put01')).json().first_name, 'Augusta');

    const roleless = await api.put('/users/put01', { ...body, user_role: [] });
    assert.equal(roleless.json().user_role.length, 0, 'an empty list deletes');
  });

  test('PUT can change the primary id without losing identifiers', async () => {
    await api.post('/users', jsonUser('rename01', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'RN-1' }] }));
    const u = (await api.get('/users/rename01')).json();
    const res = await api.put('/users/RN-1', { ...u, primary_id: 'renamed01' });
    assert.equal(res.statusCode, 200, res.body);
    const after = (await api.get('/users/RN-1')).json();
    assert.equal(after.primary_id, 'renamed01');
    assert.equal(almaError(await api.get('/users/rename01')).code, '401861');
  });

  test('an EXTERNAL user cannot be made INTERNAL by PUT, nor its external id changed', async () => {
    const u = jsonUser('ext01', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' });
    assert.equal((await api.post('/users', u)).statusCode, 200);
    const toInternal = await api.put('/users/ext01', { ...u, account_type: { value: 'INTERNAL' }, external_id: '' });
    assert.equal(almaError(toInternal).code, '401859');
    const otherProfile = await api.put('/users/ext01', { ...u, external_id: 'OTHER' });
    assert.equal(almaError(otherProfile).code, '401858');
  });

  test('on an EXTERNAL user, an empty protected field in the input keeps the stored value', async () => {
    const u = jsonUser('ext02', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS', user_group: { value: 'UNDERGRAD' } });
    await api.post('/users', u);
    const res = await api.put('/users/ext02', { ...u, user_group: { value: '' }, first_name: 'Changed' });
    assert.equal(res.json().user_group.value, 'UNDERGRAD');
    assert.equal(res.json().first_name, 'Changed');
    const overridden = await api.put('/users/ext02?override=user_group', { ...u, user_group: { value: 'GRAD' } });
    assert.equal(overridden.json().user_group.value, 'GRAD');
  });

  test('DELETE answers 204, then the user is gone; a second DELETE is 401890', async () => {
    await api.post('/users', jsonUser('del01'));
    const res = await api.delete('/users/del01');
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    assert.equal(almaError(await api.get('/users/del01')).code, '401861');
    assert.equal(almaError(await api.delete('/users/del01')).code, '401890');
  });
});

describe('keys', () => {
  test('a read-only key reads but cannot write; a bad or missing key is refused', async () => {
    const ro = client(ctx.server, inst.readOnlyKey);
    assert.equal((await ro.get('/users/ada01')).statusCode, 200);
    const write = await ro.post('/users', jsonUser('ro01'));
    assert.equal(almaError(write).code, 'UNAUTHORIZED');
    assert.equal(almaError(await ro.delete('/users/ada01')).code, 'UNAUTHORIZED');
    assert.equal((await api.get('/users/ada01')).statusCode, 200, 'still there');

    const bad = await client(ctx.server, `${inst.key.slice(0, -4)}AAAA`).get('/users/ada01');
    assert.equal(almaError(bad).code, 'INVALID_API_KEY');
    const none = await ctx.server.inject({ method: 'GET', url: '/almaws/v1/users/ada01', headers: { accept: 'application/json' } });
    assert.equal(almaError(none).code, 'UNAUTHORIZED');
  });

  test('the key in the query string works too', async () => {
    const res = await ctx.server.inject({ method: 'GET', url: `/almaws/v1/users/ada01?apikey=${inst.key}&format=json` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().primary_id, 'ada01');
  });
});

describe('code tables and docs', () => {
  test('code tables show user groups with managed-by-SIS and identifier types with record types', async () => {
    const groups = (await api.get('/conf/code-tables/UserGroups')).json();
    const undergrad = groups.row.find((r: { code: string }) => r.code === 'UNDERGRAD');
    assert.equal(undergrad.managed_by_sis, true);
    const ids = (await api.get('/conf/code-tables/UserIdentifierTypes')).json();
    assert.deepEqual(ids.row.find((r: { code: string }) => r.code === 'BARCODE').record_types, ['PUBLIC', 'STAFF']);
    const roles = (await api.get('/conf/code-tables/HFrUserRoles.roleType')).json();
    assert.equal(roles.row.find((r: { code: string }) => r.code === '200').named_user, false);
    assert.equal(roles.row.find((r: { code: string }) => r.code === '50').named_user, true);
    assert.equal(almaError(await api.get('/conf/code-tables/NoSuchTable')).code, '402119');
  });

  test('the OpenAPI document lists the Users API routes', async () => {
    const res = await ctx.server.inject({ method: 'GET', url: '/api/docs/json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.ok(doc.paths['/almaws/v1/users/{user_id}'].get);
    assert.ok(doc.paths['/almaws/v1/users'].post);
    assert.ok(doc.paths['/almaws/v1/users/{user_id}'].put.parameters.some((p: { name: string }) => p.name === 'override'));
  });

  test('GET /healthz answers 200 when the database is reachable', async () => {
    const res = await ctx.server.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().status, 'ok');
  });
});
