// Seeds the benchmark institution with N users, fast and deterministically.
// The institution, its code tables and the API key come from Carrel's own services. Users are
// validated by Carrel's validateUser and then bulk-inserted with SQL, 5,000 per statement: the
// seed is not what is measured (the SIS importer is benchmarked on its own). verifyBulkRows
// checks that a bulk row is exactly what POST /users would have written.
// Carrel is loaded from its build (dist/), the same code the benchmark then serves, so a
// half-edited src/ cannot break a run.
//
//   npm run build && node --import tsx bench/seed.ts --engine postgres --users 100000
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { App } from '../src/app.js';
import type { Queryable } from '../src/db/database.js';
import type { Actor } from '../src/domain/access/actor.js';
import type { UserInput, UserRecordFields } from '../src/model/user.js';
import { personOf } from './people.js';

/** The parts of a built Carrel the seed uses. */
export interface Carrel {
  createApp: (typeof import('../src/app.js'))['createApp'];
  loadConfig: (typeof import('../src/config.js'))['loadConfig'];
  SCALAR_FIELDS: (typeof import('../src/model/user.js'))['SCALAR_FIELDS'];
  validateUser: (typeof import('../src/domain/users/validate-user.js'))['validateUser'];
}

/** Loads Carrel from `root`/dist (run `npm run build` there first). */
export async function loadCarrel(root: string): Promise<Carrel> {
  const dist = (path: string) => pathToFileURL(join(root, 'dist', 'src', path)).href;
  if (!existsSync(join(root, 'dist', 'src', 'app.js'))) throw new Error(`no build in ${root}/dist: run npm run build`);
  const [app, config, user, validate] = await Promise.all([
    import(dist('app.js')) as Promise<typeof import('../src/app.js')>,
    import(dist('config.js')) as Promise<typeof import('../src/config.js')>,
    import(dist('model/user.js')) as Promise<typeof import('../src/model/user.js')>,
    import(dist('domain/users/validate-user.js')) as Promise<typeof import('../src/domain/users/validate-user.js')>,
  ]);
  return { createApp: app.createApp, loadConfig: config.loadConfig, SCALAR_FIELDS: user.SCALAR_FIELDS, validateUser: validate.validateUser };
}

export const INSTITUTION_CODE = 'BENCH';
const SEED_VERSION = 2;
const BATCH = 5000;
const SYSTEM: Actor = { kind: 'system', label: 'bench seed' };

export type Engine = 'postgres' | 'pglite';

export interface Target {
  engine: Engine;
  /** PostgreSQL: a database whose name starts with carrel_bench (it may be dropped and recreated). */
  databaseUrl?: string;
  /** PGlite: Carrel's CARREL_DATA_DIR (the database itself is in <dataDir>/pg). */
  dataDir?: string;
}

export interface Seeded {
  institutionId: string;
  apiKey: string;
  users: number;
  /** False when the database already held this seed and was reused. */
  created: boolean;
  seconds: number;
}

const institutionName = (users: number) => `Bench University (seed v${SEED_VERSION}, ${users} users)`;

export function openBenchApp(carrel: Carrel, target: Target): Promise<App> {
  const config = carrel.loadConfig({}, {
    logLevel: 'warn',
    ...(target.engine === 'postgres' ? { databaseUrl: target.databaseUrl } : { dataDir: target.dataDir, databaseUrl: undefined }),
  });
  return carrel.createApp(config);
}

function benchDatabaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  // This database is dropped at will: never let a typo point that at someone else's.
  if (!/^carrel_bench\w*$/.test(name)) throw new Error(`refusing to seed ${name}: the bench database must be named carrel_bench*`);
  return name;
}

async function resetPostgres(url: string, drop: boolean): Promise<void> {
  const name = benchDatabaseName(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (drop) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!exists.rowCount) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** The app_user columns a record is stored in, with the type json_to_recordset reads them as. */
const userColumns = (carrel: Carrel): [string, string][] => [
  ['id', 'uuid'],
  ...carrel.SCALAR_FIELDS.map((f): [string, string] => [f.column, f.kind === 'date' ? 'date' : f.kind === 'boolean' ? 'boolean' : 'text']),
  ['contact_info', 'jsonb'], ['notes', 'jsonb'], ['blocks', 'jsonb'], ['statistics', 'jsonb'],
  ['rs_libraries', 'jsonb'], ['library_notices', 'jsonb'],
];

/** Inserts validated records the way user-batches.ts: insertUsers would, one statement per table for the whole batch. */
export async function insertBulk(carrel: Carrel, db: Queryable, institutionId: string, batch: { id: string; record: UserRecordFields }[]) {
  const USER_COLUMNS = userColumns(carrel);
  const users = batch.map(({ id, record }) => {
    const row: Record<string, unknown> = {
      id,
      contact_info: record.contactInfo,
      notes: record.notes,
      blocks: record.blocks,
      statistics: record.statistics,
      rs_libraries: record.rsLibraries,
      library_notices: record.libraryNotices,
    };
    for (const f of carrel.SCALAR_FIELDS) row[f.column] = record[f.key];
    return row;
  });
  const cols = USER_COLUMNS.map(([c]) => c).join(', ');
  await db.query(
    `INSERT INTO app_user (institution_id, ${cols})
     SELECT $1, ${USER_COLUMNS.map(([c]) => `x.${c}`).join(', ')}
     FROM json_to_recordset($2::json) AS x(${USER_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`,
    [institutionId, JSON.stringify(users)],
  );
  // The brief search's narrow copy, as user-batches.ts: insertUsers writes it with the user.
  await db.query(
    `INSERT INTO user_search (user_id, institution_id, primary_id, first_name, last_name, email)
     SELECT id, institution_id, lower(primary_id), lower(first_name), lower(last_name), email_search FROM app_user WHERE id = ANY($1::uuid[])`,
    [batch.map((b) => b.id)],
  );
  const identifiers = batch.flatMap(({ id, record }) =>
    record.identifiers.map((i, position) => ({ user_id: id, position, id_type: i.idType, value: i.value, note: i.note, status: i.status, segment_type: i.segmentType })),
  );
  await db.query(
    `INSERT INTO user_identifier (user_id, institution_id, position, id_type, value, note, status, segment_type)
     SELECT x.user_id, $1, x.position, x.id_type, x.value, x.note, x.status, x.segment_type
     FROM json_to_recordset($2::json) AS x(user_id uuid, position int, id_type text, value text, note text, status text, segment_type text)`,
    [institutionId, JSON.stringify(identifiers)],
  );
  const roles = batch.flatMap(({ id, record }) =>
    record.roles.map((r, position) => ({ user_id: id, position, role_type: r.roleType, scope: r.scope, status: r.status, expiry_date: r.expiryDate, parameters: r.parameters })),
  );
  await db.query(
    `INSERT INTO user_role (user_id, institution_id, position, role_type, scope, status, expiry_date, parameters)
     SELECT x.user_id, $1, x.position, x.role_type, x.scope, x.status, x.expiry_date, x.parameters
     FROM json_to_recordset($2::json) AS x(user_id uuid, position int, role_type text, scope text, status text, expiry_date date, parameters jsonb)`,
    [institutionId, JSON.stringify(roles)],
  );
}

const ROW_SNAPSHOT = `SELECT to_jsonb(u) - 'id' - 'created_at' - 'updated_at' AS user_row,
    (SELECT jsonb_agg(to_jsonb(i) - 'id' ORDER BY i.position) FROM user_identifier i WHERE i.user_id = u.id) AS identifier_rows,
    (SELECT jsonb_agg(to_jsonb(r) - 'id' ORDER BY r.position) FROM user_role r WHERE r.user_id = u.id) AS role_rows,
    (SELECT to_jsonb(s) FROM user_search s WHERE s.user_id = u.id) AS search_row
  FROM app_user u WHERE u.id = $1`;

/** What the create use case sets itself, whatever the client sent (verifyBulkRows notices drift). */
function asCreated(input: UserInput, today: string): UserInput {
  return { ...input, statusDate: today, linkingId: null, sourceInstitutionCode: null, sourceLinkId: null };
}

class Rollback extends Error {}

/**
 * User 1 was created through the service (POST /users' path). In a transaction that is rolled
 * back, replace it with the bulk path's rows for the same input and compare every column.
 */
async function verifyBulkRows(carrel: Carrel, app: App, institutionId: string, userId: string, record: UserRecordFields): Promise<void> {
  let diff: string | undefined;
  await app.db
    .transaction(async (tx) => {
      const viaService = await tx.one(ROW_SNAPSHOT, [userId]);
      await tx.query('DELETE FROM app_user WHERE id = $1', [userId]);
      await insertBulk(carrel, tx, institutionId, [{ id: userId, record }]);
      const viaBulk = await tx.one(ROW_SNAPSHOT, [userId]);
      const a = JSON.stringify(viaService);
      const b = JSON.stringify(viaBulk);
      if (a !== b) diff = `service: ${a}\nbulk:    ${b}`;
      throw new Rollback();
    })
    .catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
  if (diff) throw new Error(`bulk-loaded rows differ from the rows the service writes:\n${diff}`);
}

/**
 * On a reused database: does the API still write what the bulk load wrote? Creates one more user
 * through the service, compares, and removes it through the service again.
 */
async function seedStillMatches(carrel: Carrel, app: App, institutionId: string, users: number, log: (s: string) => void): Promise<boolean> {
  const institution = await app.services.institutions.byCode(INSTITUTION_CODE);
  const tables = await app.services.codeTables.forInstitution(institutionId);
  const probe = personOf(users + 1, INSTITUTION_CODE);
  const created = await app.services.users.create(SYSTEM, institutionId, probe.input);
  try {
    const today = new Date().toISOString().slice(0, 10);
    await verifyBulkRows(carrel, app, institutionId, created.id, carrel.validateUser({ institution, tables }, asCreated(probe.input, today)));
    return true;
  } catch (err) {
    log(`  the seeded rows no longer match what the API writes: ${String(err).split('\n')[0]}`);
    return false;
  } finally {
    await app.services.users.remove(SYSTEM, institutionId, created.primaryId);
  }
}

/**
 * PostgreSQL: the secondary (non-unique) indexes of the user tables, dropped for the bulk load and
 * built again after it. Maintaining four trigram GIN indexes row by row is most of a million-user
 * load; building each once over the whole table is a fraction of it. Unique indexes stay, so the
 * load is checked as the API would check it. Returns the statements that rebuild them.
 */
async function dropSecondaryIndexes(app: App): Promise<string[]> {
  const rows = await app.db.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid IN ('app_user'::regclass, 'user_identifier'::regclass, 'user_role'::regclass, 'user_search'::regclass)
        AND NOT i.indisunique AND NOT i.indisprimary`,
  );
  for (const r of rows) await app.db.exec(`DROP INDEX ${r.name}`);
  return rows.map((r) => r.def);
}

async function rebuildIndexes(app: App, defs: string[], log: (s: string) => void): Promise<void> {
  const started = Date.now();
  // One session, so the memory setting holds for every build (a pool would hand out others).
  await app.db.transaction(async (tx) => {
    await tx.query("SET LOCAL maintenance_work_mem = '512MB'");
    for (const def of defs) await tx.query(def);
  });
  log(`  rebuilt ${defs.length} secondary indexes (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function seedUsers(carrel: Carrel, app: App, institutionId: string, users: number, engine: Engine, log: (s: string) => void): Promise<void> {
  const institution = await app.services.institutions.byCode(INSTITUTION_CODE);
  const tables = await app.services.codeTables.forInstitution(institutionId);
  const today = new Date().toISOString().slice(0, 10);
  const first = personOf(1, INSTITUTION_CODE);
  const created = await app.services.users.create(SYSTEM, institutionId, first.input);
  const { validateUser } = carrel;
  await verifyBulkRows(carrel, app, institutionId, created.id, validateUser({ institution, tables }, asCreated(first.input, today)));
  log('  bulk rows verified identical to the service-written user 1');
  const indexDefs = engine === 'postgres' && users > 50_000 ? await dropSecondaryIndexes(app) : [];
  const started = Date.now();
  // Node validates and maps the next batch while PostgreSQL inserts the previous one: two cores,
  // both busy. At most one insert is in flight, so memory stays at two batches.
  let inFlight: Promise<void> = Promise.resolve();
  for (let from = 2; from <= users; from += BATCH) {
    const batch: { id: string; record: UserRecordFields }[] = [];
    for (let i = from; i < Math.min(from + BATCH, users + 1); i++) {
      const p = personOf(i, INSTITUTION_CODE);
      batch.push({ id: p.id, record: validateUser({ institution, tables }, asCreated(p.input, today)) });
    }
    await inFlight;
    const done = from + batch.length - 1;
    inFlight = app.db.transaction((tx) => insertBulk(carrel, tx, institutionId, batch)).then(() => {
      if (done === users || Math.floor(done / 50_000) !== Math.floor((from - 1) / 50_000)) {
        log(`  ${done} users (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
    });
  }
  await inFlight;
  if (indexDefs.length) await rebuildIndexes(app, indexDefs, log);
}

/** Seeds the target unless it already holds this seed at this size; returns a fresh API key. */
async function wipe(target: Target): Promise<void> {
  if (target.engine === 'postgres') await resetPostgres(target.databaseUrl!, true);
  else rmSync(join(target.dataDir!, 'pg'), { recursive: true, force: true });
}

/** What the database holds now, or undefined when Carrel cannot open it (e.g. a migration was edited). */
async function inspect(carrel: Carrel, target: Target, users: number, log: (s: string) => void) {
  let app: App;
  try {
    app = await openBenchApp(carrel, target);
  } catch (err) {
    log(`  cannot reuse the bench database: ${String(err).split('\n')[0]}`);
    return undefined;
  }
  const existing = await app.services.institutions.byCode(INSTITUTION_CODE).catch(() => undefined);
  const count = existing
    ? (await app.db.one<{ n: number }>('SELECT count(*)::int AS n FROM app_user WHERE institution_id = $1', [existing.id])).n
    : 0;
  const reusable =
    existing?.name === institutionName(users) && count === users && (await seedStillMatches(carrel, app, existing.id, users, log));
  return { app, existing, count, reusable };
}

/**
 * Seeds the target unless it already holds this seed at this size (or reseed is asked for);
 * returns a fresh API key.
 */
export async function ensureSeeded(
  carrel: Carrel,
  target: Target,
  users: number,
  log: (s: string) => void = console.log,
  opts: { reseed?: boolean } = {},
): Promise<Seeded> {
  const started = Date.now();
  if (target.engine === 'postgres') await resetPostgres(target.databaseUrl!, false);
  const found = opts.reseed ? undefined : await inspect(carrel, target, users, log);
  let app = found?.app;
  let institution = found?.existing;
  if (!found?.reusable) {
    const what = found?.existing ? `${found.count} users, ${found.existing.name}` : 'nothing usable';
    log(`seeding ${users} users on ${target.engine} (found ${what})`);
    await app?.close();
    await wipe(target);
    app = await openBenchApp(carrel, target);
    institution = await app.services.institutions.create({ code: INSTITUTION_CODE, name: institutionName(users) });
    await seedUsers(carrel, app, institution.id, users, target.engine, log);
    await app.db.exec('VACUUM ANALYZE');
  }
  try {
    await app!.services.apiKeys.revokeLabelled(institution!.id, 'bench');
    const { key } = await app!.services.apiKeys.create(institution!.id, { readOnly: false, label: 'bench' });
    return { institutionId: institution!.id, apiKey: key, users, created: !found?.reusable, seconds: (Date.now() - started) / 1000 };
  } finally {
    await app!.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string', default: 'postgres' },
      users: { type: 'string', default: '100000' },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/carrel_bench' },
      'data-dir': { type: 'string', default: join(process.cwd(), 'bench', 'data', 'pglite') },
      'carrel-root': { type: 'string', default: process.cwd() },
    },
  });
  const engine = values.engine === 'pglite' ? 'pglite' : 'postgres';
  const carrel = await loadCarrel(values['carrel-root']);
  const result = await ensureSeeded(carrel, { engine, databaseUrl: values['database-url'], dataDir: values['data-dir'] }, Number(values.users));
  console.log(`${result.created ? 'seeded' : 'reused'} ${result.users} users in ${result.seconds.toFixed(1)} s; API key: ${result.apiKey}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
