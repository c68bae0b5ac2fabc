// Every create, update and delete writes an audit event: who, what, when, and the before/after
// of the fields that changed, nothing more.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAuditEventsForEntity } from '../src/db/queries/audit-events.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { client, jsonUser } from './helpers/alma.js';

let ctx: TestContext;

before(async () => {
  ctx = await createTestContext();
});
after(() => ctx.close());

test('create, update and delete each leave one event with the changed fields only', async () => {
  const inst = await ctx.institution();
  const api = client(ctx.server, inst.key);
  await api.post('/users', jsonUser('aud01', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'A-1' }] }));
  const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'aud01');

  const body = (await api.get('/users/aud01')).json();
  await api.put('/users/aud01', { ...body, last_name: 'Byron', user_group: { value: 'ALUMNI' } });
  await api.delete('/users/aud01');

  const events = (await listAuditEventsForEntity(ctx.app.db, user.id)).reverse();
  assert.deepEqual(events.map((e) => e.action), ['user.create', 'user.update', 'user.delete']);
  for (const e of events) {
    assert.equal(e.actorType, 'api_key');
    assert.equal(e.actorLabel, 'test');
    assert.equal(e.institutionId, inst.id);
    assert.equal(e.entityLabel, 'aud01');
    assert.ok(e.occurredAt instanceof Date);
  }
  const [created, updated, deleted] = events;
  assert.equal(created!.changes.primaryId!.after, 'aud01');
  assert.equal(created!.changes.primaryId!.before, null);
  assert.deepEqual(Object.keys(updated!.changes).sort(), ['lastName', 'userGroup']);
  assert.deepEqual(updated!.changes.lastName, { before: 'Lovelace', after: 'Byron' });
  assert.deepEqual(updated!.changes.userGroup, { before: 'COMMUNITY', after: 'ALUMNI' });
  assert.equal(deleted!.changes.primaryId!.after, null);
  assert.equal((deleted!.changes.identifiers!.before as { value: string }[])[0]!.value, 'A-1');
});

test('an update that changes nothing records an event with no changes', async () => {
  const inst = await ctx.institution();
  const api = client(ctx.server, inst.key);
  const body = (await api.post('/users', jsonUser('aud02'))).json();
  await api.put('/users/aud02', body);
  const user = await ctx.app.services.users.get({ kind: 'system', label: 't' }, inst.id, 'aud02');
  const [latest] = await listAuditEventsForEntity(ctx.app.db, user.id);
  assert.equal(latest!.action, 'user.update');
  assert.deepEqual(latest!.changes, {});
});
