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
