// Forward-only plain-SQL migrations: NNNN_name.sql, applied in order, each in its own transaction.
// A fix to an applied migration is a new migration; an edited one is refused by its checksum.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './database.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface MigrationResult {
  applied: string[];
}

export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Map(
    (await db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migration')).map((r) => [
      r.name,
      r.checksum,
    ]),
  );
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    const sql = readFileSync(dir + file, 'utf8');
    const checksum = createHash('sha256').update(sql).digest('hex');
    const seen = done.get(file);
    if (seen !== undefined) {
      if (seen !== checksum) throw new Error(`migration ${file} was changed after it was applied`);
      continue;
    }
    await db.transaction(async (tx) => {
      // Two servers starting together: the second waits here, then sees the row and skips.
      await tx.query('SELECT pg_advisory_xact_lock(7243001)');
      const again = await tx.maybeOne('SELECT 1 FROM schema_migration WHERE name = $1', [file]);
      if (again) return;
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migration (name, checksum) VALUES ($1, $2)', [file, checksum]);
      applied.push(file);
    });
  }
  return { applied };
}
