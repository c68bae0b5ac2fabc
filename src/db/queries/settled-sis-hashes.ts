// The stored record hashes an SIS re-synchronization reads before pass one (domain/sis/load.ts:
// knownOf, parse/known-records.ts): the users a load wrote that nobody changed since. A read of
// app_user and user_identifier for the SIS load alone; their writes are in user-batches.ts.
import type { Db, Row } from '../database.js';
import type { User } from '../../model/user.js';

/**
 * The record hashes of this institution's users that nobody changed since a load stored them
 * (version = sis_version), with each one's match value as stored and as PostgreSQL lower-cases
 * it (findMatchStates matches by that), and what skipMatched asks of a user; in the hashes' byte
 * order, sorted in memory (the default work_mem spilled 100,000 rows to disk). A user with two
 * identifiers of the type comes twice, with one hash. The join is planned without nested loops:
 * right after a bulk load the statistics describe a near-empty table, and the nested loop planned
 * from them scanned user_identifier once per user (100,000 users: 500 s); a hash join is linear.
 * The rows come `pageSize` at a time through a cursor, to `onPage`: a million users' rows at once
 * were about a gigabyte of objects.
 */
export interface SettledSisHash {
  hash: string;
  value: string;
  lowered: string;
  primaryId: string;
  accountType: User['accountType'];
  externalId: string | null;
}

export async function forEachSettledSisHashPage(
  db: Db,
  institutionId: string,
  matchBy: string,
  onPage: (rows: SettledSisHash[]) => void,
  pageSize = 20_000,
): Promise<void> {
  const byPrimaryId = matchBy === 'primary_id';
  const size = Math.max(1, Math.floor(pageSize));
  await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL work_mem = '64MB'`);
    await tx.query('SET LOCAL enable_nestloop = off');
    await tx.query(
      `DECLARE settled_sis_hashes NO SCROLL CURSOR FOR
       SELECT u.sis_hash AS hash, u.primary_id AS "primaryId", u.account_type AS "accountType", u.external_id AS "externalId",
         ${byPrimaryId ? 'u.primary_id AS value, lower(u.primary_id)' : 'i.value, lower(i.value)'} AS lowered
       FROM app_user u ${byPrimaryId ? '' : 'JOIN user_identifier i ON i.user_id = u.id AND i.institution_id = $1 AND i.id_type = $2'}
       WHERE u.institution_id = $1 AND u.sis_hash IS NOT NULL AND u.version = u.sis_version ORDER BY u.sis_hash COLLATE "C"`,
      byPrimaryId ? [institutionId] : [institutionId, matchBy],
    );
    for (;;) {
      const rows = await tx.query<SettledSisHash & Row>(`FETCH ${size} FROM settled_sis_hashes`);
      if (rows.length) onPage(rows);
      if (rows.length < size) break;
    }
  });
}
