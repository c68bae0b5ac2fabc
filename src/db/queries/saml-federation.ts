// SQL for saml_federation and saml_federation_idp: a federation aggregate's IdPs, kept by the
// refresh in src/domain/sign-in/methods/saml/federation.ts.
import type { Db, Queryable } from '../database.js';

export interface FederationIdpRow {
  entity_id: string;
  display_name: string;
  sso_url: string;
  certs: string[];
  scopes: string[];
}

export interface FederationDue {
  method_id: string;
  config: Record<string, unknown>;
  /** Failed fetches in a row (for the doubling wait). */
  failures: number;
}

/**
 * SAML methods with a federation URL whose aggregate is due (never fetched, due, or fetched from
 * other settings), claimed for `leaseSeconds` so two workers do not fetch the same one at once.
 */
export async function claimDueFederations(db: Queryable, now: Date, leaseSeconds: number, hashOf: (config: Record<string, unknown>) => string): Promise<FederationDue[]> {
  const rows = await db.query<{ id: string; config: Record<string, unknown>; source_hash: string | null; next_refresh_at: Date | null; failures: number | null }>(
    `SELECT m.id, m.config, f.source_hash, f.next_refresh_at, f.failures
       FROM login_method m LEFT JOIN saml_federation f ON f.method_id = m.id
      WHERE m.type = 'saml' AND m.enabled AND m.config ? 'federation_metadata_url'`,
  );
  const claimed: FederationDue[] = [];
  for (const r of rows) {
    const hash = hashOf(r.config);
    if (r.source_hash === hash && r.next_refresh_at && r.next_refresh_at > now) continue;
    const lease = new Date(now.getTime() + leaseSeconds * 1000);
    // Insert or take over the row only if nobody claimed it since we read it.
    const won = await db.query(
      `INSERT INTO saml_federation (method_id, source_hash, next_refresh_at) VALUES ($1, $2, $3)
       ON CONFLICT (method_id) DO UPDATE SET next_refresh_at = EXCLUDED.next_refresh_at
        WHERE saml_federation.next_refresh_at IS NOT DISTINCT FROM $4 AND saml_federation.source_hash IS NOT DISTINCT FROM $5
       RETURNING method_id`,
      [r.id, r.source_hash ?? hash, lease, r.next_refresh_at, r.source_hash],
    );
    if (won.length) claimed.push({ method_id: r.id, config: r.config, failures: r.source_hash === hash ? (r.failures ?? 0) : 0 });
  }
  return claimed;
}

/**
 * Rows per INSERT. PGlite runs the database in this process's own thread: 30,000 rows (eduGAIN) in
 * one statement would hold the event loop for seconds. Between batches the loop turns (timers,
 * connections, pages that need no database); on PostgreSQL batches cost a few round trips.
 */
const BATCH = 250;
const turnOfTheLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Replaces the method's IdPs with a verified aggregate's, in generations (migration 0017): the
 * new rows go in beside the ones in use, a batch per statement, then one statement makes them the
 * method's, and the old rows go after it. No transaction spans the thousands of rows, so
 * on PGlite (one connection) other queries, /healthz's among them, run between the batches, and
 * readers see the whole old set or the whole new one. Refreshes of one method do not overlap: the
 * worker claims a federation before it fetches (claimDueFederations).
 */
export async function replaceFederationIdps(
  db: Db,
  methodId: string,
  f: { sourceHash: string; fetchedAt: Date; validUntil: Date | null; nextRefreshAt: Date; idps: FederationIdpRow[] },
): Promise<void> {
  // The row the IdPs hang on (the claim made it; a direct refresh may not have), not yet usable.
  await db.query(
    `INSERT INTO saml_federation (method_id, source_hash, next_refresh_at) VALUES ($1, $2, $3) ON CONFLICT (method_id) DO NOTHING`,
    [methodId, f.sourceHash, f.nextRefreshAt],
  );
  const { generation: current } = await db.one<{ generation: number }>('SELECT generation FROM saml_federation WHERE method_id = $1', [methodId]);
  const next = current + 1;
  // Whatever a refresh that died half-way left is of no generation in use.
  await db.query('DELETE FROM saml_federation_idp WHERE method_id = $1 AND generation <> $2', [methodId, current]);
  for (let at = 0; at < f.idps.length; at += BATCH) {
    await turnOfTheLoop();
    await db.query(
      `INSERT INTO saml_federation_idp (method_id, generation, entity_id, display_name, sso_url, certs, scopes)
       SELECT $1, $3, x.entity_id, x.display_name, x.sso_url, x.certs, x.scopes
         FROM jsonb_to_recordset($2::jsonb) AS x(entity_id text, display_name text, sso_url text, certs jsonb, scopes jsonb)
       ON CONFLICT DO NOTHING`,
      [methodId, JSON.stringify(f.idps.slice(at, at + BATCH)), next],
    );
  }
  await db.query(
    `UPDATE saml_federation SET source_hash = $2, fetched_at = $3, valid_until = $4, next_refresh_at = $5, idp_count = $6,
            failures = 0, last_error = NULL, generation = $7
      WHERE method_id = $1`,
    [methodId, f.sourceHash, f.fetchedAt, f.validUntil, f.nextRefreshAt, f.idps.length, next],
  );
  await db.query('DELETE FROM saml_federation_idp WHERE method_id = $1 AND generation <> $2', [methodId, next]);
}

/** A failed fetch: counted, the reason kept, the next try set; the IdPs already kept stay usable until their validUntil. */
export async function markFederationFailed(db: Queryable, methodId: string, error: string, nextRefreshAt: Date): Promise<void> {
  await db.query('UPDATE saml_federation SET failures = failures + 1, last_error = $2, next_refresh_at = $3 WHERE method_id = $1', [methodId, error.slice(0, 500), nextRefreshAt]);
}

export async function federationStatus(db: Queryable, methodId: string) {
  return db.maybeOne<{ source_hash: string; fetched_at: Date | null; valid_until: Date | null; next_refresh_at: Date; idp_count: number; failures: number; last_error: string | null }>(
    'SELECT source_hash, fetched_at, valid_until, next_refresh_at, idp_count, failures, last_error FROM saml_federation WHERE method_id = $1',
    [methodId],
  );
}

const USABLE = `f.fetched_at IS NOT NULL AND (f.valid_until IS NULL OR f.valid_until > $2) AND f.source_hash = $3`;

export async function findFederationIdp(db: Queryable, methodId: string, now: Date, sourceHash: string, entityId: string): Promise<FederationIdpRow | undefined> {
  return db.maybeOne<FederationIdpRow & Record<string, unknown>>(
    `SELECT i.entity_id, i.display_name, i.sso_url, i.certs, i.scopes
       FROM saml_federation_idp i JOIN saml_federation f ON f.method_id = i.method_id AND f.generation = i.generation
      WHERE i.method_id = $1 AND ${USABLE} AND i.entity_id = $4`,
    [methodId, now, sourceHash, entityId],
  );
}

/** IdPs whose name or entity id contains every word of the query, by name. */
export async function searchFederationIdps(db: Queryable, methodId: string, now: Date, sourceHash: string, words: string[], limit: number): Promise<{ rows: FederationIdpRow[]; total: number }> {
  const patterns = words.map((w) => `%${w.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  const rows = await db.query<FederationIdpRow & { total: number } & Record<string, unknown>>(
    `SELECT i.entity_id, i.display_name, i.sso_url, i.certs, i.scopes, count(*) OVER () AS total
       FROM saml_federation_idp i JOIN saml_federation f ON f.method_id = i.method_id AND f.generation = i.generation
      WHERE i.method_id = $1 AND ${USABLE}
        AND (SELECT bool_and(lower(i.display_name || ' ' || i.entity_id) LIKE p) FROM unnest($4::text[]) AS p) IS NOT FALSE
      ORDER BY lower(i.display_name), i.entity_id
      LIMIT $5`,
    [methodId, now, sourceHash, patterns, limit],
  );
  return { rows, total: rows[0]?.total ?? 0 };
}
