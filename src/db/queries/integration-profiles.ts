// SQL for integration_profile.
import type { Queryable, Row } from '../database.js';
import type { IntegrationProfile, ProfileFields } from '../../model/profile.js';

const toProfile = (r: Row): IntegrationProfile => ({
  id: r.id as string,
  institutionId: r.institution_id as string,
  code: r.code as string,
  name: r.name as string,
  recordType: r.record_type as IntegrationProfile['recordType'],
  matchBy: r.match_by as string,
  mode: r.mode as IntegrationProfile['mode'],
  format: r.format as IntegrationProfile['format'],
  csvMapping: (r.csv_mapping as IntegrationProfile['csvMapping']) ?? null,
  dropFolder: (r.drop_folder as string | null) ?? null,
  pollSeconds: r.poll_seconds as number,
  deactivateMissing: r.deactivate_missing as boolean,
  settings: (r.settings as IntegrationProfile['settings']) ?? {},
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

const values = (p: ProfileFields) => [
  p.code, p.name, p.recordType, p.matchBy, p.mode, p.format,
  p.csvMapping === null ? null : JSON.stringify(p.csvMapping), p.dropFolder, p.pollSeconds, p.deactivateMissing,
  JSON.stringify(p.settings),
];

export async function insertProfile(db: Queryable, institutionId: string, p: ProfileFields): Promise<IntegrationProfile> {
  return toProfile(
    await db.one(
      `INSERT INTO integration_profile (institution_id, code, name, record_type, match_by, mode, format, csv_mapping,
         drop_folder, poll_seconds, deactivate_missing, settings)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
      [institutionId, ...values(p)],
    ),
  );
}

export async function updateProfile(db: Queryable, id: string, p: ProfileFields): Promise<IntegrationProfile> {
  return toProfile(
    await db.one(
      `UPDATE integration_profile SET code = $2, name = $3, record_type = $4, match_by = $5, mode = $6, format = $7,
         csv_mapping = $8, drop_folder = $9, poll_seconds = $10, deactivate_missing = $11, settings = $12, updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, ...values(p)],
    ),
  );
}

export async function deleteProfile(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM integration_profile WHERE id = $1', [id]);
}

export async function findProfileByCode(db: Queryable, institutionId: string, code: string): Promise<IntegrationProfile | undefined> {
  const r = await db.maybeOne('SELECT * FROM integration_profile WHERE institution_id = $1 AND lower(code) = lower($2)', [institutionId, code]);
  return r && toProfile(r);
}

export async function findProfileById(db: Queryable, id: string): Promise<IntegrationProfile | undefined> {
  const r = await db.maybeOne('SELECT * FROM integration_profile WHERE id = $1', [id]);
  return r && toProfile(r);
}

export async function listProfiles(db: Queryable, institutionId: string): Promise<IntegrationProfile[]> {
  return (await db.query('SELECT * FROM integration_profile WHERE institution_id = $1 ORDER BY lower(code)', [institutionId])).map(toProfile);
}

/** Every profile with a drop folder, in every institution (the worker polls them). */
export async function listProfilesWithDropFolder(db: Queryable): Promise<IntegrationProfile[]> {
  return (await db.query('SELECT * FROM integration_profile WHERE drop_folder IS NOT NULL ORDER BY id')).map(toProfile);
}
