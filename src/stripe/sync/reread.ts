/**
 * Re-reads of mirrored objects from Stripe, for the webhook worker.
 *
 * - One re-read answers every event of a batch about that object: it is taken after the batch was
 *   claimed, so after every one of its events was stored, hence emitted by Stripe; it reflects at
 *   least each of their states (the argument of convergence.ts holds for each of them).
 * - The re-reads a batch will need are known before its first event (the decision rule runs on the
 *   stamps in memory), so they are started together instead of one after the other.
 * - Every re-read goes through a budget per Stripe client: at most `ratePerSecond` requests started
 *   per second and `concurrency` in flight, so a burst of ties never exceeds Stripe's rate limit. A 429
 *   that comes anyway waits (Retry-After, else 1 s) and tries again, up to `attempts` times (the SDK's
 *   own retries are off for these calls, so backoff and rate are the budget's).
 */
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import type Stripe from 'stripe';
import { SUBSCRIPTION_MIRROR_EXPAND } from '../mirror/index.js';
import type { MirrorKind } from './convergence.js';

export interface RereadBudgetOptions {
  /** Re-reads started per second (default 80: below Stripe's live limit of 100 read requests/s). */
  ratePerSecond?: number;
  /** Re-reads in flight at once (default 16). */
  concurrency?: number;
  /** Tries of one re-read answered 429, 5xx or a connection error (default 5). */
  attempts?: number;
}

/** Calls to Stripe counted by the budget (bench and metrics). */
export interface RereadCounters {
  calls: number;
  rateLimited: number;
}

export class RereadBudget {
  readonly counters: RereadCounters = { calls: 0, rateLimited: 0 };
  private readonly queue: RateLimiterQueue;
  private readonly concurrency: number;
  private readonly attempts: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: RereadBudgetOptions = {}) {
    const rate = Math.max(1, Math.floor(opts.ratePerSecond ?? 80));
    this.queue = new RateLimiterQueue(new RateLimiterMemory({ points: rate, duration: 1 }));
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
    this.attempts = Math.max(1, opts.attempts ?? 5);
  }

  /** Runs `call` within the budget; a 429 waits and retries. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.queue.removeTokens(1);
      await this.acquire();
      try {
        this.counters.calls++;
        return await call();
      } catch (err) {
        const wait = retryWaitMs(err, attempt);
        if (wait === null || attempt >= this.attempts) throw err;
        if ((err as { statusCode?: number }).statusCode === 429) this.counters.rateLimited++;
        await new Promise((r) => setTimeout(r, wait));
      } finally {
        this.release();
      }
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

/**
 * How long to wait before trying again: after a 429, Retry-After (else 1 s); after a 5xx or a
 * connection error, 0.5 s per attempt. Null when `err` is not worth a retry.
 */
function retryWaitMs(err: unknown, attempt: number): number | null {
  const e = err as { statusCode?: number; type?: string; headers?: Record<string, string | undefined> } | null;
  if (!e) return null;
  if (e.statusCode === 429) {
    const after = Number(e.headers?.['retry-after']);
    return Number.isFinite(after) && after >= 0 ? Math.min(after, 60) * 1000 : 1000;
  }
  if ((e.statusCode ?? 0) >= 500 || e.type === 'StripeConnectionError') return 500 * attempt;
  return null;
}

const budgets = new WeakMap<Stripe, RereadBudget>();

/** The budget of a Stripe client (one per client, shared by every worker loop of the process). */
export function rereadBudget(stripe: Stripe, opts?: RereadBudgetOptions): RereadBudget {
  let b = budgets.get(stripe);
  if (!b) {
    b = new RereadBudget(opts);
    budgets.set(stripe, b);
  }
  return b;
}

/** Sets the budget of a client (tests, the bench); replaces any earlier one. */
export function setRereadBudget(stripe: Stripe, budget: RereadBudget): void {
  budgets.set(stripe, budget);
}


export type RereadObject = Stripe.Customer | Stripe.DeletedCustomer | Stripe.Subscription | Stripe.Invoice;

/** The object's state from Stripe, or `missing` when Stripe no longer has it. */
export type RereadResult = { object: RereadObject } | { missing: unknown };

/** The re-reads of one batch: at most one per object, started as soon as they are known. */
export class BatchRereads {
  private readonly started = new Map<string, Promise<RereadResult>>();
  /**
   * Rows (`kind:id`) whose current content is this batch's re-read, with the stamp written (ms): a
   * further re-read of the object in the batch would write the same again. Kept by the handler.
   */
  readonly written = new Map<string, number>();
  /** Subscription and invoice rows (`kind:id`) whose customer is known to be in the mirror. */
  readonly customerKnown = new Set<string>();
  /** Customers known to have a row (never deleted, only marked: once seen, it stays for the batch). */
  readonly customersPresent = new Set<string>();

  constructor(
    private readonly stripe: Stripe,
    private readonly budget: RereadBudget,
    private readonly isMissing: (err: unknown) => boolean,
  ) {}

  /** Starts the re-read of an object (no-op when already started). */
  start(kind: MirrorKind, id: string): void {
    void this.get(kind, id);
  }

  /** The object's re-read (started now if it was not). A failure other than "missing" rejects. */
  get(kind: MirrorKind, id: string): Promise<RereadResult> {
    const key = `${kind}:${id}`;
    let p = this.started.get(key);
    if (!p) {
      p = this.budget.run(() => retrieve(this.stripe, kind, id)).then(
        (object): RereadResult => ({ object }),
        (err: unknown): RereadResult => {
          if (this.isMissing(err)) return { missing: err };
          throw err;
        },
      );
      // A prefetch nobody awaits (the batch failed first) must not be an unhandled rejection.
      p.catch(() => {});
      this.started.set(key, p);
    }
    return p;
  }
}

// Stripe's own retries are off: backoff and rate are the budget's.
const NO_SDK_RETRY = { maxNetworkRetries: 0 };

function retrieve(stripe: Stripe, kind: MirrorKind, id: string): Promise<RereadObject> {
  switch (kind) {
    case 'customer':
      return stripe.customers.retrieve(id, {}, NO_SDK_RETRY);
    case 'subscription':
      return stripe.subscriptions.retrieve(id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] }, NO_SDK_RETRY);
    case 'invoice':
      return stripe.invoices.retrieve(id, {}, NO_SDK_RETRY);
  }
}
