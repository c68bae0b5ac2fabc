// Who is asking. The HTTP layer only establishes the actor; each use case asks authorize() what
// that actor may do, in one place, never by URL pattern.
import { AppError } from '../../errors.js';

export type Actor =
  | { kind: 'apiKey'; id: string; institutionId: string; readOnly: boolean; label: string }
  | { kind: 'system'; label: string };

export type Permission = 'users:read' | 'users:write';

export function authorize(actor: Actor, permission: Permission, institutionId: string): void {
  if (actor.kind === 'system') return;
  // Another institution's data is invisible, not forbidden: the caller learns nothing of it.
  if (actor.institutionId !== institutionId) throw new AppError('UNAUTHORIZED');
  if (permission === 'users:write' && actor.readOnly) throw new AppError('UNAUTHORIZED');
}

export function actorLabel(actor: Actor): { type: string; id: string | null; label: string } {
  return actor.kind === 'apiKey'
    ? { type: 'api_key', id: actor.id, label: actor.label }
    : { type: 'system', id: null, label: actor.label };
}
