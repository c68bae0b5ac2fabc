// What an SIS load counts and records of its own (the queue knows none of it): its counters,
// and a dry run's field-level diff for one record.

export const SIS_LOAD_COUNTERS = ['read', 'created', 'updated', 'unchanged', 'skipped', 'failed'] as const;
export type SisCounters = Record<(typeof SIS_LOAD_COUNTERS)[number], number>;
export const ZERO_SIS_COUNTERS: Readonly<SisCounters> = Object.freeze({ read: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 });

/** A job's counters as an SIS load's (a counter it has not written yet is 0). */
export function sisCountersOf(c: Readonly<Record<string, number>>): SisCounters {
  const out = { ...ZERO_SIS_COUNTERS };
  for (const k of SIS_LOAD_COUNTERS) out[k] = Number(c[k] ?? 0);
  return out;
}

/** A dry run's field-level diff for one record. */
export interface JobRecordChange {
  recordNumber: number;
  action: 'create' | 'update' | 'deactivate';
  identifier: string | null;
  changes: Record<string, { before: unknown; after: unknown }>;
}
