// SQL for identity.account_toggle: the external id an EXTERNAL user had before staff toggled it
// to INTERNAL, so that toggling back restores it.
import type { Queryable } from '../database.js';

/** A toggle by hand: the row no longer belongs to any outage job (its job_id, migration 0009, is cleared). */
export async function rememberExternalId(db: Queryable, userId: string, institutionId: string, externalId: string, now: Date): Promise<void> {
  await db.query(
    `INSERT INTO identity.account_toggle (user_id, institution_id, previous_external_id, toggled_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id) DO UPDATE SET previous_external_id = EXCLUDED.previous_external_id, toggled_at = EXCLUDED.toggled_at, job_id = NULL`,
    [userId, institutionId, externalId, now],
  );
}

export async function findPreviousExternalId(db: Queryable, userId: string): Promise<string | undefined> {
  const r = await db.maybeOne<{ previous_external_id: string }>(
    'SELECT previous_external_id FROM identity.account_toggle WHERE user_id = $1',
    [userId],
  );
  return r?.previous_external_id;
}

export async function forgetExternalId(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM identity.account_toggle WHERE user_id = $1', [userId]);
}
