/**
 * Processes the webhook inbox apart from the request. A batch of due events is one transaction: claim
 * the rows and mark them processed in one statement (`FOR UPDATE SKIP LOCKED`, so any number of workers
 * and replicas share the inbox without taking the same row; the mark commits or rolls back with the
 * batch), bring each event into the mirror in order, run `afterEvent` (signals). Batching is for throughput: per-event BEGIN/claim/mark/COMMIT round trips were what
 * bounded the worker (bench/RESULTS.md, webhooks). If any event of a batch fails, the batch rolls back
 * and its events are retried one per transaction, so a failure concerns one event only.
 * A failure rolls the transaction back and records the attempt (in its own transaction) with an
 * exponential backoff; after
 * `maxAttempts` the event is parked (log line, metric, `listParkedEvents`). A process killed mid-way
 * loses only its open transaction: the row is pending again for the next worker.
 *
 * Wake-ups: `notify()` (the webhook route calls it after each insert) starts the next claim at once;
 * a periodic poll picks up rows inserted by other processes and retries whose backoff has elapsed.
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { loadCatalog } from '../../catalog.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { withMirrorBatch, type PlanCatalog } from '../mirror/index.js';
import { handleStripeEvent, handleStripeEvents, type HandleResult } from '../sync/handlers.js';
import type { AfterEventHook } from './after-event.js';
import { takeStoredEvents } from './inbox.js';
import { webhookMetrics, type WebhookMetrics } from './metrics.js';

export interface WebhookWorkerOptions {
  orm: Orm;
  stripe: Stripe;
  /** Plans, for the subscription mirror; default: the shipped catalog. */
  catalog?: PlanCatalog;
  afterEvent?: AfterEventHook;
  /**
   * Processing loops of this process (default 1 on PGlite, which has one connection; 4 on PostgreSQL).
   * Each loop claims its own partition of the inbox (by customer: `Partition`), so loops work on
   * different objects side by side instead of waiting on each other's object locks, and the signals'
   * MRR lock is only held at a batch's end. Replicas add loops.
   */
  concurrency?: number;
  /**
   * Events claimed and processed in one transaction by the loops and `drain` (default 1 on PGlite, 256 on
   * PostgreSQL: against 64, fewer statements per event, and 5–10% more events/s in bench `peers`).
   */
  batchSize?: number;
  /** How often to look for other processes' inserts and due retries (default 1000 ms). */
  pollIntervalMs?: number;
  /** Attempts before an event is parked (default 8). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (default 1000 ms). */
  retryBaseMs?: number;
  /** Cap of the retry delay (default 5 min). */
  retryMaxMs?: number;
  /**
   * True while ingestion is saturated (deliveries queue behind the inbox inserts: `inboxSaturated`).
   * The loops then give way, so acknowledging keeps the CPU and the database: the first loop pauses
   * `deferMs` before each batch (which grows meanwhile; bigger batches cost less per event) and claims
   * from every partition, the others pause until it is false. Processing only slows, never stops; at
   * ordinary rates it is false.
   */
  deferWhile?: () => boolean;
  /**
   * Pause of the first loop per batch while `deferWhile` holds (default 150 ms, so its batches grow:
   * against 50 ms, 5% more events/s fully processed in 8 of 9 alternating runs of bench `peers`; events
   * wait that much longer only while deliveries queue).
   */
  deferMs?: number;
  metrics?: WebhookMetrics;
  log?: Logger;
}

/** One claimed event's fate. */
export type ProcessOutcome =
  | { eventId: string; type: string; status: 'processed'; result: HandleResult }
  | { eventId: string; type: string; status: 'retry' | 'parked'; error: string; attempts: number };

interface ClaimedRow {
  id: string;
  type: string;
  attempts: number;
  received_epoch: number | string;
}

/**
 * Claims up to `?` due events of a partition and marks them processed in one statement (one round trip
 * fewer per batch than claim, then mark): the mark commits with the batch or rolls back with it, so a
 * failed or killed batch leaves its rows pending as before. `processed_at` is `now()`, the
 * transaction's start, as before. Rows come back with their position in the inbox order (`UPDATE …
 * RETURNING` has no order of its own).
 *
 * The due rows are read in inbox order from a partial index of pending rows, with the partition stored
 * in each row, so the claim stops after its batch: its cost no longer grows with the queue (it used to
 * sort every due row and hash each one's jsonb payload).
 */
const claimAndMarkSql = (returningMore = '') => `with due as (
    select "id", "stripe_created_at", "received_at"
      from "webhook_events"
     where "status" = 'pending' and "next_attempt_at" <= now()
       and (?::int = 1 or mod("claim_partition", ?::int) = ?::int)
     order by "stripe_created_at", "received_at", "id"
     limit ? for update skip locked
  ), ordered as (
    select "id", row_number() over (order by "stripe_created_at", "received_at", "id") as position from due
  )
  update "webhook_events" w set "status" = 'processed', "attempts" = w."attempts" + 1, "processed_at" = now(),
         "locked_until" = null, "last_error" = null
    from ordered
   where w."id" = ordered."id"
  returning w."id", w."type", w."attempts" - 1 as "attempts", extract(epoch from w."received_at")::float8 as received_epoch,
            ordered.position${returningMore}`;

const CLAIM_AND_MARK_SQL = claimAndMarkSql();

/**
 * A batch's claim also turns on, for the rest of its transaction, the deferral of the revenue history:
 * the revenue triggers then only note the customers they would recompute (`set_config` in `returning`,
 * the same setting for each claimed row; a statement fewer per batch than setting it apart).
 */
const CLAIM_BATCH_SQL = claimAndMarkSql(`, set_config('billing.revenue_deferred', 'on', true) as revenue_deferred`);
/** Every customer noted since, recomputed once. */
const FLUSH_REVENUE_SQL = `select revenue_flush(null)`;

/**
 * The claimed rows' events: those this process stored and still holds (`takeStoredEvents`), the others
 * read from the inbox in one statement.
 */
async function eventsOf(em: SqlEntityManager, rows: ClaimedRow[]): Promise<Stripe.Event[]> {
  const held = takeStoredEvents(em, rows.map((r) => r.id));
  const missing = rows.filter((r) => !held.has(r.id)).map((r) => r.id);
  if (missing.length > 0) {
    const read = await em.execute<{ id: string; payload: Stripe.Event | string }[]>(`select "id", "payload" from "webhook_events" where "id" in (?)`, [missing]);
    for (const r of read) held.set(r.id, typeof r.payload === 'string' ? (JSON.parse(r.payload) as Stripe.Event) : r.payload);
  }
  return rows.map((r) => {
    const event = held.get(r.id);
    if (!event) throw new Error(`webhook event ${r.id}: claimed but not found in the inbox`);
    return event;
  });
}

/**
 * Which events a loop claims: those whose customer (else the object's id, else the event's) hashes to
 * `index` modulo `of`. The loops of a process then work on different customers side by side, each
 * customer's events in order within one loop (its invoices, subscriptions and payment methods, whose
 * events re-read the customer, in the same batches), instead of waiting on each other's object locks;
 * replicas' loops of the same index share a partition (`skip locked`), and the convergence rule never
 * depended on order.
 */
export interface Partition {
  index: number;
  of: number;
}

const ALL: Partition = { index: 0, of: 1 };

/** The claimed rows in inbox order. */
function inOrder(rows: (ClaimedRow & { position: number | string })[]): ClaimedRow[] {
  return rows.sort((a, b) => Number(a.position) - Number(b.position));
}

const SECRET = /\b(sk|rk)_(live|test)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9]+/g;

/** The error's message, one line, no secret, bounded. */
export function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return msg.split('\n')[0]!.replace(SECRET, '[redacted]').slice(0, 1000);
}

export class WebhookWorker {
  private readonly opts: Required<Pick<WebhookWorkerOptions, 'pollIntervalMs' | 'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'concurrency' | 'batchSize' | 'deferMs'>>;
  private readonly catalog: PlanCatalog;
  private readonly metrics: WebhookMetrics;
  private readonly log: Logger;
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  /**
   * Per loop: a notify() came since the loop last looked. Each loop claims only its own partition, so
   * a wake-up that reached another loop, or came while this one was claiming, must not be lost for it.
   */
  private woken: boolean[] = [];
  /** When `releaseExpiredLeases` may look again (epoch ms). */
  private nextLeaseCheck = 0;

  constructor(private readonly options: WebhookWorkerOptions) {
    const pglite = options.orm.config.get('driver')?.name === 'PgliteDriver';
    this.opts = {
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxAttempts: options.maxAttempts ?? 8,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
      concurrency: Math.max(1, options.concurrency ?? (pglite ? 1 : 4)),
      batchSize: Math.max(1, options.batchSize ?? (pglite ? 1 : 256)),
      deferMs: Math.max(0, options.deferMs ?? 150),
    };
    this.catalog = options.catalog ?? loadCatalog();
    this.metrics = options.metrics ?? webhookMetrics;
    this.log = (options.log ?? rootLogger).child({ module: 'webhook-worker' });
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the processing loops (idempotent). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.woken = Array.from({ length: this.opts.concurrency }, () => false);
    this.loops = Array.from({ length: this.opts.concurrency }, (_, i) => this.loop(i));
  }

  /** Stops claiming; resolves when the events being processed are committed (or rolled back). */
  async stop(): Promise<void> {
    this.running = false;
    this.wakeAll();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** New rows in the inbox: claim them now rather than at the next poll. */
  notify(): void {
    this.woken.fill(true);
    this.wakeAll();
  }

  /** Processes due events until none is left (retries in backoff stay); resolves with what it did. */
  async drain(): Promise<ProcessOutcome[]> {
    const out: ProcessOutcome[] = [];
    for (;;) {
      const batch = await this.processBatch();
      if (batch.length === 0) return out;
      out.push(...batch);
    }
  }

  /**
   * Claims up to `batchSize` due events in one statement and processes them in order in one
   * transaction (one BEGIN/claim/mark/COMMIT for the lot instead of per event). When any of them
   * fails, the whole batch rolls back and its events are taken one by one (`processNext`), so a bad
   * event is retried or parked alone and the others go through. Resolves with what it did ([] when
   * nothing was due).
   */
  async processBatch(batchSize = this.opts.batchSize, partition: Partition = ALL): Promise<ProcessOutcome[]> {
    if (batchSize <= 1) {
      const one = await this.processNext();
      if (one) return [one];
      return (await this.releaseExpiredLeases()) ? this.processBatch(batchSize, partition) : [];
    }
    let claimedCount = 0;
    let done: { row: ClaimedRow; result: HandleResult }[] | null;
    try {
      done = await (this.options.orm.em.fork() as SqlEntityManager).transactional(async (tx) => {
        const rows = inOrder(await tx.execute(CLAIM_BATCH_SQL, [partition.of, partition.of, partition.index, batchSize]));
        claimedCount = rows.length;
        if (rows.length === 0) return [];
        // The claim deferred the revenue history: each customer's is recomputed before the batch ends
        // (revenue_flush below) or before a read of it, not after every subscription write and MRR point
        // (src/db/entities/revenue.ts).
        const events = await eventsOf(tx, rows);
        const after = this.options.afterEvent;
        // A mirror batch: customer, subscription and invoice rows and the events' MRR points in one
        // statement per table for the batch, and the MRR deltas of subscription writes recorded for the
        // signals' steps at its end (src/stripe/mirror/batch.ts).
        return withMirrorBatch(tx, async () => {
          after?.batch?.begin(tx, events);
          // Locks and row stamps of the whole batch are taken up front (handleStripeEvents); each event's
          // signals run right after its own mirror write, as in the one-event path.
          const results = await handleStripeEvents(tx, events, { stripe: this.options.stripe, catalog: this.catalog }, after ? (e, r) => after(tx, e, r) : undefined);
          await tx.execute(FLUSH_REVENUE_SQL, [], 'run');
          await after?.batch?.end(tx);
          return rows.map((row, i) => ({ row, result: results[i]! }));
        });
      });
    } catch (err) {
      // Nothing claimed: the database itself failed; the caller backs off.
      if (claimedCount === 0) throw err;
      this.log.debug({ events: claimedCount, reason: reasonOf(err) }, 'webhook batch failed; processing its events one by one');
      const out: ProcessOutcome[] = [];
      for (let i = 0; i < claimedCount; i++) {
        const o = await this.processNext();
        if (!o) break;
        out.push(o);
      }
      return out;
    }
    // An empty queue: rows an older version left `processing` whose lease ran out are due again.
    if (done.length === 0) return (await this.releaseExpiredLeases()) ? this.processBatch(batchSize, partition) : [];
    const now = Date.now() / 1000;
    return done.map(({ row, result }) => this.processed(row, result, now));
  }

  /**
   * Makes rows left `processing` by a worker of an older version (one that leased rows instead of
   * marking them in its transaction) pending again once their lease has passed; true if there were any.
   * Checked only when a claim finds nothing, so the claim itself reads pending rows alone, and at most
   * once per poll interval for all loops (a wake-up finds most partitions empty).
   */
  private async releaseExpiredLeases(): Promise<boolean> {
    const now = Date.now();
    if (now < this.nextLeaseCheck) return false;
    this.nextLeaseCheck = now + this.opts.pollIntervalMs;
    const released = await (this.options.orm.em.fork() as SqlEntityManager).execute<{ id: string }[]>(
      `update "webhook_events" set "status" = 'pending', "locked_until" = null
        where "status" = 'processing' and "locked_until" < now() returning "id"`,
    );
    return released.length > 0;
  }

  /** Claims and processes one due event; null when there is none. */
  async processNext(): Promise<ProcessOutcome | null> {
    let claimed: ClaimedRow | null = null;
    try {
      const done = await (this.options.orm.em.fork() as SqlEntityManager).transactional(async (tx) => {
        const rows = await tx.execute<ClaimedRow[]>(CLAIM_AND_MARK_SQL, [ALL.of, ALL.of, ALL.index, 1]);
        const row = rows[0];
        if (!row) return null;
        claimed = row;
        const event = (await eventsOf(tx, [row]))[0]!;
        const result = await handleStripeEvent(tx, event, { stripe: this.options.stripe, catalog: this.catalog });
        // The top-level transaction's em, so hooks that act on its commit (publishing signals) see it.
        if (this.options.afterEvent) await this.options.afterEvent(tx, event, result);
        return { row, result };
      });
      if (!done) return null;
      const { row, result } = done;
      this.log.debug({ event: row.id, type: row.type, ...result }, 'webhook event processed');
      return this.processed(row, result, Date.now() / 1000);
    } catch (err) {
      // Nothing claimed: the database itself failed; the caller backs off.
      if (!claimed) throw err;
      return this.recordFailure(claimed, err);
    }
  }

  /** Counts a processed event and its lag since it was received (`now`: unix seconds). */
  private processed(row: ClaimedRow, result: HandleResult, now: number): ProcessOutcome {
    this.metrics.processed.inc({ type: row.type, action: result.action });
    this.metrics.lag.observe(Math.max(0, now - Number(row.received_epoch)));
    return { eventId: row.id, type: row.type, status: 'processed', result };
  }

  /**
   * Records a failed attempt in a transaction of its own (the event's was rolled back): backoff, or
   * parked after `maxAttempts`. Skipped when another worker has meanwhile taken or finished the event.
   */
  private async recordFailure(row: ClaimedRow, err: unknown): Promise<ProcessOutcome> {
    const reason = reasonOf(err);
    this.metrics.failures.inc({ type: row.type });
    const result = await (this.options.orm.em.fork() as SqlEntityManager).transactional(async (tx) => {
      const current = await tx.execute<{ attempts: number }[]>(
        `select "attempts" from "webhook_events" where "id" = ? and "status" in ('pending', 'processing') for update skip locked`,
        [row.id],
      );
      const attempts = Number(current[0]?.attempts ?? row.attempts) + 1;
      if (!current[0]) return { attempts, parked: false };
      if (attempts >= this.opts.maxAttempts) {
        await tx.execute(
          `update "webhook_events" set "status" = 'parked', "attempts" = ?, "last_error" = ?, "locked_until" = null where "id" = ?`,
          [attempts, reason, row.id],
          'run',
        );
        return { attempts, parked: true };
      }
      const delayMs = this.backoff(attempts);
      await tx.execute(
        `update "webhook_events" set "status" = 'pending', "attempts" = ?, "last_error" = ?, "locked_until" = null,
                "next_attempt_at" = now() + (? * interval '1 millisecond') where "id" = ?`,
        [attempts, reason, delayMs, row.id],
        'run',
      );
      return { attempts, parked: false, delayMs };
    });
    if (result.parked) {
      this.metrics.parked.inc({ type: row.type });
      this.log.error({ event: row.id, type: row.type, attempts: result.attempts, reason }, 'webhook event parked after repeated failures');
      return { eventId: row.id, type: row.type, status: 'parked', error: reason, attempts: result.attempts };
    }
    this.log.warn({ event: row.id, type: row.type, attempts: result.attempts, retryInMs: result.delayMs, reason }, 'webhook event failed; will retry');
    return { eventId: row.id, type: row.type, status: 'retry', error: reason, attempts: result.attempts };
  }

  /** Exponential backoff with ±20 % jitter, so replicas retrying together spread out. */
  private backoff(attempts: number): number {
    const base = Math.min(this.opts.retryBaseMs * 2 ** (attempts - 1), this.opts.retryMaxMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async loop(index: number): Promise<void> {
    while (this.running) {
      // While ingestion is saturated the first loop alone works, on every partition, in large batches
      // (the others wait): processing then takes little of the CPU and the database the
      // acknowledgements need; afterwards the loops share the backlog by partition.
      const deferred = this.options.deferWhile?.() === true;
      if (deferred) {
        await this.giveWay(index);
        if (!this.running) break;
      }
      let outcome: ProcessOutcome[] = [];
      try {
        outcome = await this.processBatch(this.opts.batchSize, deferred && index === 0 ? ALL : { index, of: this.opts.concurrency });
      } catch (err) {
        // The database itself failed (not the event): wait a poll interval before trying again.
        this.log.error({ reason: reasonOf(err) }, 'webhook worker could not claim an event');
      }
      if (outcome.length > 0 && this.running) continue;
      if (!this.running) break;
      await this.sleep(index);
    }
  }

  /** Ingestion is saturated: the first loop pauses `deferMs`, the others until it no longer is. */
  private async giveWay(index: number): Promise<void> {
    do {
      await new Promise<void>((resolve) => setTimeout(resolve, this.opts.deferMs));
    } while (index > 0 && this.running && this.options.deferWhile?.());
  }

  private sleep(index: number): Promise<void> {
    if (this.woken[index]) {
      this.woken[index] = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        this.woken[index] = false;
        resolve();
      };
      const timer = setTimeout(wake, this.opts.pollIntervalMs);
      timer.unref?.();
      this.wakers.add(wake);
    });
  }

  private wakeAll(): void {
    for (const w of [...this.wakers]) w();
  }
}
