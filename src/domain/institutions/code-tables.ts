// An institution's code tables in memory (their shape is src/model/code-tables.ts), for validation and for the descriptions the wire
// format adds. Loaded once per institution and kept briefly: code tables change rarely, and
// every write path through this process invalidates its own copy at once.
import type { Db } from '../../db/database.js';
import { listCodeValues, listRoleTypes } from '../../db/queries/code-tables.js';
import { findInstitutionById } from '../../db/queries/institutions.js';
import { documentGeneration } from '../../db/queries/user-documents.js';
import { buildCodeTables, ROLE_TABLE, type CodeTables } from '../../model/code-tables.js';
import { ttlCache } from '../ttl-cache.js';

export interface CodeTableCache {
  forInstitution(institutionId: string): Promise<CodeTables>;
  invalidate(institutionId?: string): void;
}

export function createCodeTableCache(db: Db, ttlMs = 30_000): CodeTableCache {
  async function load(institutionId: string): Promise<CodeTables> {
    // The generation first, the tables after: tables at least as new as the generation they are
    // labelled with, so a document rendered from them is never newer-labelled than it shows.
    const generation = await documentGeneration(db, institutionId);
    const [institution, values, roles] = await Promise.all([
      findInstitutionById(db, institutionId),
      listCodeValues(db, institutionId),
      listRoleTypes(db),
    ]);
    const named = { code: institution?.code ?? '', name: institution?.name ?? '' };
    // Roles are Alma's global catalogue; an institution's own descriptions and named-user flags
    // are rows of its code table (code-table-service.ts) over it, never new codes.
    const own = new Map(values.filter((v) => v.table_name === ROLE_TABLE).map((v) => [v.code, v]));
    return buildCodeTables(named, [
      ...values.filter((v) => v.table_name !== ROLE_TABLE)
        .map((v) => ({ table: v.table_name, code: v.code, description: v.description, attributes: v.attributes, enabled: v.enabled })),
      ...roles.map((r) => {
        const o = own.get(r.code);
        const namedUser = typeof o?.attributes.namedUser === 'boolean' ? o.attributes.namedUser : r.named_user;
        return { table: ROLE_TABLE, code: r.code, description: o?.description ?? r.name, attributes: { namedUser }, enabled: true };
      }),
    ], generation);
  }
  const cache = ttlCache(ttlMs, load);
  return { forInstitution: (institutionId) => cache.get(institutionId), invalidate: (institutionId) => cache.forget(institutionId) };
}
