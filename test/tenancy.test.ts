// One institution's key never sees or changes another institution's users, and learns nothing
// of them: the answers are the same as for a user that does not exist.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';

let ctx: TestContext;
let north: ReturnType<typeof client>;
let south: ReturnType<typeof client>;

before(async () => {
  ctx = await createTestContext();
  const zone = await ctx.institution({ networkZone: true });
  north = client(ctx.server, (await ctx.institution({ network: zone.code })).key);
  south = client(ctx.server, (await ctx.institution({ network: zone.code })).key);
  const res = await north.post('/users', jsonUser('north01', {
    user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'N-0001' }],
    last_name: 'Northman',
  }));
  assert.equal(res.statusCode, 200, res.body);
});
after(() => ctx.close());

test('another institution cannot read a user, by primary id or barcode', async () => {
  for (const id of ['north01', 'N-0001']) {
    const theirs = await south.get(`/users/${id}`);
    const missing = await south.get('/users/does-not-exist');
    assert.equal(almaError(theirs).code, almaError(missing).code);
    assert.equal(theirs.statusCode, missing.statusCode);
    assert.doesNotMatch(theirs.body, /Northman/);
  }
});

test('another institution cannot find a user by search', async () => {
  const res = (await south.get('/users?q=last_name~northman')).json();
  assert.equal(res.total_record_count, 0);
  const all = (await south.get('/users?limit=100')).json();
  assert.equal(all.total_record_count, 0);
});

test('another institution cannot change or delete a user', async () => {
  const body = (await north.get('/users/north01')).json();
  assert.equal(almaError(await south.put('/users/north01', { ...body, last_name: 'Hijacked' })).code, '401890');
  assert.equal(almaError(await south.delete('/users/north01')).code, '401890');
  const after = (await north.get('/users/north01')).json();
  assert.equal(after.last_name, 'Northman');
});

test('each institution may have its own user with the same primary id, kept apart', async () => {
  assert.equal((await south.post('/users', jsonUser('north01', { last_name: 'Southerner' }))).statusCode, 200);
  assert.equal((await north.get('/users/north01')).json().last_name, 'Northman');
  assert.equal((await south.get('/users/north01')).json().last_name, 'Southerner');
  assert.equal((await south.delete('/users/north01')).statusCode, 204);
  assert.equal((await north.get('/users/north01')).json().last_name, 'Northman');
});

test("code values added to one institution are not valid in another", async () => {
  const northInst = await ctx.institution();
  await ctx.app.services.institutions.addCodeValues(northInst.code, { UserGroups: [{ code: 'VISITOR', description: 'Visitor' }] });
  const own = client(ctx.server, northInst.key);
  assert.equal((await own.post('/users', jsonUser('v1', { user_group: { value: 'VISITOR' } }))).statusCode, 200);
  assert.equal(almaError(await south.post('/users', jsonUser('v1', { user_group: { value: 'VISITOR' } }))).code, '401852');
});
