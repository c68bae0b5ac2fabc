// The one reading of a typebox refusal: a job's payload, a login method's settings.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** What is wrong with the value, or undefined when the schema accepts it. Never echoes the value. */
export function schemaProblem(schema: TSchema, value: unknown): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const reasons: string[] = [];
  for (const e of Value.Errors(schema, value)) {
    // Where and what, never the value itself (it may be anything a client sent, or a secret).
    const extra = (e.params as { additionalProperties?: unknown }).additionalProperties;
    reasons.push(`${e.instancePath || '/'} ${e.message}${Array.isArray(extra) ? ` (${extra.join(', ')})` : ''}`);
    if (reasons.length === 3) break;
  }
  return (reasons.join('; ') || 'it does not match the schema').slice(0, 300);
}
