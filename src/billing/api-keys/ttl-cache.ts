/**
 * A read-through cache for the verification hot path: concurrent misses of one key share one load,
 * and misses arriving in the same tick are loaded together (DataLoader batching), so a burst over
 * many keys costs a few statements, not one per request. An entry is fresh for `freshMs`; after that
 * it is still served, while one background reload runs, until it is `maxAgeMs` old: a hot key or
 * customer never waits on a reload, and no answer is based on facts older than `maxAgeMs` (plus the
 * reload's own time). That is how stale a replica may be about a change another replica made.
 */
import DataLoader from 'dataloader';

interface Entry<V> {
  value: V;
  loadedAt: number;
  reloading: boolean;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly loader: DataLoader<string, V>;

  constructor(
    load: (keys: readonly string[]) => Promise<V[]>,
    private readonly freshMs: number,
    private readonly maxAgeMs: number,
    private readonly maxEntries = 100_000,
  ) {
    this.loader = new DataLoader(load, { cache: false, maxBatchSize: 500 });
  }

  get(key: string): V | Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      const age = Date.now() - hit.loadedAt;
      if (age < this.freshMs) return hit.value;
      if (age < this.maxAgeMs) {
        if (!hit.reloading) {
          hit.reloading = true;
          // A failed background reload leaves the entry to expire; the next caller then waits for a load.
          this.load(key).catch(() => (hit.reloading = false));
        }
        return hit.value;
      }
    }
    return this.load(key);
  }

  private load(key: string): Promise<V> {
    let pending = this.loading.get(key);
    if (!pending) {
      const startedAt = Date.now();
      pending = this.loader.load(key).then(
        (value) => {
          this.loading.delete(key);
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          // Aged from when the load started: the facts are at least that old.
          this.entries.set(key, { value, loadedAt: startedAt, reloading: false });
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
