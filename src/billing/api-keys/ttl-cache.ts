/**
 * A read-through cache with a short time to live, for the verification hot path: concurrent misses
 * of one key share one load, and misses arriving in the same tick are loaded together (DataLoader
 * batching), so a burst over many keys costs a few statements, not one per request. Entries live
 * `ttlMs`: that is how stale a replica may be about a change another replica made.
 */
import DataLoader from 'dataloader';

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly loader: DataLoader<string, V>;

  constructor(
    load: (keys: readonly string[]) => Promise<V[]>,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {
    this.loader = new DataLoader(load, { cache: false, maxBatchSize: 500 });
  }

  get(key: string): V | Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.loader.load(key).then(
        (value) => {
          this.loading.delete(key);
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(key, { value, until: Date.now() + this.ttlMs });
          return value;
        },
        (err: unknown) => {
          this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, pending);
    }
    return pending;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Drops every entry whose value matches (e.g. a rolled key, cached under its old hash). */
  deleteWhere(match: (value: V) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.value)) this.entries.delete(k);
  }
}
