// The read model of GET /almaws/v1/users/{id} (migration 0006): a user's full Alma JSON and XML,
// rendered once and stored, then served as stored text. Writers only delete a changed user's
// document (db/queries/user-batches.ts, in the write's transaction), so an SIS load renders
// nothing; the first read after a change renders both formats and stores them. A document is
// served only at its institution's current document generation (code-table descriptions,
// role-type names, the institution's name: migration 0006's triggers move it) and for the same
// link base; otherwise it is rendered again here and written back.
import type { Db } from '../../db/database.js';
import { documentGeneration, findUserDocument, storeUserDocument, type DocumentFormat } from '../../db/queries/user-documents.js';
import { findUserByIdentifier } from '../../db/queries/users.js';
import { AppError } from '../../errors.js';
import { userToAlmaJson } from '../../alma/user-json.js';
import { userToAlmaXml } from '../../alma/user-xml.js';
import type { CodeTables } from '../../model/code-tables.js';
import type { User } from '../../model/user.js';
import { authorize, type Actor } from '../access/actor.js';
import type { CodeTableCache } from '../institutions/code-tables.js';

/** The full user in both formats, exactly as an answer renders it (the stored text is sent as is). */
export function renderUserDocument(user: User, tables: CodeTables, baseUrl: string): { json: string; xml: string } {
  const opts = { baseUrl, view: 'full' as const, institution: tables.institution };
  return { json: JSON.stringify(userToAlmaJson(user, tables, opts)), xml: userToAlmaXml(user, tables, opts) };
}

export function createUserDocuments({ db, codeTables }: { db: Db; codeTables: CodeTableCache }) {
  /** The institution's tables at its current generation (another process may have changed them). */
  async function currentTables(institutionId: string): Promise<CodeTables> {
    const [generation, cached] = await Promise.all([documentGeneration(db, institutionId), codeTables.forInstitution(institutionId)]);
    if (cached.generation >= generation) return cached;
    codeTables.invalidate(institutionId);
    return codeTables.forInstitution(institutionId);
  }

  return {
    /**
     * The full user whose primary id or any identifier is `id`, in `format`, with its version
     * (the ETag). One indexed select when the stored document is current; else rendered and stored.
     */
    async read(actor: Actor, institutionId: string, id: string, format: DocumentFormat, baseUrl: string): Promise<{ version: number; body: string }> {
      authorize(actor, 'users:read', institutionId);
      const stored = await findUserDocument(db, institutionId, id, format, baseUrl);
      if (stored) return stored;
      const user = await findUserByIdentifier(db, institutionId, id);
      if (!user) throw new AppError('USER_NOT_FOUND', { id });
      const tables = await currentTables(institutionId);
      const doc = renderUserDocument(user, tables, baseUrl);
      await storeUserDocument(db, { userId: user.id, institutionId, version: user.version, generation: tables.generation, baseUrl, ...doc });
      return { version: user.version, body: doc[format] };
    },
  };
}

export type UserDocuments = ReturnType<typeof createUserDocuments>;
