// What pass one asks the database about a batch of records, without writing any user:
//  - which match ids an earlier record of the file already had ("duplicate in file": the later
//    record fails). The ids are kept in job_seen_key with the first record number; a rerun of
//    pass one after a crash finds its own rows, with the same numbers, and the same answer;
//  - which matched users need nothing: INTERNAL or another profile's users (skipped), any match
//    of an import profile (skipped), and users unchanged since the last load wrote them (the
//    same record hash, and no version since).
// A known record (read without parsing: known-records.ts) is unchanged by what the load saw when
// it began, so only its match id is recorded, and that in the background, thousands at a time:
// nothing waits for it but the next question about other ids, and the end of pass one. Should it turn out that an
// earlier record had the id, the known record was not settled after all: pass one is read again
// without known records (KnownRecordUnsettled).
import type { Db } from '../../db/database.js';
import { recordSeenKeys } from '../../db/queries/sis-load-progress.js';
import { findMatchStates, type MatchState } from '../../db/queries/user-batches.js';
import { skipMatched, type SisRules } from './merge.js';
import { KnownRecordUnsettled, type FastDecision, type Scan } from './spool.js';

/** Known records' ids are recorded this many at a time (a statement, and a round trip, each). */
const RECORD_KNOWN = 5000;

export function createScan(db: Db, jobId: string, rules: SisRules): Scan {
  // The known records' ids waiting to be recorded and being recorded, in file order, and whether
  // one had been seen before.
  let waiting: { key: string; n: number }[] = [];
  let recording: Promise<void> = Promise.resolve();
  let unsettled = false;
  const record = () => {
    const keyed = waiting;
    waiting = [];
    recording = recording
      .then(() => recordSeenKeys(db, jobId, keyed))
      .then((earlier) => {
        if (keyed.some((k) => (earlier.get(k.key) ?? k.n) < k.n)) unsettled = true;
      });
    recording.catch(() => {});
    return recording;
  };

  const scan = async (items: Parameters<Scan>[0]) => {
    const notes: { dupOf?: number; fast?: FastDecision }[] = items.map(() => ({}));
    const firstInBatch = new Map<string, number>();
    const keyed: { key: string; n: number }[] = [];
    const knownKeyed: { key: string; n: number }[] = [];
    items.forEach((it, k) => {
      if (!it.key) return;
      const first = firstInBatch.get(it.key);
      if (first !== undefined) notes[k]!.dupOf = first;
      else {
        firstInBatch.set(it.key, it.n);
        (it.known ? knownKeyed : keyed).push({ key: it.key, n: it.n });
      }
    });
    waiting.push(...knownKeyed);
    if (waiting.length >= RECORD_KNOWN) void record();
    // The other ids (none in a batch of known records) are asked after the known ones before them
    // are recorded. Both questions at once (two connections on PostgreSQL): the states of ids that
    // turn out to repeat an earlier batch's are asked for nothing, which is rare; a round trip less is not.
    let earlier = new Map<string, number>();
    let states = new Map<string, MatchState>();
    if (keyed.length) {
      await (waiting.length ? record() : recording);
      [earlier, states] = await Promise.all([
        recordSeenKeys(db, jobId, keyed),
        findMatchStates(db, rules.institution.id, rules.profile.matchBy, keyed.map((k) => k.key)),
      ]);
    }
    items.forEach((it, k) => {
      if (!it.key || notes[k]!.dupOf) return;
      if (it.known) return void (notes[k]!.fast = { action: 'unchanged' });
      const first = earlier.get(it.key) ?? it.n;
      if (first < it.n) return void (notes[k]!.dupOf = first);
      const st = states.get(it.key);
      if (!st) return;
      const skip = skipMatched(st, rules);
      if (skip?.action === 'skip') notes[k]!.fast = skip;
      else if (st.sisHash === it.hash && st.version === st.sisVersion) notes[k]!.fast = { action: 'unchanged' };
    });
    return notes;
  };
  return Object.assign(scan, {
    async settle() {
      await (waiting.length ? record() : recording);
      const was = unsettled;
      unsettled = false;
      if (was) throw new KnownRecordUnsettled();
    },
  });
}
