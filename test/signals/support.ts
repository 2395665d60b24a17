/**
 * What the signal tests share: the emulator with the default catalog, a stand-in for the webhook
 * worker (mirror the event's object, then `afterEvent`, in one transaction, as the webhook worker does), and
 * a graphql-ws client that collects what a subscription receives.
 */
import type { Express } from 'express';
import type Stripe from 'stripe';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadCatalog, type Catalog } from '../../src/catalog.js';
import type { BillingEventTypeValue } from '../../src/db/entities/billing-event.js';
import type { Orm } from '../../src/db/orm.js';
import { signDevToken } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { createSignalBus, TOPICS, type BillingEventPayload, type SignalBus } from '../../src/events/index.js';
import { type Signals } from '../../src/billing/signals/index.js';
import { createGatewayServer, type GatewayServer } from '../../src/http/server.js';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { mirrorObject, type MirrorableObject } from '../../src/stripe/mirror/index.js';
import { afterAll, beforeAll } from 'vitest';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { emulatorWithClient } from '../support/emulator.js';

export const catalog: Catalog = loadCatalog();

export async function emulatorWithCatalog(orm: Orm) {
  const { emu, stripe } = await emulatorWithClient();
  const report = await syncCatalog(stripe, catalog);
  await orm.em.fork().transactional((em) => mirrorCatalog(em, { products: report.products, prices: report.prices, meters: report.meters }));
  const priceId = async (lookupKey: string) => (await stripe.prices.list({ lookup_keys: [lookupKey] })).data[0]!.id;
  return { emu, stripe, priceId };
}

/** Every event the emulator emitted so far, oldest first. */
export async function allEvents(stripe: Stripe): Promise<Stripe.Event[]> {
  const out: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100 })) out.push(e);
  return out.reverse();
}

/** The worker's step for one event: mirror its object, then derive the signals, in one transaction. */
export async function processEvent(orm: Orm, signals: Signals, stripe: Stripe, event: Stripe.Event): Promise<void> {
  await orm.em.fork().transactional(async (tx) => {
    await mirrorObject(tx, event.data.object as MirrorableObject, { catalog, stripe, eventType: event.type, lastEventAt: new Date(event.created * 1000) });
    await signals.afterEvent(tx, event);
  });
}

/** A customer with a card and `n` subscriptions to `plan`. */
export async function subscribe(stripe: Stripe, priceId: string, opts: { email?: string; externalId?: string; quantity?: number } = {}) {
  const customer = await stripe.customers.create({
    email: opts.email ?? 'a@example.com',
    payment_method: 'pm_card_visa',
    invoice_settings: { default_payment_method: 'pm_card_visa' },
    metadata: opts.externalId ? { external_id: opts.externalId } : {},
  });
  const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: priceId, quantity: opts.quantity ?? 1 }] });
  return { customer, subscription };
}

export interface Collected<T> {
  values: T[];
  errors: unknown[];
  /** Resolves once `n` values arrived (or rejects on a subscription error). */
  waitFor(n: number): Promise<T[]>;
  /** Resolves once a value satisfies `pred` (or rejects on a subscription error). */
  until(pred: (value: T) => boolean): Promise<T[]>;
  client: Client;
  dispose(): Promise<void>;
}

/** Subscribes over graphql-ws and collects `data[field]` of each result. Resolves once the server acknowledged the connection. */
export async function collect<T = any>(wsUrl: string, token: string, query: string, field: string, variables?: Record<string, unknown>): Promise<Collected<T>> {
  // onNonLazyError: a close reaches `closed` and the sink below; graphql-ws would also console.error it.
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined });
  const values: T[] = [];
  const errors: unknown[] = [];
  let waiters: { done: (values: T[]) => boolean; resolve: (v: T[]) => void; reject: (e: unknown) => void }[] = [];
  const settle = () => {
    waiters = waiters.filter((w) => {
      if (errors.length) w.reject(errors[0]);
      else if (w.done(values)) w.resolve(values.slice());
      else return true;
      return false;
    });
  };
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (e) => reject(new Error(`closed: ${(e as { code?: number }).code}`)));
  });
  client.subscribe(
    { query, variables },
    {
      next: (r) => {
        if (r.errors?.length) errors.push(r.errors);
        else values.push((r.data as Record<string, T>)[field]!);
        settle();
      },
      error: (e) => {
        errors.push(e);
        settle();
      },
      complete: () => {},
    },
  );
  const until = (done: (values: T[]) => boolean) =>
    new Promise<T[]>((resolve, reject) => {
      waiters.push({ done, resolve, reject });
      settle();
    });
  return {
    values,
    errors,
    client,
    waitFor: (n) => until((v) => v.length >= n),
    until: (pred) => until((v) => v.some(pred)),
    dispose: () => client.dispose() as Promise<void>,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// A gateway server with a signal bus, on a given ORM (two of them may share one database).


export const TEST_SECRET = 'signals-test-secret-0123456789-abcdefghij';

export interface SignalGateway {
  server: GatewayServer;
  url: string;
  wsUrl: string;
  token(sub: string, role?: 'admin' | 'customer'): Promise<string>;
  gql(query: string, token?: string): Promise<{ data?: any; errors?: { message: string; extensions?: Record<string, any> }[] }>;
  close(): Promise<void>;
}

export async function startSignalGateway(
  orm: Orm,
  bus: SignalBus,
  extra: { mountBeforeJson?: (app: Express) => void; env?: Record<string, string> } = {},
): Promise<SignalGateway> {
  // Rate limits off: the warm-up below subscribes and publishes in a loop.
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: TEST_SECRET, RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0', ...extra.env });
  const server = await createGatewayServer({ config, orm, catalog, bus, checkStripe: async () => undefined, mountBeforeJson: extra.mountBeforeJson });
  const port = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return {
    server,
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    token: (sub, role) => signDevToken({ sub, ...(role ? { role } : {}) }, TEST_SECRET),
    async gql(query, token) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
      return res.json() as Promise<any>;
    },
    close: () => server.close(),
  };
}

/**
 * A signal gateway on an in-memory bus and a database of its own, started before the calling file's
 * tests and closed after them; its fields are set once they start.
 */
export function signalGatewayForFile(extra: Parameters<typeof startSignalGateway>[2] = {}): { db: TestOrm; bus: SignalBus; gw: SignalGateway } {
  const started = {} as { db: TestOrm; bus: SignalBus; gw: SignalGateway };
  beforeAll(async () => {
    started.db = await createTestOrm();
    started.bus = createSignalBus();
    started.gw = await startSignalGateway(started.db.orm, started.bus, extra);
  });
  afterAll(async () => {
    await started.gw?.close();
    await started.bus?.close();
    await started.db?.dispose();
  });
  return started;
}

let eventSeq = 0;
/** A CUSTOMER_CREATED billing event of `owner` (an externalId; null: nobody's) with a fresh id, to publish on a bus. */
export function billingEvent(owner: string | null, message = 'hello'): BillingEventPayload {
  return {
    id: `evt_test_${++eventSeq}`,
    type: 'CUSTOMER_CREATED',
    occurredAt: new Date(0).toISOString(),
    customerId: null,
    customerExternalId: owner,
    subscriptionId: null,
    invoiceId: null,
    amount: null,
    message,
  };
}

export const PROBE_PREFIX = 'probe_';

/**
 * A subscription starts some time after the socket is acknowledged, with no message saying so. Publish
 * probes on `bus` until every collector has received one; the tests then ignore probes (id `probe_…`).
 * `owner` is the externalId a probe claims, so customer subscriptions see it too; `type`, for filtered ones.
 */
export async function warmUp(bus: SignalBus, collectors: { c: Collected<any>; owner?: string; type?: BillingEventTypeValue; topic?: 'events' | 'mrr' | 'milestones' }[]): Promise<void> {
  let n = 0;
  const probe = () => {
    n++;
    for (const { owner, type = 'CUSTOMER_CREATED', topic = 'events' } of collectors) {
      if (topic === 'events')
        bus.publish(TOPICS.billingEvents, {
          id: `${PROBE_PREFIX}${n}`,
          type,
          occurredAt: new Date().toISOString(),
          customerId: null,
          customerExternalId: owner ?? null,
          subscriptionId: null,
          invoiceId: null,
          amount: null,
          message: 'probe',
        });
      if (topic === 'mrr') bus.publish(TOPICS.mrrUpdated, { asOf: new Date(0).toISOString(), totals: [], activeSubscriptions: -1, byPlan: [] });
      if (topic === 'milestones')
        bus.publish(TOPICS.milestoneReached, { threshold: { amount: -1, currency: 'usd' }, mrr: { amount: -1, currency: 'usd' }, reachedAt: new Date(0).toISOString() });
    }
  };
  const timer = setInterval(probe, 25);
  try {
    await Promise.all(collectors.map(({ c }) => c.waitFor(1)));
  } finally {
    clearInterval(timer);
  }
}

export const isProbe = (v: { id?: string; activeSubscriptions?: number; threshold?: { amount: number } }): boolean =>
  (typeof v.id === 'string' && v.id.startsWith(PROBE_PREFIX)) || v.activeSubscriptions === -1 || v.threshold?.amount === -1;
