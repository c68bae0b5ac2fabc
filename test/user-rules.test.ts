// The domain rules of a user record: identifiers, record and account types, code values, and the
// institution's and network's settings. Each refusal leaves nothing behind.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';

let ctx: TestContext;

before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

const barcode = (value: string) => ({ id_type: { value: 'BARCODE' }, value });

async function count(api: ReturnType<typeof client>) {
  return (await api.get('/users?limit=0')).json().total_record_count as number;
}

describe('identifiers', () => {
  test('primary ids and identifiers are unique per institution, case-insensitively, across each other', async () => {
    const inst = await ctx.institution();
    const api = client(ctx.server, inst.key);
    assert.equal((await api.post('/users', jsonUser('Alpha', { user_identifier: [barcode('BC-1')] }))).statusCode, 200);

    const samePrimary = almaError(await api.post('/users', jsonUser('ALPHA')));
    assert.equal(samePrimary.code, '401851');
    assert.match(samePrimary.message, /ALPHA/);
    const sameBarcode = almaError(await api.post('/users', jsonUser('beta', { user_identifier: [barcode('bc-1')] })));
    assert.equal(sameBarcode.code, '401851');
    assert.match(sameBarcode.message, /BARCODE/);
    // A primary id may not take another user's barcode, nor a barcode another's primary id.
    assert.equal(almaError(await api.post('/users', jsonUser('BC-1'))).code, '401851');
    assert.equal(almaError(await api.post('/users', jsonUser('gamma', { user_identifier: [barcode('alpha')] }))).code, '401851');
    // Two identifiers of one user with the same value are refused too.
    const twice = await api.post('/users', jsonUser('delta', {
      user_identifier: [barcode('D-1'), { id_type: { value: 'UNIV_ID' }, value: 'd-1' }],
    }));
    assert.equal(almaError(twice).code, '401851');
    assert.equal(await count(api), 1, 'no refused user was written');
  });

  test('a user may reuse its own primary id as its barcode', async () => {
    const api = client(ctx.server, (await ctx.institution()).key);
    const res = await api.post('/users', jsonUser('self01', { user_identifier: [barcode('SELF01')] }));
    assert.equal(res.statusCode, 200, res.body);
  });

  test('the same id may live in two institutions until the network makes ids unique across it', async () => {
    const zone = await ctx.institution({ networkZone: true });
    const a = await ctx.institution({ network: zone.code });
    const b = await ctx.institution({ network: zone.code });
    const apiA = client(ctx.server, a.key);
    const apiB = client(ctx.server, b.key);
    assert.equal((await apiA.post('/users', jsonUser('shared01', { user_identifier: [barcode('NET-1')] }))).statusCode, 200);
    assert.equal((await apiB.post('/users', jsonUser('shared01', { user_identifier: [barcode('NET-1')] }))).statusCode, 200);

    await ctx.app.services.institutions.updateNetworkSettings(zone.code, { uniqueIdsAcrossNetwork: true });
    assert.equal(almaError(await apiB.post('/users', jsonUser('SHARED02', { user_identifier: [barcode('net-1')] }))).code, '401851');
    assert.equal((await apiB.post('/users', jsonUser('Shared01x', { user_identifier: [barcode('x')] }))).statusCode, 200);
    const c = await ctx.institution({ network: zone.code });
    assert.equal(almaError(await client(ctx.server, c.key).post('/users', jsonUser('SHARED01'))).code, '401851');
    // An institution outside the network is not affected.
    const outside = await ctx.institution();
    assert.equal((await client(ctx.server, outside.key).post('/users', jsonUser('shared01'))).statusCode, 200);
  });

  test('CONTACT users carry no identifiers; each type only on its record types', async () => {
    const api = client(ctx.server, (await ctx.institution()).key);
    const contact = await api.post('/users', jsonUser('contact01', { record_type: { value: 'CONTACT' }, user_identifier: [barcode('C-1')] }));
    const err = almaError(contact);
    assert.equal(err.code, '401863');
    assert.match(err.message, /CONTACT/);
    assert.equal((await api.post('/users', jsonUser('contact02', { record_type: { value: 'CONTACT' } }))).statusCode, 200);
    const staffGoogle = await api.post('/users', jsonUser('staff01', {
      record_type: { value: 'STAFF' },
      user_identifier: [{ id_type: { value: 'GOOGLE_ID' }, value: 'someone@gmail.com' }],
    }));
    assert.equal(almaError(staffGoogle).code, '401863');
    const unknown = await api.post('/users', jsonUser('odd01', { user_identifier: [{ id_type: { value: 'SHOE_SIZE' }, value: '42' }] }));
    assert.equal(almaError(unknown).code, '401864');
  });
});

describe('record fields', () => {
  test('mandatory fields, account types and external ids follow Alma', async () => {
    const api = client(ctx.server, (await ctx.institution()).key);
    const cases: [Record<string, unknown>, string, RegExp?][] = [
      [{ ...jsonUser('x'), primary_id: undefined }, '401664', /primary_id/],
      [{ ...jsonUser('x'), record_type: undefined }, '401664', /record_type/],
      [{ ...jsonUser('x'), account_type: undefined }, '401664', /account_type/],
      [jsonUser('x', { account_type: { value: 'SOMETIMES' } }), '401857', /SOMETIMES/],
      [jsonUser('x', { external_id: 'SIS' }), '401853'],
      [jsonUser('x', { account_type: { value: 'EXTERNAL' } }), '401854'],
      [jsonUser('x', { user_group: { value: 'NO_SUCH_GROUP' } }), '401852', /NO_SUCH_GROUP/],
      [jsonUser('x', { gender: { value: 'NO_SUCH' } }), '401864', /gender/],
      [jsonUser('x', { birth_date: '1990-02-31' }), '401864', /birth_date/],
      [jsonUser('x', { contact_info: { email: [{ email_address: 'not-an-address' }] } }), '401864', /email/],
      [jsonUser('x', { contact_info: { email: [{ email_address: 'a@b.org\r\nBcc: all@x.org' }] } }), '401864'],
      [jsonUser('x', { contact_info: { address: [{ line1: 'Main St 1', city: 'Springfield' }] } }), '401664', /address_type/],
      [jsonUser('x', { user_role: [{ role_type: { value: '99999' }, scope: { value: 'MAIN' } }] }), '401864', /role/],
    ];
    for (const [body, code, message] of cases) {
      const err = almaError(await api.post('/users', body));
      assert.equal(err.code, code, `${JSON.stringify(body).slice(0, 160)} -> ${err.message}`);
      if (message) assert.match(err.message, message);
    }
    assert.equal(await count(api), 0);
  });

  test('codes are matched case-insensitively and stored in the table spelling', async () => {
    const api = client(ctx.server, (await ctx.institution()).key);
    const res = await api.post('/users', jsonUser('codes01', { user_group: { value: 'undergrad' }, record_type: 'public' }));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().user_group, { value: 'UNDERGRAD', desc: 'Undergraduate' });
    assert.equal(res.json().record_type.value, 'PUBLIC');
  });

  test("the institution's primary-id format and mandatory identifier are enforced", async () => {
    const inst = await ctx.institution();
    await ctx.app.services.institutions.updateSettings(inst.code, {
      primaryIdentifierRegex: '[a-z]{2}[0-9]{4}',
      mandatoryIdentifier: { PUBLIC: 'BARCODE' },
    });
    const api = client(ctx.server, inst.key);
    assert.equal(almaError(await api.post('/users', jsonUser('zz99', { user_identifier: [barcode('M-1')] }))).code, '401864');
    assert.equal(almaError(await api.post('/users', jsonUser('ab1234'))).code, '401664');
    assert.equal((await api.post('/users', jsonUser('ab1234', { user_identifier: [barcode('M-1')] }))).statusCode, 200);
    // STAFF users have no mandatory identifier here.
    assert.equal((await api.post('/users', jsonUser('cd1234', { record_type: { value: 'STAFF' } }))).statusCode, 200);
  });

  test('a password is stored hashed (argon2id) in the identity schema and never returned', async () => {
    const inst = await ctx.institution();
    const api = client(ctx.server, inst.key);
    const res = await api.post('/users', jsonUser('pw01', { password: 'correct horse battery' }));
    assert.equal(res.statusCode, 200, res.body);
    assert.doesNotMatch(res.body, /correct horse/);
    assert.equal(res.json().password, '');
    const stored = await ctx.app.db.query<{ algorithm: string; hash: string }>(
      'SELECT c.algorithm, c.hash FROM identity.credential c JOIN app_user u ON u.id = c.user_id WHERE u.primary_id = $1',
      ['pw01'],
    );
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.algorithm, 'argon2id');
    assert.match(stored[0]!.hash, /^\$argon2id\$v=19\$/);
    assert.doesNotMatch(stored[0]!.hash, /correct horse/);
    for (const format of ['json', 'xml']) {
      const got = await api.get(`/users/pw01?format=${format}`);
      assert.equal(got.statusCode, 200);
      assert.doesNotMatch(got.body, /correct horse|argon2/);
    }
    // A password that breaks the policy is refused with Alma's 500038, and nothing is written.
    const weak = await api.post('/users', jsonUser('pw02', { password: 'short' }));
    assert.equal(almaError(weak).code, '500038');
    assert.doesNotMatch(weak.body, /short"/);
    assert.equal(await count(api), 1);
  });
});
