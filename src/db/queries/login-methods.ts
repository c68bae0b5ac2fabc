// SQL for login_method. config is returned whole (secrets included): only the domain's service
// reads it, and it hides secrets before anything leaves.
import type { Queryable, Row } from '../database.js';
import type { JitProvisioning, LoginMethod, LoginMethodType } from '../../model/login-method.js';

export type LoginMethodFields = Omit<LoginMethod, 'id' | 'institutionId' | 'createdAt' | 'updatedAt'>;

const toMethod = (r: Row): LoginMethod => ({
  id: r.id as string,
  institutionId: r.institution_id as string,
  code: r.code as string,
  type: r.type as LoginMethodType,
  label: r.label as string,
  match: r.match as string,
  config: (r.config as Record<string, unknown>) ?? {},
  jit: (r.jit as JitProvisioning | null) ?? null,
  enabled: r.enabled as boolean,
  position: r.position as number,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

const values = (m: LoginMethodFields) => [
  m.code, m.type, m.label, m.match, JSON.stringify(m.config), m.jit === null ? null : JSON.stringify(m.jit), m.enabled, m.position,
];

export async function insertLoginMethod(db: Queryable, institutionId: string, m: LoginMethodFields): Promise<LoginMethod> {
  return toMethod(
    await db.one(
      `INSERT INTO login_method (institution_id, code, type, label, match, config, jit, enabled, position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
      [institutionId, ...values(m)],
    ),
  );
}

export async function updateLoginMethod(db: Queryable, id: string, m: LoginMethodFields): Promise<LoginMethod> {
  return toMethod(
    await db.one(
      `UPDATE login_method SET code = $2, type = $3, label = $4, match = $5, config = $6, jit = $7, enabled = $8,
         position = $9, updated_at = now() WHERE id = $1 RETURNING *`,
      [id, ...values(m)],
    ),
  );
}

export async function deleteLoginMethod(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM login_method WHERE id = $1', [id]);
}

export async function findLoginMethodByCode(db: Queryable, institutionId: string, code: string): Promise<LoginMethod | undefined> {
  const r = await db.maybeOne('SELECT * FROM login_method WHERE institution_id = $1 AND lower(code) = lower($2)', [institutionId, code]);
  return r && toMethod(r);
}

export async function findLoginMethodById(db: Queryable, id: string): Promise<LoginMethod | undefined> {
  const r = await db.maybeOne('SELECT * FROM login_method WHERE id = $1', [id]);
  return r && toMethod(r);
}

/** In login-page order. */
export async function listLoginMethods(db: Queryable, institutionId: string): Promise<LoginMethod[]> {
  return (await db.query('SELECT * FROM login_method WHERE institution_id = $1 ORDER BY position, lower(code)', [institutionId])).map(toMethod);
}
