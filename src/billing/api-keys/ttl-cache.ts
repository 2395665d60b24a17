/**
 * A read-through cache for the verification hot path: concurrent misses of one key share one load,
 * and misses arriving in the same tick are loaded together (DataLoader batching), so a burst over
 * many keys costs a few statements, not one per request.
 *
 * Two ways to stay true to the database:
 * - While `trusted()` says the change feed (change-feed.ts) is keeping up, an entry is kept until
 *   `invalidateWhere` drops it, reloaded in the background only after `trustedFreshMs` as a safety net.
 * - Otherwise (feed not started or failing), and always for a `volatile` entry (one whose facts change
 *   with time alone), an entry is fresh for `freshMs`; after that it is still served, while one
 *   background reload runs, until it is `maxAgeMs` old.
 * A load that was in flight when its entries were invalidated answers its callers but is not kept.
 */
import DataLoader from 'dataloader';

interface Entry<V> {
  value: V;
  loadedAt: number;
  reloading: boolean;
}

export interface TtlCacheOptions<V> {
  maxEntries?: number;
  /** Whether invalidation is reaching this cache: entries then live until invalidated. */
  trusted?: () => boolean;
  trustedFreshMs?: number;
  /** Entries whose facts change with time alone: always aged by `freshMs`/`maxAgeMs`. */
  volatile?: (value: V) => boolean;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<V>>();
  private readonly loader: DataLoader<string, V>;
  private readonly maxEntries: number;
  private readonly trusted: () => boolean;
  private readonly trustedFreshMs: number;
  private readonly volatile: (value: V) => boolean;

  constructor(
    load: (keys: readonly string[]) => Promise<V[]>,
    private readonly freshMs: number,
    private readonly maxAgeMs: number,
    opts: TtlCacheOptions<V> = {},
  ) {
    this.loader = new DataLoader(load, { cache: false, maxBatchSize: 500 });
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.trusted = opts.trusted ?? (() => false);
    this.trustedFreshMs = opts.trustedFreshMs ?? 60_000;
    this.volatile = opts.volatile ?? (() => false);
  }

  get(key: string): V | Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      const age = Date.now() - hit.loadedAt;
      const trusted = this.trusted() && !this.volatile(hit.value);
      if (age < (trusted ? this.trustedFreshMs : this.freshMs)) return hit.value;
      if (trusted || age < this.maxAgeMs) {
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
      const p: Promise<V> = this.loader.load(key).then(
        (value) => {
          // Not ours any more: invalidated while loading (the value may predate the change).
          if (this.loading.get(key) !== p) {
            const stale = this.entries.get(key);
            if (stale) stale.reloading = false;
            return value;
          }
          this.loading.delete(key);
          if (this.entries.size >= this.maxEntries) this.evictOldest();
          // Aged from when the load started: the facts are at least that old.
          this.entries.delete(key);
          this.entries.set(key, { value, loadedAt: startedAt, reloading: false });
          return value;
        },
        (err: unknown) => {
          if (this.loading.get(key) === p) this.loading.delete(key);
          throw err;
        },
      );
      this.loading.set(key, (pending = p));
    }
    return pending;
  }

  /** Drops the oldest tenth (Map order is insertion order; a reload re-inserts). */
  private evictOldest(): void {
    let n = Math.max(1, Math.floor(this.maxEntries / 10));
    for (const k of this.entries.keys()) {
      this.entries.delete(k);
      if (--n <= 0) break;
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  /** Drops these keys, and disowns every load in flight (see `deleteWhere`). */
  invalidate(keys: Iterable<string>): void {
    for (const k of keys) this.entries.delete(k);
    this.loading.clear();
  }

  /**
   * Drops every entry whose value matches (e.g. a rolled key, cached under its old hash), and
   * disowns every load in flight: what they read may predate the change, so they are not kept.
   */
  deleteWhere(match: (value: V) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.value)) this.entries.delete(k);
    this.loading.clear();
  }

  /** Drops everything (the change feed lost track). */
  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }
}
