// The records a re-synchronization need not parse: those whose exact text a stored user was last
// loaded from, under the same rules (record-hash.ts), by users nobody changed since. A nightly
// file is mostly such records, and parsing them was most of pass one's time.
//
// The load asks the database for their hashes and match keys once, before pass one, and hands
// them to the reading thread in a compact form (one string of hashes in sorted order, one of keys):
// at a million users that is about 40 MB, not a map of a million entries on a capped heap.
import { keyOf } from '../match.js';
import { recordHash } from '../record-hash.js';
import type { KnownRecords } from './xml-users.js';

/** recordHash's length: 32 characters of base64url. */
const HASH = 32;

/** What crosses to the reading thread (structured clone: three strings and an Int32Array). */
export interface KnownRecordsData {
  fingerprint: string;
  /** The hashes, HASH characters each, in ascending code-unit order. */
  hashes: string;
  /** The match keys joined, in the hashes' order, and where each ends. */
  keys: string;
  ends: Int32Array;
}

/**
 * From the database's rows (listSettledSisHashes: in the hashes' order, else sorted here). The key
 * is the one the file's record had: the load matched the user by it, and the database's
 * lower-casing of the stored value is what it matched; a row where JavaScript's lower-casing (the file's side, match.ts) says
 * otherwise is left out. So is a hash held by two rows (two users, one text; or a user with two
 * identifiers of the match type: nothing certain), and a hash not in recordHash's form (an older
 * release's).
 */
export function knownRecordsData(fingerprint: string, rows: readonly { hash: string; value: string; lowered: string }[]): KnownRecordsData | null {
  const sorted = rows.filter((r) => r.hash.length === HASH);
  if (sorted.some((r, i) => i > 0 && sorted[i - 1]!.hash > r.hash)) sorted.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const kept: { hash: string; key: string }[] = [];
  sorted.forEach((r, i) => {
    if (r.hash === sorted[i - 1]?.hash || r.hash === sorted[i + 1]?.hash) return;
    const key = keyOf(r.value)?.key;
    if (key !== undefined && key === r.lowered) kept.push({ hash: r.hash, key });
  });
  if (!kept.length) return null;
  const ends = new Int32Array(kept.length);
  let end = 0;
  kept.forEach((r, i) => (ends[i] = end += r.key.length));
  return { fingerprint, hashes: kept.map((r) => r.hash).join(''), keys: kept.map((r) => r.key).join(''), ends };
}

/** The lookup the XML reader uses: a record's text to its stored hash and key, if known. */
export function knownRecords(data: KnownRecordsData): KnownRecords {
  const { fingerprint, hashes, keys, ends } = data;
  const compare = (hash: string, i: number): number => {
    const at = i * HASH;
    for (let k = 0; k < HASH; k++) {
      const d = hash.charCodeAt(k) - hashes.charCodeAt(at + k);
      if (d) return d;
    }
    return 0;
  };
  return {
    match(raw) {
      const hash = recordHash(fingerprint, raw);
      let lo = 0;
      let hi = ends.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        const d = compare(hash, mid);
        if (d === 0) return { hash, key: keys.slice(mid ? ends[mid - 1] : 0, ends[mid]) };
        if (d > 0) lo = mid + 1;
        else hi = mid - 1;
      }
      return undefined;
    },
  };
}
