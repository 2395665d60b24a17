/**
 * The whole path: the emulator delivers signed webhooks (duplicated and reordered) to the gateway's
 * POST /webhooks/stripe, the inbox worker mirrors each event and runs `signals.afterEvent` in its
 * transaction, and graphql-ws clients receive every BillingEvent exactly once, customers only their own.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentMrr } from '../../src/billing/metrics/current-mrr.js';
import { createSignalBus, TOPICS, type SignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import type { RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createWebhookService, type WebhookService } from '../../src/stripe/webhooks/index.js';
import { eventually } from '../support/eventually.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { allEvents, catalog, collect, emulatorWithCatalog, isProbe, startSignalGateway, subscribe, warmUp, type SignalGateway } from './support.js';

let db: TestOrm;
let emu: RunningEmulator;
let stripe: Stripe;
let priceId: (key: string) => Promise<string>;
let bus: SignalBus;
let gw: SignalGateway;
let webhooks: WebhookService;
let endpointCreated: number;

beforeAll(async () => {
  db = await createTestOrm();
  ({ emu, stripe, priceId } = await emulatorWithCatalog(db.orm));
  bus = createSignalBus();
  const signals = createSignals({ bus, config: { mrrMilestones: [10, 100] } });
  // The endpoint's secret is needed before the server (and its port) exists: register first, point it later.
  const endpoint = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/placeholder', enabled_events: ['*'] });
  webhooks = createWebhookService({ orm: db.orm, stripe, webhookSecret: endpoint.secret!, catalog, afterEvent: signals.afterEvent, worker: { pollIntervalMs: 50, retryBaseMs: 50 } });
  gw = await startSignalGateway(db.orm, bus, { mountBeforeJson: (app) => webhooks.mount(app) });
  await stripe.webhookEndpoints.update(endpoint.id, { url: `${gw.url}/webhooks/stripe` });
  endpointCreated = (await allEvents(stripe)).length;
  webhooks.start();
});
afterAll(async () => {
  await webhooks?.stop();
  await gw?.close();
  await bus?.close();
  await emu?.close();
  await db?.dispose();
});

async function count(sql: string): Promise<number> {
  const rows = await db.orm.em.fork().getConnection().execute<{ n: string | number }[]>(sql);
  return Number(rows[0]!.n);
}

describe('webhooks → worker → signals → graphql-ws', () => {
  it('delivers each BillingEvent of a chaotic delivery exactly once, to admins and to its own customer', async () => {
    const admin = await gw.token('ops', 'admin');
    const all = await collect<any>(gw.wsUrl, admin, 'subscription { billingEvents { id type customerId amount { amount } message } }', 'billingEvents');
    const erinSees = await collect<any>(gw.wsUrl, await gw.token('erin'), 'subscription { billingEvents { id type customerId } }', 'billingEvents');
    await warmUp(bus, [{ c: all }, { c: erinSees, owner: 'erin' }]);

    emu.emulator.webhooks.setChaos({ duplicate: 0.5, reorder: 6, seed: 11 });
    const erin = await subscribe(stripe, await priceId('basic_monthly'), { externalId: 'erin' });
    const item = erin.subscription.items.data[0]!;
    await stripe.subscriptions.update(erin.subscription.id, { items: [{ id: item.id, price: await priceId('pro_monthly'), quantity: 3 }] });
    await stripe.subscriptions.update(erin.subscription.id, { cancel_at_period_end: true });
    await subscribe(stripe, await priceId('pro_yearly'), { externalId: 'frank', quantity: 2 });
    const gus = await subscribe(stripe, await priceId('basic_monthly'), { externalId: 'gus' });
    await stripe.subscriptions.cancel(gus.subscription.id);
    const failing = await stripe.customers.create({ metadata: { external_id: 'hal' }, payment_method: 'pm_card_chargeCustomerFail', invoice_settings: { default_payment_method: 'pm_card_chargeCustomerFail' } });
    await stripe.subscriptions.create({ customer: failing.id, items: [{ price: await priceId('basic_monthly') }], payment_behavior: 'allow_incomplete' });

    // Everything delivered (duplicates included) and processed.
    const emitted = (await allEvents(stripe)).length - endpointCreated;
    await emu.emulator.webhooks.idle();
    // Done = every event recorded and out of the queue (processed, or ignored for types without a handler).
    const settled = `select count(*) as n from webhook_events where status in ('processed', 'ignored')`;
    await eventually(`${emitted} events settled`, () => count(settled), (n) => n >= emitted);
    expect(await count(`select count(*) as n from webhook_events where status = 'parked'`)).toBe(0);
    expect(emu.emulator.webhooks.attempts().length).toBeGreaterThan(emitted); // duplicates were sent
    expect(await count(`select count(*) as n from webhook_events`)).toBe(emitted);

    // A last probe: delivery is in order, so once it arrives everything published before it has too.
    bus.publish(TOPICS.billingEvents, { id: 'probe_end', type: 'CUSTOMER_CREATED', occurredAt: new Date().toISOString(), customerId: null, customerExternalId: 'erin', subscriptionId: null, invoiceId: null, amount: null, message: 'probe' });
    await Promise.all([all.until((e) => e.id === 'probe_end'), erinSees.until((e) => e.id === 'probe_end')]);

    const stored = await db.orm.em.fork().getConnection().execute<{ id: string; type: string; customer_id: string | null; message: string }[]>('select id, type, customer_id, message from billing_events');
    const ids = (list: any[]) => list.filter((e) => !isProbe(e)).map((e) => e.id).sort();
    expect(ids(all.values)).toEqual(stored.map((r) => r.id).sort());
    const erins = stored.filter((r) => r.customer_id === erin.customer.id);
    expect(ids(erinSees.values)).toEqual(erins.map((r) => r.id).sort());
    expect(new Set(stored.map((r) => r.type))).toEqual(
      new Set(['CUSTOMER_CREATED', 'SUBSCRIPTION_STARTED', 'SUBSCRIPTION_UPDATED', 'SUBSCRIPTION_CANCELED', 'INVOICE_CREATED', 'PAYMENT_RECEIVED', 'PAYMENT_FAILED', 'MRR_UPDATED', 'MILESTONE_REACHED']),
    );
    // One payment per paid invoice although invoice.paid and invoice.payment_succeeded both arrived (some twice).
    const paidInvoices = await count(`select count(*) as n from invoices where status = 'paid' and amount_paid > 0`);
    expect(stored.filter((r) => r.type === 'PAYMENT_RECEIVED')).toHaveLength(paidInvoices);
    expect(stored.filter((r) => r.type === 'CUSTOMER_CREATED')).toHaveLength(4);
    expect(stored.find((r) => r.type === 'PAYMENT_FAILED')!.message).toBe(`payment_failed customer=${failing.id} retry=1`);
    // The last MRR_UPDATED is the mirror's MRR: erin 3 × $5 (cancels at period end, still active) + frank 2 × $50 / 12.
    const mrr = await currentMrr(db.orm.em.fork());
    expect(mrr.currencies).toEqual([{ currency: 'usd', amount: 1500 + 833, subscriptions: 2 }]);
    const last = await db.orm.em.fork().getConnection().execute<{ amount: string }[]>(`select amount from billing_events where type = 'MRR_UPDATED' order by created_at desc limit 1`);
    expect(Number(last[0]!.amount)).toBe(2333);

    await all.dispose();
    await erinSees.dispose();
  });
});
