// SQL for audit_event (append-only: there is no update or delete here on purpose).
import { asJson, copyLine } from '../copy-text.js';
import type { Queryable, Row } from '../database.js';

export interface AuditEventInput {
  institutionId: string | null;
  actorType: string;
  actorId: string | null;
  actorLabel: string;
  action: string;
  entityType: string;
  entityId: string | null;
  entityLabel: string | null;
  changes: Record<string, { before: unknown; after: unknown }>;
  context?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  id: number;
  occurredAt: Date;
}

/**
 * The INSERT of one event with its parameters numbered from `first`: on its own (insertAuditEvent),
 * or as a part of a statement that must commit together with the event (a sign-in's session).
 */
export function auditEventInsert(e: AuditEventInput, first = 1): { sql: string; params: unknown[] } {
  const p = Array.from({ length: 10 }, (_, i) => `$${first + i}`);
  return {
    sql: `INSERT INTO audit_event (institution_id, actor_type, actor_id, actor_label, action, entity_type, entity_id,
       entity_label, changes, context) VALUES (${p[0]}::uuid, ${p[1]}::text, ${p[2]}::text, ${p[3]}::text, ${p[4]}::text, ${p[5]}::text,
       ${p[6]}::uuid, ${p[7]}::text, ${p[8]}::jsonb, ${p[9]}::jsonb)`,
    params: [e.institutionId, e.actorType, e.actorId, e.actorLabel, e.action, e.entityType, e.entityId, e.entityLabel,
      JSON.stringify(e.changes), JSON.stringify(e.context ?? {})],
  };
}

export async function insertAuditEvent(db: Queryable, e: AuditEventInput): Promise<void> {
  const { sql, params } = auditEventInsert(e);
  await db.query(sql, params);
}

/** Many events in one statement (a batch of an SIS load), by COPY (copy-text.ts). */
export async function insertAuditEvents(db: Queryable, events: AuditEventInput[]): Promise<void> {
  if (!events.length) return;
  await db.copyFrom(
    `COPY audit_event (institution_id, actor_type, actor_id, actor_label, action, entity_type, entity_id, entity_label,
       changes, context) FROM STDIN`,
    events.map((e) => copyLine([e.institutionId, e.actorType, e.actorId, e.actorLabel, e.action, e.entityType, e.entityId,
      e.entityLabel, asJson(e.changes), asJson(e.context ?? {})])).join(''),
  );
}

export async function listAuditEventsForEntity(db: Queryable, entityId: string, limit = 100): Promise<AuditEvent[]> {
  const rows = await db.query(
    `SELECT id, institution_id, occurred_at, actor_type, actor_id, actor_label, action, entity_type, entity_id,
       entity_label, changes, context FROM audit_event WHERE entity_id = $1 ORDER BY id DESC LIMIT $2`,
    [entityId, limit],
  );
  return rows.map(toEvent);
}

export interface SignInEventFilter {
  institutionId: string;
  /** One of the two sign-in actions, or both when absent. */
  action?: 'sign_in' | 'sign_in.failed' | undefined;
  userId?: string | undefined;
  method?: string | undefined;
  since?: Date | undefined;
  /** Keyset: events older than this id (the previous page's last). */
  before?: number | undefined;
  limit: number;
}

/**
 * Sign-in events of an institution, newest first, a page at a time (keyset on id). The action list
 * is written out so the partial index of migration 0009 serves it.
 */
export async function listSignInEvents(db: Queryable, f: SignInEventFilter): Promise<AuditEvent[]> {
  const rows = await db.query(
    `SELECT id, institution_id, occurred_at, actor_type, actor_id, actor_label, action, entity_type, entity_id,
       entity_label, changes, context FROM audit_event
     WHERE institution_id = $1 AND action IN ('sign_in', 'sign_in.failed') AND ($2::text IS NULL OR action = $2)
       AND ($3::uuid IS NULL OR entity_id = $3) AND ($4::text IS NULL OR context ->> 'method' = $4)
       AND ($5::timestamptz IS NULL OR occurred_at >= $5) AND ($6::bigint IS NULL OR id < $6)
     ORDER BY id DESC LIMIT $7`,
    [f.institutionId, f.action ?? null, f.userId ?? null, f.method ?? null, f.since ?? null, f.before ?? null, f.limit],
  );
  return rows.map(toEvent);
}

function toEvent(r: Row): AuditEvent {
  return {
    id: Number(r.id),
    institutionId: r.institution_id as string | null,
    occurredAt: r.occurred_at as Date,
    actorType: r.actor_type as string,
    actorId: r.actor_id as string | null,
    actorLabel: r.actor_label as string,
    action: r.action as string,
    entityType: r.entity_type as string,
    entityId: r.entity_id as string | null,
    entityLabel: r.entity_label as string | null,
    changes: r.changes as AuditEvent['changes'],
    context: r.context as Record<string, unknown>,
  };
}
