import type Stripe from 'stripe';
import { Events } from './events.js';
import { Store, type Stored } from './store.js';
import type { ChaosSpec } from './webhooks/chaos.js';
import { WebhookDelivery, type WebhookRetryOptions } from './webhooks/delivery.js';

export const API_VERSION = '2026-10-28.endive';

export interface EmulatorOptions {
  /** Where state.json lives; omitted = memory only. */
  dataDir?: string;
  /** Signing secret for the endpoint created by `forwardTo` (and the default for new endpoints). */
  webhookSecret?: string;
  /** Deliver every event to this URL, as `stripe listen --forward-to` does. */
  forwardTo?: string;
  /** Webhook retry/backoff/timeout/concurrency (scaled down from Stripe's days to seconds). */
  webhookRetry?: WebhookRetryOptions;
  /** Chaos delivery from the start (also settable with `POST /_emulator/chaos`). */
  chaos?: ChaosSpec;
  /** Seed for chaos decisions, so a run can be reproduced. */
  seed?: number;
  /** Meter events accepted per second; beyond it `POST /v1/billing/meter_events` answers 429 `rate_limit`. */
  meterEventsPerSecond?: number;
}

/** Injected failures for tests: the next `count` API requests, or a `rate` fraction of them, fail. */
export interface FaultSpec {
  status: 429 | 500 | 503;
  count?: number;
  rate?: number;
  /** Only requests whose path starts with this (e.g. `/v1/billing/meter_events`). */
  pathPrefix?: string;
  /** Seconds sent as `Retry-After` with an injected 429 (Stripe sends none by default; proxies and gateways may). */
  retryAfter?: number;
}

/** Runs when a customer is deleted (directly or with its test clock), before `customer.deleted` is emitted. */
export type CustomerDeleteHook = (customer: Stripe.Customer & Stored) => void;

/** Runs when the emulator closes: stop timers, close connections. */
export type CloseHook = () => void | Promise<void>;

export type ClockAdvanceHook = (clock: Stripe.TestHelpers.TestClock, from: number, to: number) => void | Promise<void>;
/** Computes a field that Stripe only includes when expanded (e.g. `invoice.confirmation_secret`). */
export type Includable = (obj: Stored, emu: Emulator) => unknown;

/**
 * The emulator's state and the seams between its parts: the store, events, test-clock time,
 * hooks run when a test clock advances (billing), and expansion rules. Resource modules receive
 * it; nothing here knows about HTTP.
 */
export class Emulator {
  readonly store: Store;
  readonly events: Events;
  readonly clockAdvanceHooks: ClockAdvanceHook[] = [];
  /** E.g. billing cancels the customer's subscriptions. */
  readonly customerDeleteHooks: CustomerDeleteHook[] = [];
  /** Signed deliveries of events to webhook endpoints (and `forwardTo`). */
  readonly webhooks: WebhookDelivery;
  /** kind → field → value computed on expand. */
  readonly includables = new Map<string, Map<string, Includable>>();
  /** Public base URL of the HTTP server (for hosted pages); set once listening. */
  baseUrl = 'http://127.0.0.1:12111';
  faults: FaultSpec | null = null;
  private readonly closeHooks: CloseHook[] = [];
  private closing: Promise<void> | null = null;

  constructor(readonly options: EmulatorOptions = {}) {
    this.store = new Store(options.dataDir);
    this.events = new Events(this.store, API_VERSION, (obj) => this.nowFor(obj));
    this.webhooks = new WebhookDelivery(this);
  }

  /** Wall-clock seconds. */
  realNow(): number {
    return Math.floor(Date.now() / 1000);
  }

  /**
   * "Now" for an object: the frozen time of its test clock (its own `test_clock`, or its customer's),
   * else the wall clock. Everything billed or timestamped goes through this.
   */
  nowFor(obj?: Record<string, unknown> | string | null): number {
    const clockId = this.clockIdOf(obj);
    if (clockId) {
      const clock = this.store.get<Stripe.TestHelpers.TestClock & Stored>('test_helpers.test_clock', clockId);
      if (clock) return clock.frozen_time;
    }
    return this.realNow();
  }

  /** The test clock governing an object or customer id, if any. */
  clockIdOf(obj?: Record<string, unknown> | string | null): string | null {
    if (!obj) return null;
    if (typeof obj === 'string') {
      const customer = this.store.get<Stored>('customer', obj);
      return customer ? this.clockIdOf(customer) : null;
    }
    if (obj.object === 'test_helpers.test_clock') return obj.id as string;
    const own = obj.test_clock;
    if (typeof own === 'string') return own;
    if (own && typeof own === 'object') return (own as { id: string }).id;
    const customer = obj.customer;
    if (typeof customer === 'string') return this.clockIdOf(customer);
    if (customer && typeof customer === 'object') return this.clockIdOf((customer as { id: string }).id);
    return null;
  }

  /** Registers something to stop when the emulator closes (timers, connections); run newest first. */
  onClose(hook: CloseHook): void {
    this.closeHooks.push(hook);
  }

  /**
   * Stops everything the emulator runs by itself: webhook deliveries (queued, retrying, in flight),
   * the close hooks (e.g. billing's wall-clock timer), then writes the state out. Idempotent. The HTTP
   * server is `startEmulator`'s to close.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.webhooks.close();
      for (const hook of [...this.closeHooks].reverse()) await hook();
      this.store.flush();
    })();
    return this.closing;
  }

  onClockAdvance(hook: ClockAdvanceHook): void {
    this.clockAdvanceHooks.push(hook);
  }

  includable(kind: string, field: string, compute: Includable): void {
    let m = this.includables.get(kind);
    if (!m) this.includables.set(kind, (m = new Map()));
    m.set(field, compute);
  }
}
