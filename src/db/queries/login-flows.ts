// SQL for identity.login_flow: a redirect method's state between start and callback. Rows are
// found by the SHA-256 of the flow id; taking one marks it used in the same statement, so a
// flow serves one callback however many arrive at once.
import type { Queryable, Row } from '../database.js';

export interface LoginFlowRow {
  institutionId: string;
  methodId: string;
  data: Record<string, string>;
  returnTo: string | null;
  expiresAt: Date;
}

export async function insertLoginFlow(
  db: Queryable,
  f: { idHash: Buffer; institutionId: string; methodId: string; data: Record<string, string>; returnTo: string | null; now: Date; expiresAt: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO identity.login_flow (id_hash, institution_id, method_id, data, return_to, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [f.idHash, f.institutionId, f.methodId, JSON.stringify(f.data), f.returnTo, f.now, f.expiresAt],
  );
}

/** The live, unused flow with this hash, marked used: undefined when unknown, used or expired. */
export async function takeLoginFlow(db: Queryable, idHash: Buffer, now: Date): Promise<LoginFlowRow | undefined> {
  const r = await db.maybeOne<Row>(
    `UPDATE identity.login_flow SET used_at = $2
     WHERE id_hash = $1 AND used_at IS NULL AND expires_at > $2
     RETURNING institution_id, method_id, data, return_to, expires_at`,
    [idHash, now],
  );
  return (
    r && {
      institutionId: r.institution_id as string,
      methodId: r.method_id as string,
      data: (r.data as Record<string, string>) ?? {},
      returnTo: (r.return_to as string | null) ?? null,
      expiresAt: r.expires_at as Date,
    }
  );
}

export async function pruneLoginFlows(db: Queryable, before: Date): Promise<void> {
  await db.query('DELETE FROM identity.login_flow WHERE expires_at < $1', [before]);
}
