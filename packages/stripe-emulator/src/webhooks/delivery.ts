import type Stripe from 'stripe';
import { newId, newSecret } from '../ids.js';
import type { Events } from '../events.js';
import type { Store, Stored } from '../store.js';
import { reorderWindow, seededRandom, shuffle, type ChaosSpec } from './chaos.js';
import { DeliveryClient } from './http-post.js';
import { signatureHeader } from './signature.js';

export interface WebhookRetryOptions {
  /** Attempts per delivery, the first included. Default 6. */
  maxAttempts?: number;
  /** Delay before the first retry; doubles each time (emulator-scaled Stripe backoff). Default 1000 ms. */
  retryBaseMs?: number;
  /** Cap on the delay between attempts. Default 30000 ms. */
  retryMaxMs?: number;
  /** An attempt that gets no answer within this is a failure. Default 10000 ms. */
  timeoutMs?: number;
  /** Deliveries in flight per endpoint (started in emission order). Default 4. */
  concurrency?: number;
}

/** One HTTP attempt to deliver an event, as listed by `GET /_emulator/deliveries`. */
export interface DeliveryAttempt {
  id: string;
  event: string;
  type: string;
  endpoint: string;
  url: string;
  attempt: number;
  /** The receiver's HTTP status, null when it did not answer. */
  status: number | null;
  ok: boolean;
  error: string | null;
  /** Sent as a chaos duplicate. */
  duplicate: boolean;
  at: number;
  duration_ms: number;
}

/** What the delivery engine needs to know about an endpoint. */
interface Target {
  id: string;
  url: string;
  secret: string;
  enabledEvents: string[];
}

interface Job {
  event: Stripe.Event;
  payload: string;
  endpointId: string;
  attempt: number;
  duplicate: boolean;
}

interface EndpointQueue {
  pending: Job[];
  active: number;
}

export type WebhookEndpointRecord = Stripe.WebhookEndpoint & Stored;
export const FORWARD_ENDPOINT_ID = 'we_forward';
const LOG_LIMIT = 10_000;

/** What delivery needs of the emulator: its store, its events and its options (passed in, so this module does not import it). */
export interface DeliveryHost {
  readonly store: Store;
  readonly events: Events;
  readonly options: { webhookSecret?: string; forwardTo?: string; webhookRetry?: WebhookRetryOptions; chaos?: ChaosSpec; seed?: number };
}

/** The signing secret of a stored webhook endpoint (kept beside it: Stripe shows it only on create). */
export function endpointSecret(emu: Pick<DeliveryHost, 'store'>, endpointId: string): string | undefined {
  return emu.store.get<{ id: string; secret: string }>('webhook_endpoint_secret', endpointId)?.secret;
}

/**
 * Delivers events to webhook endpoints as Stripe does: a signed JSON POST per enabled endpoint whose
 * `enabled_events` match, retried with exponential backoff on a non-2xx answer or a timeout. Per
 * endpoint, deliveries start in emission order with a few in flight. Chaos options duplicate,
 * reorder, delay or hold them for tests of consumers.
 */
export class WebhookDelivery {
  /** The implicit endpoint of `forwardTo` (like `stripe listen`): all events, not listed by the API. */
  readonly forward: Target | null;
  private readonly queues = new Map<string, EndpointQueue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private readonly client = new DeliveryClient();
  private readonly log: DeliveryAttempt[] = [];
  private held: Stripe.Event[] = [];
  private reorderBuffer: Stripe.Event[] = [];
  private reorderTimer: NodeJS.Timeout | undefined;
  private chaosSpec: ChaosSpec = {};
  private random: () => number = Math.random;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly retry: Required<WebhookRetryOptions>;

  constructor(private readonly emu: DeliveryHost) {
    const o = emu.options;
    this.retry = {
      maxAttempts: o.webhookRetry?.maxAttempts ?? 6,
      retryBaseMs: o.webhookRetry?.retryBaseMs ?? 1000,
      retryMaxMs: o.webhookRetry?.retryMaxMs ?? 30_000,
      timeoutMs: o.webhookRetry?.timeoutMs ?? 10_000,
      concurrency: o.webhookRetry?.concurrency ?? 4,
    };
    this.forward = o.forwardTo
      ? { id: FORWARD_ENDPOINT_ID, url: o.forwardTo, secret: o.webhookSecret ?? newSecret('whsec'), enabledEvents: ['*'] }
      : null;
    this.setChaos(o.chaos ?? {}, o.seed);
    emu.events.onEvent((event) => this.onEvent(event));
  }

  get chaos(): ChaosSpec {
    return { ...this.chaosSpec };
  }

  /** Replaces the chaos settings (`{}` turns chaos off; held events stay held until released). */
  setChaos(spec: ChaosSpec, seed = spec.seed): void {
    this.chaosSpec = { ...spec };
    if (seed !== undefined) this.random = seededRandom(seed);
    if (!reorderWindow(this.chaosSpec)) this.flushReorder();
  }

  /** Delivers the held events (in emission order, or shuffled when reorder is on). */
  release(): number {
    const held = this.held;
    this.held = [];
    for (const event of held) this.dispatch(event);
    this.flushReorder();
    return held.length;
  }

  get heldCount(): number {
    return this.held.length;
  }

  attempts(filter: { event?: string; endpoint?: string; type?: string } = {}): DeliveryAttempt[] {
    return this.log.filter(
      (a) =>
        (!filter.event || a.event === filter.event) &&
        (!filter.endpoint || a.endpoint === filter.endpoint) &&
        (!filter.type || a.type === filter.type),
    );
  }

  /** Resolves when nothing is queued, in flight, delayed or waiting for a retry (held events excepted). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops queued work, held events and the attempt log (the `/_emulator/reset` of deliveries). */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const q of this.queues.values()) q.pending = [];
    this.held = [];
    this.reorderBuffer = [];
    this.log.length = 0;
    this.notifyIdle();
  }

  close(): void {
    this.closed = true;
    this.reset();
    if (this.reorderTimer) clearTimeout(this.reorderTimer);
    this.reorderTimer = undefined;
    this.abort.abort();
    this.client.destroy();
  }

  private targets(): Target[] {
    const out: Target[] = [];
    for (const ep of this.emu.store.all<WebhookEndpointRecord>('webhook_endpoint')) {
      if (ep.status !== 'enabled') continue;
      const secret = endpointSecret(this.emu, ep.id);
      if (secret) out.push({ id: ep.id, url: ep.url, secret, enabledEvents: ep.enabled_events });
    }
    if (this.forward) out.push(this.forward);
    return out;
  }

  private target(id: string): Target | undefined {
    return id === FORWARD_ENDPOINT_ID ? (this.forward ?? undefined) : this.targets().find((t) => t.id === id);
  }

  private matching(event: Stripe.Event): Target[] {
    return this.targets().filter((t) => t.enabledEvents.includes('*') || t.enabledEvents.includes(event.type));
  }

  private onEvent(event: Stripe.Event): void {
    if (this.closed) return;
    const targets = this.matching(event);
    (event as { pending_webhooks: number }).pending_webhooks = targets.filter((t) => t.id !== FORWARD_ENDPOINT_ID).length;
    if (targets.length === 0) return;
    if (this.chaosSpec.hold) {
      this.held.push(event);
      return;
    }
    this.dispatch(event);
  }

  private dispatch(event: Stripe.Event): void {
    const window = reorderWindow(this.chaosSpec);
    if (!window) return this.route(event);
    this.reorderBuffer.push(event);
    if (this.reorderBuffer.length >= window) this.flushReorder();
    else if (!this.reorderTimer) {
      // A partial window is shuffled and sent shortly, so nothing waits for events that never come.
      this.reorderTimer = setTimeout(() => this.flushReorder(), 25);
    }
  }

  private flushReorder(): void {
    if (this.reorderTimer) clearTimeout(this.reorderTimer);
    this.reorderTimer = undefined;
    const batch = shuffle(this.reorderBuffer, this.random);
    this.reorderBuffer = [];
    for (const event of batch) this.route(event);
  }

  /** Queues one job per matching endpoint (two for a chaos duplicate), after any chaos delay. */
  private route(event: Stripe.Event): void {
    const payload = JSON.stringify(event, null, 2);
    for (const target of this.matching(event)) {
      const copies = this.chaosSpec.duplicate && this.random() < this.chaosSpec.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const job: Job = { event, payload, endpointId: target.id, attempt: 0, duplicate: i > 0 };
        const delay = this.chaosDelay();
        if (delay > 0) this.later(delay, () => this.enqueue(job));
        else this.enqueue(job);
      }
    }
  }

  private chaosDelay(): number {
    const range = this.chaosSpec.delayMs;
    if (!range) return 0;
    return Math.round(range[0] + this.random() * (range[1] - range[0]));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private enqueue(job: Job): void {
    if (this.closed) return;
    let q = this.queues.get(job.endpointId);
    if (!q) this.queues.set(job.endpointId, (q = { pending: [], active: 0 }));
    q.pending.push(job);
    this.pump(q);
  }

  private pump(q: EndpointQueue): void {
    while (q.active < this.retry.concurrency && q.pending.length > 0) {
      const job = q.pending.shift()!;
      q.active++;
      void this.send(job).finally(() => {
        q.active--;
        this.pump(q);
        this.notifyIdle();
      });
    }
  }

  private async send(job: Job): Promise<void> {
    const target = this.target(job.endpointId);
    if (!target || this.closed) return;
    job.attempt++;
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await this.client.post(
        target.url,
        {
          'Content-Type': 'application/json; charset=utf-8',
          'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'Stripe-Signature': signatureHeader(job.payload, target.secret),
        },
        job.payload,
        this.retry.timeoutMs,
        this.abort.signal,
      );
    } catch (err) {
      error = (err as Error).message;
    }
    if (this.closed) return;
    const ok = status !== null && status >= 200 && status < 300;
    this.log.push({
      id: newId('whatt', 14),
      event: job.event.id,
      type: job.event.type,
      endpoint: target.id,
      url: target.url,
      attempt: job.attempt,
      status,
      ok,
      error: ok ? null : (error ?? `HTTP ${status}`),
      duplicate: job.duplicate,
      at: started,
      duration_ms: Date.now() - started,
    });
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    if (ok) {
      if (!job.duplicate && target.id !== FORWARD_ENDPOINT_ID) {
        const stored = this.emu.store.get<Stored & { pending_webhooks: number }>('event', job.event.id);
        if (stored && stored.pending_webhooks > 0) {
          stored.pending_webhooks--;
          this.emu.store.changed();
        }
      }
      return;
    }
    if (job.attempt >= this.retry.maxAttempts) return;
    const delay = Math.min(this.retry.retryBaseMs * 2 ** (job.attempt - 1), this.retry.retryMaxMs);
    this.later(delay, () => this.enqueue(job));
  }

  private isIdle(): boolean {
    if (this.timers.size > 0 || this.reorderBuffer.length > 0) return false;
    for (const q of this.queues.values()) if (q.active > 0 || q.pending.length > 0) return false;
    return true;
  }

  private notifyIdle(): void {
    if (!this.isIdle() || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
