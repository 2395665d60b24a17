/**
 * Group commit: callers that each need one row written and committed submit it here; rows that
 * arrive while earlier statements are in flight wait and go together in one statement (one round
 * trip, one commit), at most `maxBatch` rows (and `maxBatchBytes`, when sized) per statement and
 * `maxInFlight` statements at once. A row alone goes at once, so a quiet process adds no latency.
 * Under concurrency the commit rate of the database and the pool's connections, not the process,
 * used to cap the callers per second; now one commit serves a whole batch.
 *
 * Each caller's promise settles only after its batch's statement has resolved (or failed), so
 * "acknowledged after commit" guarantees hold per caller. `flush` returns one result per item, in order
 * (`ItemFailed` rejects that item's caller alone); a throw rejects the whole batch.
 */
export interface GroupCommitOptions<T> {
  /** Rows per statement (default 500). */
  maxBatch?: number;
  /** Statements in flight at once (default 4): bounds the pool connections the queue takes. */
  maxInFlight?: number;
  /** Size of an item (e.g. its payload bytes) and the cap of a batch's total; an item alone always goes. */
  sizeOf?: (item: T) => number;
  maxBatchBytes?: number;
  /**
   * Keeps a statement's slot for this long after it finished (default 0), so items gather for the next:
   * for writers nobody waits on, fewer and larger statements.
   */
  gapMs?: number;
}

/** A result that fails its own caller only (the rest of the batch resolves). */
export class ItemFailed {
  constructor(readonly error: unknown) {}
}

interface Waiter<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export class GroupCommitQueue<T, R> {
  private pending: Waiter<T, R>[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly flush: (items: T[]) => Promise<(R | ItemFailed)[]>,
    private readonly opts: GroupCommitOptions<T> = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  /** Items waiting behind the statements in flight (0 while the database keeps up with the callers). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Resolves with this item's result once its batch's statement is done. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.batchLength());
      this.inFlight++;
      void this.run(batch).finally(() => {
        const free = () => {
          this.inFlight--;
          this.pump();
        };
        if (this.opts.gapMs) setTimeout(free, this.opts.gapMs);
        else free();
      });
    }
  }

  /** How many of the pending items the next batch takes (at least one). */
  private batchLength(): number {
    const limit = Math.min(this.pending.length, this.maxBatch);
    const { sizeOf, maxBatchBytes } = this.opts;
    if (!sizeOf || maxBatchBytes === undefined) return limit;
    let bytes = 0;
    for (let i = 0; i < limit; i++) {
      bytes += sizeOf(this.pending[i]!.item);
      if (bytes > maxBatchBytes) return Math.max(1, i);
    }
    return limit;
  }

  private async run(batch: Waiter<T, R>[]): Promise<void> {
    try {
      const results = await this.flush(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
      batch.forEach((w, i) => {
        const r = results[i]!;
        if (r instanceof ItemFailed) w.reject(r.error);
        else w.resolve(r);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
