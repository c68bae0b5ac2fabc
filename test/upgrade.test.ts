// A database of the previous release upgrades in place. Its data (test/fixtures/previous-release/,
// written through that release's own API: users with identifiers and roles, a password, API key,
// integration profile, one SIS load done and one still queued) is loaded into a database at the
// previous release's migrations; then the current migrate() runs, and everything reads back through
// today's API as that release answered it. With no migration past the previous release yet, this
// proves the current set applies over it as a no-op; the next migration is tested here as it lands.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { buildServer } from '../src/http/server.js';
import { createTestDb, type TestDb } from './helpers/db.js';
import { CHEAP_ARGON2, opAuth } from './helpers/identity.js';
import { api, runQueue } from './helpers/sis.js';
import { PREVIOUS_CHECKSUMS, PREVIOUS_RELEASE, UPGRADE } from './helpers/upgrade.js';

const MIGRATIONS = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/previous-release/', import.meta.url));
const CURRENT = readdirSync(MIGRATIONS).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  apiKey: string;
  jobs: { completed: string; queued: string };
  completedJob: Record<string, unknown>;
  users: Record<string, Record<string, unknown>>;
};

let testDb: TestDb;
let app: App;
let server: FastifyInstance;
let upgradeApplied: string[];

before(async () => {
  testDb = await createTestDb({ migrate: false });
  const dir = `${mkdtempSync(join(tmpdir(), 'carrel-prev-'))}/`;
  try {
    for (const file of PREVIOUS_RELEASE) cpSync(join(MIGRATIONS, file), join(dir, file));
    assert.deepEqual((await migrate(testDb.db, dir)).applied, [...PREVIOUS_RELEASE]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await testDb.db.exec(readFileSync(join(FIXTURE, 'data.sql'), 'utf8'));
  // The upgrade, as `carrel migrate` (or the start of `carrel serve`) runs it.
  upgradeApplied = (await migrate(testDb.db)).applied;
  app = await createApp(loadConfig({}, { logLevel: 'silent', publicUrl: 'http://carrel.test', apiKeyCacheMs: 0, ...CHEAP_ARGON2 }), {
    db: testDb.db,
    migrate: false,
  });
  server = await buildServer(app, { logger: false });
  await server.ready();
});
after(async () => {
  await server?.close();
  await testDb?.drop();
});

const headers = () => ({ authorization: `apikey ${expected.apiKey}`, accept: 'application/json' });

test('the upgrade applies exactly the migrations after the previous release and keeps the checksums it recorded', async () => {
  assert.deepEqual(upgradeApplied, CURRENT.filter((f) => !(PREVIOUS_RELEASE as readonly string[]).includes(f)));
  const recorded = await testDb.db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migration ORDER BY name');
  assert.deepEqual(recorded.map((r) => r.name), CURRENT);
  for (const file of PREVIOUS_RELEASE) assert.equal(recorded.find((r) => r.name === file)?.checksum, PREVIOUS_CHECKSUMS[file], file);
  assert.deepEqual((await migrate(testDb.db)).applied, [], 'a second run has nothing to do');
});

test('the upgraded schema is the schema of a fresh install', async () => {
  const fresh = await createTestDb();
  try {
    assert.deepEqual(await schemaOf(testDb.db), await schemaOf(fresh.db));
  } finally {
    await fresh.drop();
  }
});

test('users read back as the previous release answered them, by primary id and by barcode, with the old API key', async () => {
  for (const [id, doc] of Object.entries(expected.users)) {
    const res = await server.inject({ method: 'GET', url: `/almaws/v1/users/${id}?format=json`, headers: headers() });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), doc, id);
  }
  const byBarcode = await server.inject({ method: 'GET', url: `/almaws/v1/users/${UPGRADE.barcode}?format=json`, headers: headers() });
  assert.deepEqual(byBarcode.json(), expected.users[UPGRADE.patron]);
  const staff = expected.users[UPGRADE.staff] as { user_role: { role_type: { value: string } }[] };
  assert.equal(staff.user_role[0]?.role_type.value, '50', 'the fixture holds a role');
});

test('the brief search finds the users written before the upgrade (migration 0006 filled user_search from them)', async () => {
  for (const [id, doc] of Object.entries(expected.users)) {
    const last = typeof doc.last_name === 'string' ? doc.last_name : '';
    for (const q of [`primary_id~${id}`, `ALL~${id}`, ...(last ? [`last_name~${last}`] : [])]) {
      const res = await server.inject({ method: 'GET', url: `/almaws/v1/users?q=${encodeURIComponent(q)}&limit=100&format=json`, headers: headers() });
      assert.equal(res.statusCode, 200, res.body);
      const found = ((res.json() as { user?: { primary_id: string }[] }).user ?? []).map((u) => u.primary_id);
      assert.ok(found.includes(id), `${q} finds ${id}: ${found.join(', ')}`);
    }
  }
});

test('the password set before the upgrade still authenticates with op=auth; a wrong one does not', async () => {
  assert.equal((await opAuth(server, expected.apiKey, UPGRADE.patron, UPGRADE.password)).statusCode, 204);
  assert.equal((await opAuth(server, expected.apiKey, UPGRADE.barcode, UPGRADE.password)).statusCode, 204);
  assert.equal((await opAuth(server, expected.apiKey, UPGRADE.patron, 'not the password')).statusCode, 400);
});

test('the integration profile and its jobs are still there; the load queued before the upgrade runs after it', async () => {
  const sis = api(server, expected.apiKey);
  const profile = await sis.json('GET', `/integration-profiles/${UPGRADE.profile}`);
  assert.equal(profile.status, 200, JSON.stringify(profile.body));
  assert.equal(profile.body.match_by, 'UNIV_ID');

  const listed = await sis.json('GET', '/jobs');
  assert.equal(listed.status, 200);
  const ids = (listed.body.job as { id: string }[]).map((j) => j.id);
  assert.ok(ids.includes(expected.jobs.completed) && ids.includes(expected.jobs.queued), JSON.stringify(ids));
  const done = await sis.job(expected.jobs.completed);
  for (const field of ['id', 'kind', 'status', 'file_name', 'sha256', 'total']) assert.deepEqual(done[field], expected.completedJob[field], field);
  assert.equal((await sis.job(expected.jobs.queued)).status, 'queued');

  await runQueue(app);
  const resumed = await sis.job(expected.jobs.queued);
  assert.equal(resumed.status, 'succeeded', JSON.stringify(resumed));
  const changed = (await sis.almaUser('stu0000003')) as { last_name: string } | undefined;
  assert.match(changed?.last_name ?? '', /-1$/, 'the queued file (variant 1) was applied');
  assert.ok(await sis.almaUser('stu0000004'), 'and created its new user');
});

/** Tables, columns (type, nullability, default), indexes and constraints of Carrel's schemas. */
async function schemaOf(db: Db) {
  const columns = await db.query(
    `SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default, is_generated, generation_expression
       FROM information_schema.columns WHERE table_schema IN ('public', 'identity') ORDER BY 1, 2, 3`,
  );
  const indexes = await db.query(`SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'identity') ORDER BY 1, 2, 3`);
  const constraints = await db.query(
    `SELECT n.nspname, c.conrelid::regclass::text AS rel, c.conname, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname IN ('public', 'identity') ORDER BY 1, 2, 3`,
  );
  return { columns, indexes, constraints };
}
