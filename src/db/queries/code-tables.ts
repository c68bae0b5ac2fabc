// SQL for code_table_value and the global role_type catalogue.
import type { Queryable } from '../database.js';
import type { CodeValueSeed } from '../../model/code-tables.js';

export interface CodeValueRow {
  table_name: string;
  code: string;
  description: string;
  attributes: Record<string, unknown>;
  enabled: boolean;
}

export async function insertCodeValues(
  db: Queryable,
  institutionId: string,
  tables: Record<string, CodeValueSeed[]>,
): Promise<void> {
  const rows = Object.entries(tables).flatMap(([table, values]) =>
    values.map((v, position) => ({ table, code: v.code, description: v.description, attributes: v.attributes ?? {}, position })),
  );
  await db.query(
    `INSERT INTO code_table_value (institution_id, table_name, code, description, attributes, position)
     SELECT $1, x."table", x.code, x.description, x.attributes, x.position
     FROM json_to_recordset($2::json) AS x("table" text, code text, description text, attributes jsonb, position int)
     ON CONFLICT (institution_id, table_name, code)
       DO UPDATE SET description = EXCLUDED.description, attributes = EXCLUDED.attributes`,
    [institutionId, JSON.stringify(rows)],
  );
}

export async function listCodeValues(db: Queryable, institutionId: string): Promise<CodeValueRow[]> {
  return db.query<CodeValueRow & Record<string, unknown>>(
    `SELECT table_name, code, description, attributes, enabled FROM code_table_value
     WHERE institution_id = $1 ORDER BY table_name, position, code`,
    [institutionId],
  );
}

export interface RoleTypeRow {
  code: string;
  name: string;
  named_user: boolean;
}

export async function listRoleTypes(db: Queryable): Promise<RoleTypeRow[]> {
  return db.query<RoleTypeRow & Record<string, unknown>>(
    'SELECT code, name, named_user FROM role_type ORDER BY length(code), code',
  );
}

/** Serializes changes to one institution's code table (two PUTs at once: the later one wins whole). */
export async function lockCodeTable(tx: Queryable, institutionId: string, table: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`code_table:${institutionId}:${table}`]);
}

export interface CodeValueWrite {
  code: string;
  description: string;
  attributes: Record<string, unknown>;
  enabled: boolean;
}

/**
 * Makes the table hold exactly these rows, in this order. Only rows that change are written, so
 * the document-generation trigger (migration 0006) moves only when something shown changed.
 */
export async function replaceCodeValues(tx: Queryable, institutionId: string, table: string, rows: CodeValueWrite[]): Promise<void> {
  const json = JSON.stringify(rows.map((r, position) => ({ ...r, position })));
  await tx.query(
    `DELETE FROM code_table_value c WHERE c.institution_id = $1 AND c.table_name = $2
       AND NOT EXISTS (SELECT 1 FROM json_to_recordset($3::json) AS x(code text) WHERE x.code = c.code)`,
    [institutionId, table, json],
  );
  await tx.query(
    `INSERT INTO code_table_value AS c (institution_id, table_name, code, description, attributes, position, enabled)
     SELECT $1, $2, x.code, x.description, x.attributes, x.position, x.enabled
     FROM json_to_recordset($3::json) AS x(code text, description text, attributes jsonb, position int, enabled boolean)
     ON CONFLICT (institution_id, table_name, code) DO UPDATE
       SET description = EXCLUDED.description, attributes = EXCLUDED.attributes, position = EXCLUDED.position, enabled = EXCLUDED.enabled
       WHERE (c.description, c.attributes, c.position, c.enabled) IS DISTINCT FROM
             (EXCLUDED.description, EXCLUDED.attributes, EXCLUDED.position, EXCLUDED.enabled)`,
    [institutionId, table, json],
  );
}

// Where each table's codes are held on a user: (user id, code) pairs of the institution $1.
// Segments are JSONB (src/model/user.ts shapes), so a few of these read every user of the
// institution; a code table changes rarely and only removals ask.
const SCALAR = (column: string) => `SELECT u.id, u.${column} AS code FROM app_user u WHERE u.institution_id = $1`;
const SEGMENT = (column: string, member: string) =>
  `SELECT u.id, s->>'${member}' AS code FROM app_user u, jsonb_array_elements(u.${column}) s WHERE u.institution_id = $1`;
const CONTACT_TYPES = (list: string) =>
  `SELECT u.id, t AS code FROM app_user u, jsonb_array_elements(u.contact_info->'${list}') s, jsonb_array_elements_text(s->'types') t
   WHERE u.institution_id = $1`;
const HELD_BY: Record<string, string> = {
  UserGroups: SCALAR('user_group'),
  UserTitles: SCALAR('user_title'),
  JobTitles: SCALAR('job_category'),
  Genders: SCALAR('gender'),
  CampusList: SCALAR('campus_code'),
  CatalogerLevel: SCALAR('cataloger_level'),
  UserPreferredLanguage: SCALAR('preferred_language'),
  UserIdentifierTypes: 'SELECT i.user_id AS id, i.id_type AS code FROM user_identifier i WHERE i.institution_id = $1',
  Libraries: `SELECT r.user_id AS id, r.scope AS code FROM user_role r WHERE r.institution_id = $1
    UNION ALL SELECT u.id, l AS code FROM app_user u, jsonb_array_elements_text(u.rs_libraries) l WHERE u.institution_id = $1`,
  RoleParameterTypes: `SELECT r.user_id AS id, p->>'type' AS code FROM user_role r, jsonb_array_elements(r.parameters) p WHERE r.institution_id = $1`,
  CirculationDesks: `SELECT r.user_id AS id, p->>'value' AS code FROM user_role r, jsonb_array_elements(r.parameters) p
    WHERE r.institution_id = $1 AND p->>'type' = 'CirculationDesk'`,
  UserStatCategories: SEGMENT('statistics', 'statisticCategory'),
  NoteTypes: SEGMENT('notes', 'noteType'),
  UserBlockTypes: SEGMENT('blocks', 'blockType'),
  UserBlockDescription: SEGMENT('blocks', 'blockDescription'),
  LibraryNoticesOptInDisplay: SEGMENT('library_notices', 'code'),
  CountryCodes: `SELECT u.id, s->>'country' AS code FROM app_user u, jsonb_array_elements(u.contact_info->'addresses') s WHERE u.institution_id = $1`,
  UserAddressTypes: CONTACT_TYPES('addresses'),
  UserEmailTypes: CONTACT_TYPES('emails'),
  UserPhoneTypes: CONTACT_TYPES('phones'),
};

/** How many users of the institution hold each of these codes (case-insensitive), by lower-cased code. */
export async function countCodeHolders(db: Queryable, institutionId: string, table: string, codes: string[]): Promise<Map<string, number>> {
  const held = HELD_BY[table];
  if (!held || !codes.length) return new Map();
  const rows = await db.query<{ code: string; n: number }>(
    `SELECT lower(h.code) AS code, count(DISTINCT h.id)::int AS n FROM (${held}) h
     WHERE lower(h.code) = ANY($2::text[]) GROUP BY lower(h.code)`,
    [institutionId, codes.map((c) => c.toLowerCase())],
  );
  return new Map(rows.map((r) => [r.code, r.n]));
}
