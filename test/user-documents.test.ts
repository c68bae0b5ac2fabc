// Issue 8: GET /almaws/v1/users/{id} serves each user's Alma JSON and XML stored ready-made
// (migration 0006, src/domain/users/user-documents.ts). The stored text must be what rendering
// gives, byte for byte, after every kind of write: API create, update and delete, an SIS load,
// the account-type toggle, restoring manual edits, and a code-table description change (through
// the service and behind its back, as psql would).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findUserById } from '../src/db/queries/users.js';
import { storeUserDocument } from '../src/db/queries/user-documents.js';
import { almaJsonToUserInput } from '../src/alma/user-json.js';
import { renderUserDocument } from '../src/domain/users/user-documents.js';
import { createTestContext, type TestContext } from './helpers/app.js';
import { almaError, client, jsonUser } from './helpers/alma.js';
import { campusUser, jsonlOf, primaryIdOf, univId, barcode, type AlmaJsonUser } from './helpers/campus-file.js';
import { CHEAP_ARGON2, v1 } from './helpers/identity.js';
import { api, runQueue, staffActor } from './helpers/sis.js';

const BASE = 'http://carrel.test';
let ctx: TestContext;
let inst: Awaited<ReturnType<TestContext['institution']>>;
let alma: ReturnType<typeof client>;

before(async () => {
  ctx = await createTestContext({ config: CHEAP_ARGON2 });
  inst = await ctx.institution();
  alma = client(ctx.server, inst.key);
});
after(() => ctx.close());

interface DocRow {
  user_id: string;
  version: number;
  json: string;
  xml: string;
}

const storedDoc = (userId: string) => ctx.app.db.maybeOne<DocRow & Record<string, unknown>>('SELECT * FROM user_document WHERE user_id = $1', [userId]);
const userIdOf = async (primaryId: string) =>
  (await ctx.app.db.one<{ id: string }>('SELECT id FROM app_user WHERE institution_id = $1 AND lower(primary_id) = lower($2)', [inst.id, primaryId])).id;

/** What rendering gives now, from the stored user and the code tables as the database has them. */
async function freshRender(userId: string) {
  ctx.app.services.codeTables.invalidate(inst.id);
  const user = (await findUserById(ctx.app.db, userId))!;
  return { user, ...renderUserDocument(user, await ctx.app.services.codeTables.forInstitution(inst.id), BASE) };
}

/** A stored document is never other than a fresh render; after a GET in each format it is there. */
async function assertCurrent(primaryId: string, by = primaryId) {
  const userId = await userIdOf(primaryId);
  const before = await storedDoc(userId);
  const fresh = await freshRender(userId);
  if (before && before.version === fresh.user.version) {
    // Left in place by the write only if it still shows the user (e.g. stale generation is fine: not served).
    const generation = (await ctx.app.db.one<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [inst.id])).g;
    if (String(before.document_generation) === generation && before.base_url === BASE) assert.equal(before.json, fresh.json, 'a current stored document shows the user');
  }
  assert.ok(!before || before.version <= fresh.user.version);
  for (const [accept, body] of [['application/json', fresh.json], ['application/xml', fresh.xml]] as const) {
    for (let i = 0; i < 2; i++) {
      // The first GET may render and store, the second is served from the store: both the same.
      const res = await alma.get(`/users/${encodeURIComponent(by)}`, { accept });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.body, body, `${accept}, request ${i + 1}`);
      assert.equal(res.headers.etag, `"${fresh.user.version}"`);
      assert.match(String(res.headers['content-type']), accept === 'application/json' ? /^application\/json/ : /^application\/xml/);
    }
    // The rendering path the read model replaced (a typed lookup still renders) agrees byte for byte.
    const slow = await alma.get(`/users/${encodeURIComponent(primaryId)}?user_id_type=primary_id`, { accept });
    assert.equal(slow.body, body);
  }
  const after = await storedDoc(userId);
  assert.ok(after, 'the document is stored after a read');
  assert.equal(after.json, fresh.json);
  assert.equal(after.xml, fresh.xml);
  assert.equal(after.version, fresh.user.version);
  return fresh;
}

describe('the stored document is what rendering gives, after every kind of write', () => {
  test('API create, update (PUT) and delete', async () => {
    const created = await alma.post('/users', jsonUser('doc-api-1', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'DOCBC01' }] }));
    assert.equal(created.statusCode, 200, created.body);
    await assertCurrent('doc-api-1');
    await assertCurrent('doc-api-1', 'docbc01');

    const body = { ...JSON.parse((await alma.get('/users/doc-api-1')).body), first_name: 'Augusta' };
    assert.equal((await alma.put('/users/doc-api-1', body)).statusCode, 200);
    const fresh = await assertCurrent('doc-api-1', 'DOCBC01');
    assert.match(fresh.json, /"first_name":"Augusta"/);

    // The barcode changes: the old value no longer finds the user, the new one does.
    const renamed = { ...body, user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'DOCBC02' }] };
    assert.equal((await alma.put('/users/doc-api-1', renamed)).statusCode, 200);
    assert.equal(almaError(await alma.get('/users/DOCBC01')).code, '401861');
    await assertCurrent('doc-api-1', 'DOCBC02');

    const userId = await userIdOf('doc-api-1');
    assert.equal((await alma.delete('/users/doc-api-1')).statusCode, 204);
    assert.equal(await storedDoc(userId), undefined, 'the document goes with the user');
    assert.equal(almaError(await alma.get('/users/doc-api-1')).code, '401861');
    assert.equal(almaError(await alma.get('/users/DOCBC02')).code, '401861');
  });

  test('an SIS load (create, then update) and restoring manual edits', async () => {
    const sis = api(ctx.server, inst.key);
    assert.equal((await sis.createProfile({ code: 'DOCS', match_by: 'UNIV_ID', mode: 'synchronize', format: 'jsonl' })).status, 201);
    const load = async (users: AlmaJsonUser[]) => {
      const up = await sis.upload('DOCS', jsonlOf(users), 'application/x-ndjson');
      assert.equal(up.status, 202, JSON.stringify(up.body));
      await runQueue(ctx.app);
      assert.equal((await sis.job(up.body.id)).status, 'succeeded');
    };
    const users = [1, 2, 3].map((i) => campusUser(i, { externalId: 'DOCS' }));
    await load(users);
    for (const i of [1, 2, 3]) await assertCurrent(primaryIdOf(i), barcode(i));

    await load([1, 2, 3].map((i) => campusUser(i, { externalId: 'DOCS', variant: 1 })));
    for (const i of [1, 2, 3]) {
      const fresh = await assertCurrent(primaryIdOf(i), univId(i));
      assert.match(fresh.json, /-1"/, 'the load changed the last name');
    }

    // Staff change a protected field by hand (manual edit), then hand it back to the feed.
    const current = JSON.parse((await alma.get(`/users/${primaryIdOf(1)}`)).body);
    await ctx.app.services.users.replace(staffActor(inst.id), inst.id, primaryIdOf(1), almaJsonToUserInput({ ...current, user_group: { value: 'STAFF' } }));
    const edited = await assertCurrent(primaryIdOf(1));
    assert.deepEqual(edited.user.manualEdits, ['userGroup']);
    const restored = await sis.json('POST', `/users/${primaryIdOf(1)}/manual-edits/restore`, { fields: ['user_group'] });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    const after = await assertCurrent(primaryIdOf(1));
    assert.equal(after.user.version, edited.user.version + 1, 'the restore is a new version: a new ETag');
  });

  test('the account-type toggle', async () => {
    assert.equal((await alma.post('/users', jsonUser('doc-toggle', { account_type: { value: 'EXTERNAL' }, external_id: 'SIS' }))).statusCode, 200);
    await assertCurrent('doc-toggle');
    const res = await v1(ctx.server, inst.key).post('/users/doc-toggle/account-type', { account_type: 'INTERNAL', password: 'Temporary Pass 4711' });
    assert.equal(res.statusCode, 200, res.body);
    const fresh = await assertCurrent('doc-toggle');
    assert.match(fresh.json, /"account_type":\{"value":"INTERNAL"/);
  });

  test('a code-table description change shows at once, through the service or behind its back', async () => {
    assert.equal((await alma.post('/users', jsonUser('doc-codes'))).statusCode, 200);
    await assertCurrent('doc-codes');
    await ctx.app.services.institutions.addCodeValues(inst.code, { UserGroups: [{ code: 'COMMUNITY', description: 'Town readers' }] });
    assert.match((await assertCurrent('doc-codes')).json, /"user_group":\{"value":"COMMUNITY","desc":"Town readers"\}/);

    // As psql would: no cache in this process hears of it, the generation does.
    await ctx.app.db.query("UPDATE code_table_value SET description = 'Neighbours' WHERE institution_id = $1 AND table_name = 'UserGroups' AND code = 'COMMUNITY'", [inst.id]);
    const res = await alma.get('/users/doc-codes');
    assert.match(res.body, /"desc":"Neighbours"/);
    assert.match((await assertCurrent('doc-codes')).json, /"desc":"Neighbours"/);

    // The institution's name is in role scopes: renaming it moves the generation too.
    const before = (await ctx.app.db.one<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [inst.id])).g;
    await ctx.app.db.query("UPDATE institution SET name = 'Renamed University' WHERE id = $1", [inst.id]);
    const afterRename = (await ctx.app.db.one<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [inst.id])).g;
    assert.equal(Number(afterRename), Number(before) + 1);
    await ctx.app.db.query('UPDATE institution SET settings = settings WHERE id = $1', [inst.id]);
    const afterSettings = (await ctx.app.db.one<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [inst.id])).g;
    assert.equal(afterSettings, afterRename, 'settings are not in documents');
  });
});

describe('the store keeps no stale or foreign document', () => {
  test('a document rendered from a version that has moved on is not stored', async () => {
    assert.equal((await alma.post('/users', jsonUser('doc-race'))).statusCode, 200);
    const userId = await userIdOf('doc-race');
    const old = await freshRender(userId);
    const body = { ...JSON.parse((await alma.get('/users/doc-race')).body), last_name: 'Newer' };
    assert.equal((await alma.put('/users/doc-race', body)).statusCode, 200);
    assert.equal(await storedDoc(userId), undefined);
    // A reader that read the user before the PUT tries to store what it rendered: refused.
    await storeUserDocument(ctx.app.db, { userId, institutionId: inst.id, version: old.user.version, generation: 1e9, baseUrl: BASE, json: old.json, xml: old.xml });
    assert.equal(await storedDoc(userId), undefined);
    await assertCurrent('doc-race');
  });

  test('a read does not wait for a writer holding the user, and stores nothing while it does', async (t) => {
    if (ctx.app.db.engine === 'pglite') return t.skip('one connection: a transaction holds the whole database');
    assert.equal((await alma.post('/users', jsonUser('doc-locked'))).statusCode, 200);
    const userId = await userIdOf('doc-locked');
    let release!: () => void;
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const writer = ctx.app.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM app_user WHERE id = $1 FOR UPDATE', [userId]);
      locked();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await holding;
    try {
      const res = await alma.get('/users/doc-locked');
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.body, /"primary_id":"doc-locked"/);
      assert.equal(await storedDoc(userId), undefined, 'nothing stored under a writer');
    } finally {
      release();
      await writer;
    }
    await assertCurrent('doc-locked');
  });

  test('another link base renders again; another institution never sees the document', async () => {
    assert.equal((await alma.post('/users', jsonUser('doc-base', { user_identifier: [{ id_type: { value: 'BARCODE' }, value: 'DOCBASE1' }] }))).statusCode, 200);
    await assertCurrent('doc-base');
    const actor = { kind: 'apiKey' as const, id: 'k', institutionId: inst.id, readOnly: true, label: 'test' };
    const other = await ctx.app.services.userDocuments.read(actor, inst.id, 'doc-base', 'json', 'https://proxy.example.org');
    assert.match(other.body, /"link":"https:\/\/proxy\.example\.org\/almaws\/v1\/users\/doc-base"/);
    await assertCurrent('doc-base');

    const stranger = await ctx.institution();
    const res = await client(ctx.server, stranger.key).get('/users/DOCBASE1');
    assert.equal(almaError(res).code, '401861');
  });
});
