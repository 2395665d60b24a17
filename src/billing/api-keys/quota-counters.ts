/**
 * Units counted on a plan meter in the current billing period, per (customer, meter, period), for
 * quota checks without a sum per request. used = the ledger's sum (re-read every `ttlMs`, all the
 * counters of a burst in one statement) + what this process committed since that read + what it has
 * reserved and not committed yet. A reservation is taken before the insert, so concurrent
 * verifications on this process never overshoot a quota together. Another replica's units are seen
 * at the next re-read (so replicas together may overshoot by what they admit in that time).
 */
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { batchUsageQuantities, usageQuantityCacheKey, type UsageQuantityKey } from '../usage/usage-summary.js';

interface Counter {
  /** The ledger's sum at the last read. */
  read: number;
  /** Committed by this process since the last read started. */
  committed: number;
  /** Reserved by verifications whose insert has not finished. */
  pending: number;
  until: number;
  loading: Promise<void> | null;
}

/** What `reserve` holds until `settle` (the counter itself: no object per reservation). */
export type Reservation = object;

const MAX_COUNTERS = 100_000;
const REREAD_GATHER_MS = 50;

export class QuotaCounters {
  private readonly counters = new Map<string, Counter>();
  private readonly ids = new WeakMap<UsageQuantityKey, string>();
  private readonly loader: DataLoader<UsageQuantityKey, number, string>;
  /** Re-reads nobody waits for: gathered for `REREAD_GATHER_MS`, so all the counters due in that time cost one statement. */
  private readonly rereads: DataLoader<UsageQuantityKey, number, string>;

  constructor(em: EntityManager) {
    const opts = { cache: false, cacheKeyFn: usageQuantityCacheKey, maxBatchSize: 500 } as const;
    this.loader = new DataLoader((keys) => batchUsageQuantities(em, keys), opts);
    this.rereads = new DataLoader((keys) => batchUsageQuantities(em, keys), { ...opts, batchScheduleFn: (run) => setTimeout(run, REREAD_GATHER_MS) });
  }

  /**
   * Units used so far (read, committed and reserved): a number at once, or a promise for the first read
   * of a counter only (re-reads run in the background).
   */
  used(key: UsageQuantityKey, ttlMs: number): number | Promise<number> {
    const c = this.counterOf(key);
    if (c.until <= Date.now() && !c.loading) {
      const committedBefore = c.committed;
      const first = c.until === 0;
      c.loading = (first ? this.loader : this.rereads).load(key).then(
        (sum) => {
          c.read = sum;
          c.committed -= committedBefore;
          c.until = Date.now() + ttlMs;
          c.loading = null;
        },
        (err: unknown) => {
          c.loading = null;
          throw err;
        },
      );
      // A failed background re-read keeps the last sum and is tried again on the next call.
      if (!first) c.loading.catch(() => undefined);
    }
    if (c.until === 0 && c.loading) return c.loading.then(() => c.read + c.committed + c.pending);
    return c.read + c.committed + c.pending;
  }

  /** Takes `units` before the insert; `settle` them after it. */
  reserve(key: UsageQuantityKey, units: number): Reservation {
    const c = this.counterOf(key);
    c.pending += units;
    return c;
  }

  /** The insert of `units` reserved with `hold` is done (inserted: false when the ledger already had the row). */
  settle(hold: Reservation, units: number, inserted: boolean): void {
    const c = hold as Counter;
    c.pending -= units;
    if (inserted) c.committed += units;
  }

  private counterOf(key: UsageQuantityKey): Counter {
    // The verifier passes the same key object for a whole billing period: its id is built once.
    let id = this.ids.get(key);
    if (id === undefined) this.ids.set(key, (id = usageQuantityCacheKey(key)));
    let c = this.counters.get(id);
    if (!c) {
      if (this.counters.size >= MAX_COUNTERS) this.counters.clear();
      this.counters.set(id, (c = { read: 0, committed: 0, pending: 0, until: 0, loading: null }));
    }
    return c;
  }
}
