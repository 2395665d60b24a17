/**
 * Sends the usage ledger to Stripe Billing Meters: each unsent `usage_records` row becomes one
 * `POST /v1/billing/meter_events` with `identifier` = the row id, so sending twice is harmless
 * (Stripe refuses a held identifier; that answer counts as delivered).
 *
 * A batch: claim up to `batchSize` due rows in one short statement (`FOR UPDATE SKIP LOCKED`, so any
 * number of replicas share the ledger without taking the same row) and lease them (`next_attempt_at`
 * = now + lease: other flushers skip them meanwhile; no transaction stays open while Stripe is
 * called, which would hold PGlite's only connection). Send them through the token bucket with
 * bounded concurrency, one request at a time per (customer, meter) as Stripe asks, then record the
 * outcomes in a few statements: delivered → `sent_at`; failed → `send_attempts + 1`, `last_error`,
 * backoff; rejected `maxAttempts` times → `parked_at`; not sent (429 pause, stop, lease running out)
 * → released, due again. A process killed mid-batch leaves its rows leased: they are due again when
 * the lease ends, and what was already sent is refused by Stripe as a duplicate → marked sent.
 *
 * 429: the whole flusher pauses (Retry-After when given, else exponential backoff) and halves its rate,
 * which then climbs back to the configured one while sends succeed. The ledger absorbs any burst.
 */
import type Stripe from 'stripe';
import type { Catalog } from '../../catalog.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { classifySendError, reasonOf, type FailureKind, type SendFailure } from './classify.js';
import { meterEventMetrics, readLedgerStats, setLedgerStatsSource, type LedgerStats, type MeterEventMetrics } from './metrics.js';
import { sleep, TokenBucket } from './token-bucket.js';

export interface MeterEventFlusherOptions {
  orm: Orm;
  stripe: Stripe;
  /** Maps the ledger's `meter` (a catalog meter id, or its event name) to the Stripe `event_name`. */
  catalog: Pick<Catalog, 'meters'>;
  /** Meter events per second from this process. */
  ratePerSecond: number;
  /** Rows claimed per batch (default 200). */
  batchSize?: number;
  /** Idle poll period (default 1000 ms); `notify()` wakes the loop sooner. */
  intervalMs?: number;
  /** After a batch that was not full, at least this long before the next claim (default 0; `stream`: 250 ms). */
  minGapMs?: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Permanent rejections before a row is parked (default 8). */
  maxAttempts?: number;
  /** How long a claim keeps a row from other flushers (default: 60 s, or 4× a batch at the rate if longer). */
  leaseMs?: number;
  /** First retry delay of a failed row, doubling per attempt (default 1 s), capped (default 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** First pause after a 429, doubling while 429s continue (default 1 s), capped (default 60 s). */
  rateLimitBaseMs?: number;
  rateLimitMaxMs?: number;
  /** Per-request timeout (default: the client's). */
  timeoutMs?: number;
  /**
   * `events` (default): one `POST /v1/billing/meter_events` per row. `stream`: rows sent for the first
   * time, stamped within the last hour, go up to 100 per request on the v2 meter event stream; the rest
   * (resends, retries, old or future timestamps) stay on `events`.
   */
  api?: MeterEventApi;
  metrics?: MeterEventMetrics;
  log?: Logger;
}

export type MeterEventApi = 'events' | 'stream';

/** Stripe's v2 stream takes at most this many events per request. */
export const STREAM_EVENTS_PER_REQUEST = 100;
/** Rows stamped further back go through `events`, whose synchronous answer can park them. */
const STREAM_MAX_AGE_S = 3600;
/** A meter event session lasts 15 minutes: a new one is made this long before it ends. */
const SESSION_MARGIN_MS = 60_000;

/** What one batch did. */
export interface FlushResult {
  claimed: number;
  /** Delivered: created at Stripe, or Stripe already held the identifier. */
  sent: number;
  duplicates: number;
  /** Failed, will be retried after a backoff. */
  retried: number;
  parked: number;
  /** Claimed but not sent (429 pause, stop, lease running out): due again at once or after the pause. */
  released: number;
  rateLimited: number;
  /** When a 429 paused the flusher: how long from now. */
  pauseMs: number;
}

interface ClaimedRow {
  id: string;
  customer_id: string;
  meter: string;
  quantity: number;
  ts: number | string;
  send_attempts: number;
  /** Claimed before (a lease that ran out, a release): Stripe may hold it already, so it goes one by one. */
  claimed_before: boolean;
}

type RowOutcome =
  | { status: 'sent'; duplicate: boolean }
  | { status: 'released' }
  | { status: 'failed'; kind: Exclude<FailureKind, 'rate_limited'>; reason: string };

/** Due rows, oldest first; the partial index `usage_records_unsent_index` (sent_at is null) serves it. */
const CLAIM_SQL = `update "usage_records" as u set "next_attempt_at" = now() + (? * interval '1 millisecond')
  from (select "id", "next_attempt_at" from "usage_records"
         where "sent_at" is null and "parked_at" is null and ("next_attempt_at" is null or "next_attempt_at" <= now())
         order by "created_at"
         limit ? for update skip locked) as due
 where u."id" = due."id"
 returning u."id", u."customer_id", u."meter", u."quantity", extract(epoch from u."timestamp")::float8 as ts, u."send_attempts",
           due."next_attempt_at" is not null as claimed_before`;

export class MeterEventFlusher {
  private readonly opts: Required<
    Pick<MeterEventFlusherOptions, 'batchSize' | 'intervalMs' | 'minGapMs' | 'concurrency' | 'maxAttempts' | 'leaseMs' | 'retryBaseMs' | 'retryMaxMs' | 'rateLimitBaseMs' | 'rateLimitMaxMs'>
  >;
  private readonly bucket: TokenBucket;
  private readonly eventNames: Map<string, string>;
  private readonly metrics: MeterEventMetrics;
  private readonly log: Logger;
  private running = false;
  private loopDone: Promise<void> | null = null;
  /** Aborted by stop(): waits end, the batch in progress releases what it has not sent. */
  private abort = new AbortController();
  private wake: (() => void) | null = null;
  private pendingWake = false;
  /** Epoch ms before which nothing is sent (after a 429). */
  private pausedUntilMs = 0;
  private consecutiveRateLimits = 0;
  private detachStats: (() => void) | null = null;
  /** The v2 stream's session token, shared by the batches until shortly before it expires. */
  private session: { token: string; until: number } | null = null;
  private sessionPending: Promise<string> | null = null;

  constructor(private readonly options: MeterEventFlusherOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('MeterEventFlusher: ratePerSecond must be positive');
    const batchSize = Math.max(1, options.batchSize ?? 200);
    this.opts = {
      batchSize,
      intervalMs: options.intervalMs ?? 1000,
      minGapMs: options.minGapMs ?? (options.api === 'stream' ? 250 : 0),
      concurrency: Math.max(1, options.concurrency ?? 16),
      maxAttempts: Math.max(1, options.maxAttempts ?? 8),
      leaseMs: options.leaseMs ?? Math.max(60_000, Math.ceil((4 * batchSize * 1000) / options.ratePerSecond)),
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 300_000,
      rateLimitBaseMs: options.rateLimitBaseMs ?? 1000,
      rateLimitMaxMs: options.rateLimitMaxMs ?? 60_000,
    };
    this.bucket = new TokenBucket(options.ratePerSecond);
    this.eventNames = new Map();
    for (const m of options.catalog.meters) {
      this.eventNames.set(m.eventName, m.eventName);
      this.eventNames.set(m.id, m.eventName);
    }
    this.metrics = options.metrics ?? meterEventMetrics;
    this.log = (options.log ?? rootLogger).child({ module: 'meter-event-flusher' });
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Epoch ms until which a 429 pauses sending (0 or past: not paused). */
  get pausedUntil(): number {
    return this.pausedUntilMs;
  }

  /** The rate the bucket runs at now (lower than configured for a while after a 429). */
  get currentRatePerSecond(): number {
    return this.bucket.ratePerSecond;
  }

  /** Starts the background loop (idempotent) and points the backlog/lag gauges at this ledger. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.detachStats = setLedgerStatsSource(() => this.stats());
    this.loopDone = this.loop();
  }

  /**
   * Stops claiming; the batch in progress finishes its requests in flight, records them and releases
   * the rest (due again at once for another flusher). Resolves when all of that is written.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    this.wake?.();
    await this.loopDone;
    this.loopDone = null;
    this.detachStats?.();
    this.detachStats = null;
  }

  /** New rows in the ledger: flush now rather than at the next poll (a 429 pause still holds). */
  notify(): void {
    if (this.wake) this.wake();
    else this.pendingWake = true;
  }

  /** Batches until nothing is due (rows in backoff or leased elsewhere stay); resolves with the totals. */
  async drain(): Promise<FlushResult> {
    const total = emptyResult();
    for (;;) {
      const r = await this.flushOnce();
      addInto(total, r);
      if (r.claimed === 0 || r.rateLimited > 0 || r.released > 0) return total;
    }
  }

  /** Backlog, lag and parked rows of the ledger (what the gauges show). */
  stats(): Promise<LedgerStats> {
    return readLedgerStats(this.options.orm);
  }

  /** Claims one batch of due rows, sends it and records the outcomes. */
  async flushOnce(): Promise<FlushResult> {
    const result = emptyResult();
    if (Date.now() < this.pausedUntilMs) return result;
    const claimedAt = Date.now();
    const rows = await this.claim();
    result.claimed = rows.length;
    if (rows.length === 0) return result;
    // Sends stop starting well before the lease ends, so no other flusher takes a row still being sent.
    const sendDeadline = claimedAt + this.opts.leaseMs * 0.75;
    const outcomes = new Map<string, RowOutcome>();
    const groups = this.groupByCustomerAndMeter(rows, outcomes);
    const chunks = this.options.api === 'stream' ? this.streamChunks(groups) : [];
    // The stream's chunks and the per-row groups share the senders.
    const tasks: (() => Promise<void>)[] = [
      ...chunks.map((chunk) => async () => {
        const o = await this.sendChunk(chunk, sendDeadline, result);
        for (const { row } of chunk) outcomes.set(row.id, o);
      }),
      ...groups.map((g) => async () => {
        for (const row of g.rows) outcomes.set(row.id, await this.sendOne(row, g.eventName, sendDeadline, result));
      }),
    ];
    let next = 0;
    const worker = async () => {
      for (let t = tasks[next++]; t; t = tasks[next++]) await t();
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, tasks.length) }, worker));
    await this.record(rows, outcomes, result);
    return result;
  }

  private async claim(): Promise<ClaimedRow[]> {
    return this.options.orm.em.getConnection().execute<ClaimedRow[]>(CLAIM_SQL, [this.opts.leaseMs, this.opts.batchSize], 'all');
  }

  /**
   * Rows by (customer, event name), oldest first within each: Stripe allows one concurrent meter-event
   * call per customer per meter, so a group is sent sequentially while groups run in parallel. Rows
   * whose meter the catalog does not know are rejected here, without a request.
   */
  private groupByCustomerAndMeter(rows: ClaimedRow[], outcomes: Map<string, RowOutcome>): { eventName: string; rows: ClaimedRow[] }[] {
    const groups = new Map<string, { eventName: string; rows: ClaimedRow[] }>();
    for (const row of rows) {
      const eventName = this.eventNames.get(row.meter);
      if (!eventName) {
        outcomes.set(row.id, { status: 'failed', kind: 'rejected', reason: `unknown meter "${row.meter.slice(0, 100)}" (not in the plan catalog)` });
        continue;
      }
      const key = `${row.customer_id}\u0000${eventName}`;
      const group = groups.get(key);
      if (group) group.rows.push(row);
      else groups.set(key, { eventName, rows: [row] });
    }
    return [...groups.values()];
  }

  private async sendOne(row: ClaimedRow, eventName: string, sendDeadline: number, result: FlushResult): Promise<RowOutcome> {
    if (!(await this.mayStart(sendDeadline))) return { status: 'released' };
    try {
      await this.options.stripe.billing.meterEvents.create(
        {
          event_name: eventName,
          identifier: row.id,
          payload: { stripe_customer_id: row.customer_id, value: String(row.quantity) },
          timestamp: Math.floor(Number(row.ts)),
        },
        // Retries are ours (backoff, rate, leases); the SDK's would bypass them.
        { maxNetworkRetries: 0, ...(this.options.timeoutMs ? { timeout: this.options.timeoutMs } : {}) },
      );
      this.onSuccess();
      return { status: 'sent', duplicate: false };
    } catch (err) {
      const failure = classifySendError(err);
      if (failure.kind === 'duplicate') {
        this.onSuccess();
        return { status: 'sent', duplicate: true };
      }
      return this.failedSend(failure, 1, result);
    }
  }

  /** Waits for a token; false when a send must not start (stopping, paused by a 429, past the deadline). */
  private async mayStart(sendDeadline: number): Promise<boolean> {
    if (this.abort.signal.aborted || Date.now() < this.pausedUntilMs || Date.now() > sendDeadline) return false;
    if (!(await this.bucket.take(this.abort.signal))) return false;
    // A 429 seen by another sender while this one waited for its token.
    return Date.now() >= this.pausedUntilMs;
  }

  /** A failed request of `rows` rows: counted; a 429 pauses the flusher and releases them, else they failed. */
  private failedSend(failure: Exclude<SendFailure, { kind: 'duplicate' }>, rows: number, result: FlushResult): RowOutcome {
    this.metrics.failures.inc({ kind: failure.kind }, rows);
    if (failure.kind === 'rate_limited') {
      result.rateLimited++;
      this.metrics.rateLimited.inc();
      this.onRateLimited(failure.retryAfterMs);
      return { status: 'released' };
    }
    return { status: 'failed', kind: failure.kind, reason: failure.reason };
  }

  /**
   * Takes out of the groups the rows the stream may carry (first claim, no attempt yet, stamped within
   * the last hour and not ahead) in chunks of up to 100. Stripe dedups a stream event by identifier
   * like any other, so a crash after the send is as harmless; the stream validates asynchronously, so a
   * row it could refuse (an old or future timestamp, a resend) stays on `events`, whose answer says so.
   */
  private streamChunks(groups: { eventName: string; rows: ClaimedRow[] }[]): { row: ClaimedRow; eventName: string }[][] {
    const nowS = Date.now() / 1000;
    const chunks: { row: ClaimedRow; eventName: string }[][] = [];
    let chunk: { row: ClaimedRow; eventName: string }[] = [];
    for (const g of groups) {
      const rest: ClaimedRow[] = [];
      for (const row of g.rows) {
        const ts = Number(row.ts);
        if (row.claimed_before || Number(row.send_attempts) > 0 || ts < nowS - STREAM_MAX_AGE_S || ts > nowS + 60) {
          rest.push(row);
          continue;
        }
        chunk.push({ row, eventName: g.eventName });
        if (chunk.length === STREAM_EVENTS_PER_REQUEST) {
          chunks.push(chunk);
          chunk = [];
        }
      }
      g.rows = rest;
    }
    if (chunk.length > 0) chunks.push(chunk);
    return chunks;
  }

  /** One v2 stream request for a chunk: one token of the bucket (Stripe limits requests, not events). */
  private async sendChunk(chunk: { row: ClaimedRow; eventName: string }[], sendDeadline: number, result: FlushResult): Promise<RowOutcome> {
    if (!(await this.mayStart(sendDeadline))) return { status: 'released' };
    const requestOptions = { maxNetworkRetries: 0, ...(this.options.timeoutMs ? { timeout: this.options.timeoutMs } : {}) };
    try {
      const token = await this.sessionToken(requestOptions);
      await this.options.stripe.v2.billing.meterEventStream.create(
        {
          events: chunk.map(({ row, eventName }) => ({
            event_name: eventName,
            identifier: row.id,
            payload: { stripe_customer_id: row.customer_id, value: String(row.quantity) },
            timestamp: new Date(Math.floor(Number(row.ts)) * 1000).toISOString(),
          })),
        },
        { ...requestOptions, apiKey: token },
      );
      this.onSuccess();
      return { status: 'sent', duplicate: false };
    } catch (err) {
      const failure = classifySendError(err);
      // An expired session: a new one for the next request; these rows are simply due again.
      if ((err as { statusCode?: number }).statusCode === 401 && this.session) {
        this.session = null;
        return { status: 'released' };
      }
      // Not an answer the stream gives; released, the rows go one by one next time (claimed before).
      if (failure.kind === 'duplicate') return { status: 'released' };
      return this.failedSend(failure, chunk.length, result);
    }
  }

  /** The stream's bearer token (`POST /v2/billing/meter_event_session` with the secret key), made once per 15 minutes. */
  private async sessionToken(requestOptions: { maxNetworkRetries: number; timeout?: number }): Promise<string> {
    if (this.session && Date.now() < this.session.until) return this.session.token;
    this.sessionPending ??= this.options.stripe.v2.billing.meterEventSession
      .create({}, requestOptions)
      .then((s) => {
        this.session = { token: s.authentication_token, until: Date.parse(s.expires_at) - SESSION_MARGIN_MS };
        return s.authentication_token;
      })
      .finally(() => (this.sessionPending = null));
    return this.sessionPending;
  }

  private onSuccess(): void {
    this.consecutiveRateLimits = 0;
    // Additive increase back to the configured rate after a 429 halved it.
    const target = this.options.ratePerSecond;
    const now = this.bucket.ratePerSecond;
    if (now < target) this.bucket.setRate(Math.min(target, now + Math.max(target / 100, 0.1)));
  }

  /** Pauses the flusher (Retry-After, else exponential backoff) and halves its rate. */
  private onRateLimited(retryAfterMs: number | undefined): void {
    const now = Date.now();
    // Senders of the same batch that hit the limit together count once.
    if (now < this.pausedUntilMs) return;
    this.consecutiveRateLimits++;
    const backoff = jitter(Math.min(this.opts.rateLimitBaseMs * 2 ** (this.consecutiveRateLimits - 1), this.opts.rateLimitMaxMs));
    const pauseMs = Math.max(retryAfterMs ?? 0, backoff);
    this.pausedUntilMs = now + pauseMs;
    this.bucket.setRate(Math.max(1, this.bucket.ratePerSecond / 2));
    this.log.warn({ pauseMs, ratePerSecond: this.bucket.ratePerSecond, retryAfterMs }, 'Stripe rate-limited meter events (429); pausing');
  }

  /** Writes the batch's outcomes: sent in one statement, released in one, failures in one. */
  private async record(rows: ClaimedRow[], outcomes: Map<string, RowOutcome>, result: FlushResult): Promise<void> {
    const conn = this.options.orm.em.getConnection();
    const sent: string[] = [];
    const released: string[] = [];
    let duplicates = 0;
    for (const row of rows) {
      const o = outcomes.get(row.id) ?? { status: 'released' };
      if (o.status === 'sent') {
        sent.push(row.id);
        if (o.duplicate) duplicates++;
      } else if (o.status === 'released') released.push(row.id);
    }
    if (sent.length > 0) {
      await conn.execute(
        `update "usage_records" set "sent_at" = now(), "send_attempts" = "send_attempts" + 1, "last_error" = null, "next_attempt_at" = null
          where "id" in (?) and "sent_at" is null`,
        [sent],
        'run',
      );
      this.metrics.sent.inc({ result: 'created' }, sent.length - duplicates);
      if (duplicates > 0) this.metrics.sent.inc({ result: 'duplicate' }, duplicates);
    }
    if (released.length > 0) {
      const delayMs = Math.max(0, this.pausedUntilMs - Date.now());
      await conn.execute(
        `update "usage_records" set "next_attempt_at" = now() + (? * interval '1 millisecond') where "id" in (?) and "sent_at" is null`,
        [delayMs, released],
        'run',
      );
    }
    const failures: { row: ClaimedRow; kind: FailureKind; reason: string; attempts: number; park: boolean; delayMs: number }[] = [];
    for (const row of rows) {
      const o = outcomes.get(row.id);
      if (o?.status !== 'failed') continue;
      const attempts = Number(row.send_attempts) + 1;
      const park = o.kind === 'rejected' && attempts >= this.opts.maxAttempts;
      failures.push({ row, kind: o.kind, reason: o.reason, attempts, park, delayMs: park ? 0 : this.retryDelay(attempts) });
    }
    if (failures.length > 0) {
      // One statement for every failed row (a bad key or an outage fails the whole batch): one round trip, not one per row.
      const json = JSON.stringify(failures.map((f) => ({ id: f.row.id, error: f.reason, delay_ms: f.delayMs, park: f.park })));
      await conn.execute(
        `update "usage_records" as u set "send_attempts" = u."send_attempts" + 1, "last_error" = f.error,
                "next_attempt_at" = now() + (f.delay_ms * interval '1 millisecond'), "parked_at" = case when f.park then now() else null end
          from jsonb_to_recordset(?::jsonb) as f(id text, error text, delay_ms float8, park boolean)
          where u."id" = f.id and u."sent_at" is null`,
        [json],
        'run',
      );
    }
    for (const { row, kind, reason, attempts, park, delayMs } of failures) {
      if (park) {
        result.parked++;
        this.metrics.parkedTotal.inc();
        this.log.error({ usageRecord: row.id, customer: row.customer_id, meter: row.meter, attempts, reason }, 'usage record parked: Stripe rejected it repeatedly');
      } else {
        result.retried++;
        this.log.warn({ usageRecord: row.id, kind, attempts, retryInMs: delayMs, reason }, 'meter event failed; will retry');
      }
    }
    result.sent += sent.length;
    result.duplicates += duplicates;
    result.released += released.length;
    result.pauseMs = Math.max(0, this.pausedUntilMs - Date.now());
  }

  /** Exponential backoff with ±20 % jitter, so rows failing together spread out. */
  private retryDelay(attempts: number): number {
    return jitter(Math.min(this.opts.retryBaseMs * 2 ** (attempts - 1), this.opts.retryMaxMs));
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const pause = this.pausedUntilMs - Date.now();
      if (pause > 0) {
        await sleep(pause, this.abort.signal);
        continue;
      }
      let r: FlushResult | null = null;
      try {
        r = await this.flushOnce();
      } catch (err) {
        // The database itself failed (claim or record): rows stay leased and come back; wait a poll.
        this.log.error({ reason: reasonOf(err) }, 'meter-event flusher could not claim or record a batch');
      }
      if (!this.running) break;
      // A full batch: more is likely due. Otherwise wait for a notify() or the next poll.
      if (r && r.claimed >= this.opts.batchSize && r.released === 0) continue;
      if (r && r.rateLimited > 0) continue;
      await this.idle();
      // Rows keep coming (a verification's every 25 ms): let them gather, so each batch costs its claim
      // and marking statements for many rows, not a few.
      if (this.opts.minGapMs > 0 && this.running) await sleep(this.opts.minGapMs, this.abort.signal);
    }
  }

  private idle(): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.opts.intervalMs);
      timer.unref?.();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }
}

function emptyResult(): FlushResult {
  return { claimed: 0, sent: 0, duplicates: 0, retried: 0, parked: 0, released: 0, rateLimited: 0, pauseMs: 0 };
}

function addInto(total: FlushResult, r: FlushResult): void {
  total.claimed += r.claimed;
  total.sent += r.sent;
  total.duplicates += r.duplicates;
  total.retried += r.retried;
  total.parked += r.parked;
  total.released += r.released;
  total.rateLimited += r.rateLimited;
  total.pauseMs = r.pauseMs;
}

function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
