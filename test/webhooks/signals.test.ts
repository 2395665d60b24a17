/**
 * Webhooks to live signals, end to end in one gateway: a customer's lifecycle delivered to
 * `POST /webhooks/stripe` shuffled and with duplicates, processed by the worker with the billing
 * signals as its `afterEvent`; a graphql-ws client subscribed to `billingEvents` receives each stored
 * BillingEvent exactly once.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config.js';
import { createSignalBus, type SignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import { createGatewayServer, type GatewayServer } from '../../src/http/server.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { isHandledEventType } from '../../src/stripe/sync/handlers.js';
import { createWebhookService, type WebhookService } from '../../src/stripe/webhooks/index.js';
import { collect, isProbe, warmUp } from '../signals/support.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { allEvents, DAY, planPrice, SECRET, seeded, shuffled, stripeSide, type StripeSide } from './support.js';
import { eventually } from '../support/eventually.js';
import { advanceClock } from '../support/test-clock.js';

const JWT_SECRET = 'webhook-signals-test-secret-0123456789abcd';

let side: StripeSide;
let db: TestOrm;
let bus: SignalBus;
let service: WebhookService;
let server: GatewayServer;
let base: string;

beforeAll(async () => {
  side = await stripeSide();
  db = await createTestOrm();
  await mirrorCatalog(db.orm.em.fork(), side.catalogReport);
  bus = createSignalBus();
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: JWT_SECRET, RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0', MRR_MILESTONES: '1,5' });
  const signals = createSignals({ bus, config });
  service = createWebhookService({ orm: db.orm, stripe: side.stripe, webhookSecret: SECRET, catalog: side.catalog, afterEvent: (em, e) => signals.afterEvent(em, e) });
  server = await createGatewayServer({ config, orm: db.orm, catalog: side.catalog, bus, checkStripe: async () => undefined, mountBeforeJson: (app) => service.mount(app) });
  base = `127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
  service.start();
});
afterAll(async () => {
  await service?.stop();
  await server?.close();
  await bus?.close();
  await db?.dispose();
  await side?.close();
});

/** Delivers `event` to the gateway's webhook route, signed. */
async function deliver(event: Stripe.Event): Promise<void> {
  const payload = JSON.stringify(event);
  const res = await fetch(`http://${base}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': side.stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
    body: payload,
  });
  expect(res.status).toBe(200);
}

describe('webhooks → billingEvents', () => {
  it('a lifecycle delivered shuffled with duplicates reaches a subscriber once per BillingEvent', async () => {
    const { stripe } = side;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Date.UTC(2026, 0, 1) / 1000 });
    const customer = await stripe.customers.create({ email: 'live@example.com', test_clock: clock.id, metadata: { external_id: 'user_live' } });
    const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: (await planPrice(stripe, 'pro_monthly')).id, quantity: 2 }] });
    let t = Date.UTC(2026, 0, 1) / 1000;
    for (let i = 0; i < 3; i++) {
      t += 31 * DAY;
      await advanceClock(stripe, clock.id, t);
    }
    await stripe.subscriptions.cancel(sub.id);
    const events = (await allEvents(stripe)).filter((e) => isHandledEventType(e.type));

    const admin = await signDevToken({ sub: 'ops', role: 'admin' }, JWT_SECRET);
    const mine = await signDevToken({ sub: 'user_live' }, JWT_SECRET);
    const other = await signDevToken({ sub: 'user_other' }, JWT_SECRET);
    const query = `subscription { billingEvents { id type customerId message } }`;
    const all = await collect<{ id: string; type: string; customerId: string | null }>(`ws://${base}/graphql`, admin, query, 'billingEvents');
    const own = await collect<{ id: string; type: string; customerId: string | null }>(`ws://${base}/graphql`, mine, query, 'billingEvents');
    const stranger = await collect<{ id: string }>(`ws://${base}/graphql`, other, query, 'billingEvents');
    try {
      await warmUp(bus, [{ c: all }, { c: own, owner: 'user_live' }, { c: stranger, owner: 'user_other' }]);

      const random = seeded(21);
      const deliveries: Stripe.Event[] = [];
      for (const e of shuffled(events, random)) {
        deliveries.push(e);
        if (random() < 0.4) deliveries.push(e);
      }
      for (const e of deliveries) await deliver(e);
      const conn = db.orm.em.getConnection();
      const unsettled = async () => Number((await conn.execute<{ n: string }[]>(`select count(*) as n from webhook_events where status in ('pending', 'processing')`))[0]!.n);
      await eventually('the inbox to be worked off', unsettled, (n) => n === 0);

      // The probe: one more event of the customer through the same path (route, inbox, worker, signals,
      // bus, socket), sent once everything above is processed. Each socket delivers in order, so when
      // the probe's signal has arrived, anything published for the events above, a duplicate included,
      // has arrived before it.
      const probeInvoice = await stripe.invoices.create({ customer: customer.id, auto_advance: false });
      const probeEvent = (await allEvents(stripe)).find((e) => e.type === 'invoice.created' && (e.data.object as Stripe.Invoice).id === probeInvoice.id)!;
      await deliver(probeEvent);
      const probeId = (await eventually('the probe to be stored', () => conn.execute<{ id: string }[]>(`select id from billing_events where invoice_id = ?`, [probeInvoice.id]), (r) => r.length === 1))[0]!.id;
      await Promise.all([all.until((v) => v.id === probeId), own.until((v) => v.id === probeId)]);

      const stored = await conn.execute<{ id: string; type: string; customer_id: string | null }[]>(`select id, type, customer_id from billing_events order by id`);
      expect(stored.length).toBeGreaterThanOrEqual(8);
      for (const type of ['CUSTOMER_CREATED', 'SUBSCRIPTION_STARTED', 'PAYMENT_RECEIVED', 'SUBSCRIPTION_CANCELED']) {
        expect(stored.map((s) => s.type), type).toContain(type);
      }
      const real = all.values.filter((v) => !isProbe(v));
      // Exactly once: every stored event, no id twice, nothing else.
      expect(real.map((v) => v.id).sort()).toEqual(stored.map((s) => s.id).sort());

      const ownStored = stored.filter((s) => s.customer_id === customer.id);
      const ownReal = own.values.filter((v) => !isProbe(v));
      expect(ownStored.length).toBeGreaterThanOrEqual(5);
      expect(ownReal.map((v) => v.id).sort()).toEqual(ownStored.map((s) => s.id).sort());
      expect(stranger.values.filter((v) => !isProbe(v))).toEqual([]);
    } finally {
      await Promise.all([all.dispose(), own.dispose(), stranger.dispose()]);
    }
  });
});
