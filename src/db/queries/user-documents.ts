// SQL of the read model (migration 0006): each user's Alma JSON and XML stored ready-made, so
// GET /almaws/v1/users/{id} is one indexed select of a text. Rendering is not here (it is the
// Alma format's, src/alma/); deciding when to render and store is the domain's
// (src/domain/users/user-documents.ts); deleting a changed user's document is the write path's
// (user-batches.ts calls dropUserDocuments in the same transaction).
import type { Queryable } from '../database.js';
import { ANY_IDENTIFIER_TARGET } from './users.js';

export type DocumentFormat = 'json' | 'xml';

export interface UserDocument {
  userId: string;
  institutionId: string;
  version: number;
  /** The institution's document generation the descriptions were rendered at. */
  generation: number;
  baseUrl: string;
  json: string;
  xml: string;
}

// One statement per format, prepared once per connection: the hottest read of the API. The user
// is found as findUserByIdentifier finds it (primary id or any identifier, case-insensitive,
// through the unique lower() indexes), then the document by primary key, served only when it
// was rendered at the institution's current generation and for the same link base.
const FIND = (format: DocumentFormat) => `SELECT d.version, d.${format} AS body
  FROM user_document d JOIN institution i ON i.id = $1 AND i.document_generation = d.document_generation
  WHERE d.user_id = (${ANY_IDENTIFIER_TARGET} LIMIT 1) AND d.institution_id = $1 AND d.base_url = $3`;
const FIND_SQL = { json: FIND('json'), xml: FIND('xml') };

/** The stored document of the user this value names, when it is current; else undefined. */
export async function findUserDocument(
  db: Queryable,
  institutionId: string,
  value: string,
  format: DocumentFormat,
  baseUrl: string,
): Promise<{ version: number; body: string } | undefined> {
  return db.maybeOne<{ version: number; body: string }>(FIND_SQL[format], [institutionId, value, baseUrl], { name: `user-document-${format}` });
}

/** The generation documents of this institution must carry to be served. */
export async function documentGeneration(db: Queryable, institutionId: string): Promise<number> {
  const row = await db.maybeOne<{ g: string }>('SELECT document_generation::text AS g FROM institution WHERE id = $1', [institutionId]);
  return Number(row?.g ?? 0);
}

/**
 * Stores a document rendered from the user at `version`, unless the user has moved on since it
 * was read or is being written right now. The row lock (FOR SHARE) makes a writer that comes
 * after this statement wait for it, so the writer's dropUserDocuments (after its UPDATE, in its
 * transaction) removes what was stored; a writer already holding the user makes this store
 * nothing (SKIP LOCKED: a read never waits for a write, and the next read stores). So a document
 * never outlives the version it shows. A newer generation already stored is kept.
 */
export async function storeUserDocument(db: Queryable, doc: UserDocument): Promise<void> {
  await db.query(
    `INSERT INTO user_document AS d (user_id, institution_id, version, document_generation, base_url, json, xml)
     SELECT u.id, u.institution_id, u.version, $3, $4, $5, $6 FROM app_user u WHERE u.id = $1 AND u.version = $2 AND u.institution_id = $7
     FOR SHARE SKIP LOCKED
     ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, document_generation = EXCLUDED.document_generation,
       base_url = EXCLUDED.base_url, json = EXCLUDED.json, xml = EXCLUDED.xml
     WHERE d.document_generation <= EXCLUDED.document_generation`,
    [doc.userId, doc.version, doc.generation, doc.baseUrl, doc.json, doc.xml, doc.institutionId],
  );
}

/** These users changed: their documents are rendered again when next read. */
export async function dropUserDocuments(db: Queryable, userIds: string[]): Promise<void> {
  if (!userIds.length) return;
  await db.query('DELETE FROM user_document WHERE user_id = ANY($1::uuid[])', [userIds]);
}
