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

type KnownRow = { hash: string; value: string; lowered: string };

/**
 * Packs the database's rows as they come, page after page, in the hashes' order
 * (settled-sis-hashes.ts). The key is the one the file's record had: the load matched the user by
 * it, and the database's lower-casing of the stored value is what it matched; a row where
 * JavaScript's lower-casing (the file's side, match.ts) says otherwise is left out. So is a hash
 * held by two rows (two users, one text; or a user with two identifiers of the match type:
 * nothing certain), and a hash not in recordHash's form (an older release's). Each page's kept
 * hashes and keys are joined as it ends, so what stays is about 40 bytes a user. Rows out of
 * order (which the query does not give) make `finish` answer null: no known records, a plain read.
 */
export function knownRecordsPacker(fingerprint: string) {
  const hashes: string[] = [];
  const keys: string[] = [];
  let ends = new Int32Array(1024);
  let count = 0;
  let end = 0;
  let ordered = true;
  // The first row of the latest run of one hash, and whether another row shares it.
  let run: KnownRow | undefined;
  let shared = false;
  let page: { hashes: string[]; keys: string[] } = { hashes: [], keys: [] };

  const settle = (r: KnownRow | undefined) => {
    if (!r || shared) return;
    const key = keyOf(r.value)?.key;
    if (key === undefined || key !== r.lowered) return;
    if (count === ends.length) ends = grow(ends);
    ends[count++] = end += key.length;
    page.hashes.push(r.hash);
    page.keys.push(key);
  };
  const endPage = () => {
    hashes.push(page.hashes.join(''));
    keys.push(page.keys.join(''));
    page = { hashes: [], keys: [] };
  };
  return {
    add(rows: readonly KnownRow[]): void {
      for (const r of rows) {
        if (r.hash.length !== HASH) continue;
        if (run && r.hash === run.hash) shared = true;
        else {
          if (run && r.hash < run.hash) ordered = false;
          settle(run);
          run = r;
          shared = false;
        }
      }
      endPage();
    },
    finish(): KnownRecordsData | null {
      settle(run);
      endPage();
      if (!ordered || !count) return null;
      return { fingerprint, hashes: hashes.join(''), keys: keys.join(''), ends: ends.slice(0, count) };
    },
  };
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** The same from rows at hand, in any order (sorted here). */
export function knownRecordsData(fingerprint: string, rows: readonly KnownRow[]): KnownRecordsData | null {
  const packer = knownRecordsPacker(fingerprint);
  packer.add([...rows].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0)));
  return packer.finish();
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
