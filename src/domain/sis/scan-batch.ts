// What pass one asks the database about a batch of records, without writing any user:
//  - which match ids an earlier record of the file already had ("duplicate in file": the later
//    record fails). The ids are kept in job_seen_key with the first record number; a rerun of
//    pass one after a crash finds its own rows, with the same numbers, and the same answer;
//  - which matched users need nothing: INTERNAL or another profile's users (skipped), any match
//    of an import profile (skipped), and users unchanged since the last load wrote them (the
//    same record hash, and no version since).
import type { Db } from '../../db/database.js';
import { recordSeenKeys } from '../../db/queries/sis-load-progress.js';
import { findMatchStates } from '../../db/queries/user-batches.js';
import { skipMatched, type SisRules } from './merge.js';
import type { FastDecision, Scan } from './spool.js';

export function createScan(db: Db, jobId: string, rules: SisRules): Scan {
  return async (items) => {
    const notes: { dupOf?: number; fast?: FastDecision }[] = items.map(() => ({}));
    const firstInBatch = new Map<string, number>();
    const keyed: { key: string; n: number }[] = [];
    items.forEach((it, k) => {
      if (!it.key) return;
      const first = firstInBatch.get(it.key);
      if (first !== undefined) notes[k]!.dupOf = first;
      else {
        firstInBatch.set(it.key, it.n);
        keyed.push({ key: it.key, n: it.n });
      }
    });
    // Both questions at once (two connections on PostgreSQL): the states of ids that turn out to
    // repeat an earlier batch's are asked for nothing, which is rare; a round trip less is not.
    const [earlier, states] = await Promise.all([
      recordSeenKeys(db, jobId, keyed),
      findMatchStates(db, rules.institution.id, rules.profile.matchBy, keyed.map((k) => k.key)),
    ]);
    items.forEach((it, k) => {
      if (!it.key || notes[k]!.dupOf) return;
      const first = earlier.get(it.key) ?? it.n;
      if (first < it.n) notes[k]!.dupOf = first;
    });
    items.forEach((it, k) => {
      const st = it.key && !notes[k]!.dupOf ? states.get(it.key) : undefined;
      if (!st) return;
      const skip = skipMatched(st, rules);
      if (skip?.action === 'skip') notes[k]!.fast = skip;
      else if (st.sisHash === it.hash && st.version === st.sisVersion) notes[k]!.fast = { action: 'unchanged' };
    });
    return notes;
  };
}
