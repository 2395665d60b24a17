/**
 * Processes the webhook inbox apart from the request. Each event is one transaction: claim the row
 * (`FOR UPDATE SKIP LOCKED`, so any number of workers and replicas share the inbox without taking the
 * same row), bring the event into the mirror, run `afterEvent` (signals), mark the row processed.
 * A failure rolls the transaction back and records the attempt (in its own transaction) with an
 * exponential backoff; after
 * `maxAttempts` the event is parked (log line, metric, `listParkedEvents`). A process killed mid-way
 * loses only its open transaction: the row is pending again for the next worker.
 *
 * Wake-ups: `notify()` (the webhook route calls it after each insert) starts the next claim at once;
 * a periodic poll picks up rows inserted by other processes and retries whose backoff has elapsed.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { loadCatalog } from '../../billing/catalog.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import type { PlanCatalog } from '../mirror/index.js';
import { handleStripeEvent, type HandleResult } from '../sync/handlers.js';
import { webhookMetrics, type WebhookMetrics } from './metrics.js';

/** Runs inside the event's transaction after the mirror write (e.g. billing signals); a throw fails the attempt. */
export type AfterEventHook = (em: EntityManager, event: Stripe.Event) => Promise<void>;

export interface WebhookWorkerOptions {
  orm: Orm;
  stripe: Stripe;
  /** Plans, for the subscription mirror; default: the shipped catalog. */
  catalog?: PlanCatalog;
  afterEvent?: AfterEventHook;
  /** Events processed at once by this process (default 1 on PGlite, which has one connection; 4 on PostgreSQL). */
  concurrency?: number;
  /** How often to look for other processes' inserts and due retries (default 1000 ms). */
  pollIntervalMs?: number;
  /** Attempts before an event is parked (default 8). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt (default 1000 ms). */
  retryBaseMs?: number;
  /** Cap of the retry delay (default 5 min). */
  retryMaxMs?: number;
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
  payload: Stripe.Event | string;
  attempts: number;
  received_epoch: number | string;
}

const SECRET = /\b(sk|rk)_(live|test)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9]+/g;

/** The error's message, one line, no secret, bounded. */
function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return msg.split('\n')[0]!.replace(SECRET, '[redacted]').slice(0, 1000);
}

export class WebhookWorker {
  private readonly opts: Required<Pick<WebhookWorkerOptions, 'pollIntervalMs' | 'maxAttempts' | 'retryBaseMs' | 'retryMaxMs' | 'concurrency'>>;
  private readonly catalog: PlanCatalog;
  private readonly metrics: WebhookMetrics;
  private readonly log: Logger;
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  /** A notify() that came while no loop was waiting must not be lost. */
  private pendingWake = 0;

  constructor(private readonly options: WebhookWorkerOptions) {
    const pglite = options.orm.config.get('driver')?.name === 'PgliteDriver';
    this.opts = {
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxAttempts: options.maxAttempts ?? 8,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
      concurrency: Math.max(1, options.concurrency ?? (pglite ? 1 : 4)),
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
    this.loops = Array.from({ length: this.opts.concurrency }, () => this.loop());
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
    if (this.wakers.size === 0) this.pendingWake = Math.min(this.pendingWake + 1, this.opts.concurrency);
    this.wakeAll();
  }

  /** Processes due events until none is left (retries in backoff stay); resolves with what it did. */
  async drain(): Promise<ProcessOutcome[]> {
    const out: ProcessOutcome[] = [];
    for (;;) {
      const o = await this.processNext();
      if (!o) return out;
      out.push(o);
    }
  }

  /** Claims and processes one due event; null when there is none. */
  async processNext(): Promise<ProcessOutcome | null> {
    let claimed: ClaimedRow | null = null;
    try {
      const done = await (this.options.orm.em.fork() as SqlEntityManager).transactional(async (tx) => {
        const rows = await tx.execute<ClaimedRow[]>(
          `select "id", "type", "payload", "attempts", extract(epoch from "received_at")::float8 as received_epoch
             from "webhook_events"
            where ("status" = 'pending' and "next_attempt_at" <= now())
               or ("status" = 'processing' and "locked_until" < now())
            order by "stripe_created_at", "received_at", "id"
            limit 1
            for update skip locked`,
        );
        const row = rows[0];
        if (!row) return null;
        claimed = row;
        const event = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Stripe.Event;
        const result = await handleStripeEvent(tx, event, { stripe: this.options.stripe, catalog: this.catalog });
        // The top-level transaction's em, so hooks that act on its commit (publishing signals) see it.
        if (this.options.afterEvent) await this.options.afterEvent(tx, event);
        await tx.execute(
          `update "webhook_events" set "status" = 'processed', "attempts" = "attempts" + 1, "processed_at" = now(),
                  "locked_until" = null, "last_error" = null where "id" = ?`,
          [row.id],
          'run',
        );
        return { row, result };
      });
      if (!done) return null;
      const { row, result } = done;
      this.metrics.processed.inc({ type: row.type, action: result.action });
      this.metrics.lag.observe(Math.max(0, Date.now() / 1000 - Number(row.received_epoch)));
      this.log.debug({ event: row.id, type: row.type, ...result }, 'webhook event processed');
      return { eventId: row.id, type: row.type, status: 'processed', result };
    } catch (err) {
      // Nothing claimed: the database itself failed; the caller backs off.
      if (!claimed) throw err;
      return this.recordFailure(claimed, err);
    }
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

  private async loop(): Promise<void> {
    while (this.running) {
      let outcome: ProcessOutcome | null = null;
      try {
        outcome = await this.processNext();
      } catch (err) {
        // The database itself failed (not the event): wait a poll interval before trying again.
        this.log.error({ reason: reasonOf(err) }, 'webhook worker could not claim an event');
      }
      if (outcome && this.running) continue;
      if (!this.running) break;
      await this.sleep();
    }
  }

  private sleep(): Promise<void> {
    if (this.pendingWake > 0) {
      this.pendingWake--;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
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
