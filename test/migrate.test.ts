// Migrations: applied once, in order, refused when an applied file was edited afterwards.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { migrate } from '../src/db/migrate.js';
import { createTestDb } from './helpers/db.js';
import { PREVIOUS_CHECKSUMS, PREVIOUS_RELEASE } from './helpers/upgrade.js';

const MIGRATIONS = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

test('migrations apply once and refuse an edited file', async () => {
  const { db, drop } = await createTestDb({ migrate: false });
  const dir = `${mkdtempSync(join(tmpdir(), 'carrel-mig-'))}/`;
  try {
    cpSync(MIGRATIONS, dir, { recursive: true });
    const first = await migrate(db, dir);
    assert.ok(first.applied.includes('0001_core.sql'));
    assert.deepEqual((await migrate(db, dir)).applied, []);
    const tables = await db.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    for (const t of ['app_user', 'user_identifier', 'user_role', 'audit_event', 'api_key', 'institution', 'network']) {
      assert.ok(tables.some((r) => r.t === t), t);
    }
    appendFileSync(`${dir}0001_core.sql`, '\n-- edited\n');
    await assert.rejects(migrate(db, dir), /was changed after it was applied/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await drop();
  }
});

test('a failing migration leaves nothing half-applied', async () => {
  const { db, drop } = await createTestDb({ migrate: false });
  const dir = `${mkdtempSync(join(tmpdir(), 'carrel-mig-'))}/`;
  try {
    cpSync(MIGRATIONS, dir, { recursive: true });
    await migrate(db, dir);
    appendFileSync(`${dir}9999_broken.sql`, 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
    await assert.rejects(migrate(db, dir));
    const exists = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done'");
    assert.equal(exists.length, 0);
    const recorded = await db.query("SELECT 1 FROM schema_migration WHERE name = '9999_broken.sql'");
    assert.equal(recorded.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await drop();
  }
});

test('migrations are forward only: the released files are unchanged, every new one sorts after them, none undoes', () => {
  const all = readdirSync(MIGRATIONS);
  const migrations = all.filter((f) => f.endsWith('.sql')).sort();
  assert.deepEqual(all.filter((f) => !f.endsWith('.sql')), [], 'nothing but migrations in the directory');
  for (const f of migrations) assert.match(f, /^\d{4}_[\w-]+\.sql$/, `${f}: migrate() would skip a file named otherwise`);
  for (const f of migrations) assert.doesNotMatch(f, /down|revert|rollback|undo/i, `${f}: a fix is a new forward migration`);
  const numbers = migrations.map((f) => f.slice(0, 4));
  assert.equal(new Set(numbers).size, numbers.length, 'one migration per number');
  // Databases of the previous release recorded these names and checksums; an edit would be refused there.
  assert.deepEqual(migrations.slice(0, PREVIOUS_RELEASE.length), [...PREVIOUS_RELEASE]);
  for (const f of PREVIOUS_RELEASE) {
    assert.equal(createHash('sha256').update(readFileSync(`${MIGRATIONS}${f}`, 'utf8')).digest('hex'), PREVIOUS_CHECKSUMS[f], `${f} was edited after its release`);
  }
});
