// The kinds of job this process knows, filled by the composition root from each module (SIS
// registers sis.load and sis.export). The queue, the worker and the API ask it what a kind needs
// (its payload's schema, its permission, its counters) instead of knowing any kind themselves.
import { AppError } from '../../errors.js';
import { schemaProblem } from '../schema-problem.js';
import { can, type Actor } from '../access/actor.js';
import type { JobKind } from './job.js';

/** What is wrong with a payload for this kind, or undefined when its schema accepts it. */
export function payloadProblem(def: JobKind, payload: unknown): string | undefined {
  return schemaProblem(def.payload, payload);
}

export function createJobRegistry() {
  const kinds = new Map<string, JobKind>();

  return {
    register(...defs: JobKind[]): void {
      for (const def of defs) {
        if (kinds.has(def.kind)) throw new Error(`job kind ${def.kind} is registered twice`);
        if (!def.counters.length) throw new Error(`job kind ${def.kind} declares no counters`);
        kinds.set(def.kind, def);
      }
    },

    get: (kind: string): JobKind | undefined => kinds.get(kind),

    /** The kind's definition; JOB_KIND_UNKNOWN (400) when no module registered it. */
    require(kind: string): JobKind {
      const def = kinds.get(kind);
      if (!def) throw new AppError('JOB_KIND_UNKNOWN', { kind: kind.slice(0, 60) });
      return def;
    },

    kinds: (): string[] => [...kinds.keys()],

    /** The kinds whose jobs this actor may read in this institution. */
    readableBy: (actor: Actor, institutionId: string): string[] =>
      [...kinds.values()].filter((d) => can(actor, d.permission, institutionId)).map((d) => d.kind),
  };
}

export type JobRegistry = ReturnType<typeof createJobRegistry>;
