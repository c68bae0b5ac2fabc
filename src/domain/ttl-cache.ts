// A value per key, loaded on first use and kept for a short while: configuration that every
// request of a kind reads and that changes rarely (code tables, an institution's login pages and
// login methods). The process that changes it forgets its copy at once; another process sees the
// change within the time to live, the bound each user of this states. A failed load is not kept.
export interface TtlCache<K, V> {
  get(key: K): Promise<V>;
  /** Forget one key, or everything. */
  forget(key?: K): void;
}

export function ttlCache<K, V>(ttlMs: number, load: (key: K) => Promise<V>): TtlCache<K, V> {
  const kept = new Map<K, { at: number; value: Promise<V> }>();
  return {
    get(key) {
      const hit = kept.get(key);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      const value = load(key);
      const entry = { at: Date.now(), value };
      value.catch(() => {
        if (kept.get(key) === entry) kept.delete(key);
      });
      kept.set(key, entry);
      return value;
    },
    forget(key) {
      if (key === undefined) kept.clear();
      else kept.delete(key);
    },
  };
}
