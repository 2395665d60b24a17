/**
 * A renewal on a card that needs 3-D Secure, end to end: the renewal waits for the customer
 * (`invoice.payment_action_required`, the subscription past_due in the mirror), the customer
 * completes the challenge on the hosted invoice page, and the gateway's mirror and BillingEvents
 * follow in order through the signed webhooks and the worker.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingEvent } from '../../src/db/entities/billing-event.js';
import { Invoice } from '../../src/db/entities/invoice.js';
import { Subscription } from '../../src/db/entities/subscription.js';
import { createSignalBus, type SignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import { createWebhookService, type WebhookService } from '../../src/stripe/webhooks/index.js';
import { eventually } from '../support/eventually.js';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

const DAY = 86_400;

let gw: LifecycleGateway;
let hooks: WebhookService;
let hookServer: Server;
let bus: SignalBus;

beforeAll(async () => {
  gw = await startLifecycleGateway();
  bus = createSignalBus();
  const signals = createSignals({ bus, config: gw.config });
  // The gateway's webhook pipeline (with its BillingEvents) on a server of its own, registered at the emulator.
  const app = express();
  hookServer = createServer(app);
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const port = (hookServer.address() as AddressInfo).port;
  const endpoint = await gw.stripe.webhookEndpoints.create({ url: `http://127.0.0.1:${port}/webhooks/stripe`, enabled_events: ['*'] });
  hooks = createWebhookService({
    orm: gw.orm,
    stripe: gw.stripe,
    webhookSecret: endpoint.secret!,
    catalog: gw.catalog,
    worker: { pollIntervalMs: 50 },
    afterEvent: (em, e) => signals.afterEvent(em, e),
  });
  hooks.mount(app);
  hooks.start();
});
afterAll(async () => {
  await hooks?.stop();
  await new Promise((r) => hookServer?.close(r));
  await bus?.close();
  await gw?.close();
});

const mirroredSub = (id: string) => gw.orm.em.fork().findOne(Subscription, { id });
const mirroredInvoice = (id: string) => gw.orm.em.fork().findOne(Invoice, { id });

/** The subscription's BillingEvents since `since` (MRR steps aside), oldest first. */
async function eventsOf(subscriptionId: string, since: Date): Promise<BillingEvent[]> {
  const rows = await gw.orm.em.fork().find(BillingEvent, { subscriptionId, occurredAt: { $gte: since } }, { orderBy: { occurredAt: 'asc', createdAt: 'asc' } });
  return rows.filter((r) => r.type !== 'MRR_UPDATED');
}

/**
 * The events grouped by the moment they happened (seconds on the test clock after `since`), each
 * moment's types sorted: Stripe events of one moment share a timestamp, so only the moments are ordered.
 */
function byMoment(rows: BillingEvent[], since: Date): [number, string[]][] {
  const moments = new Map<number, string[]>();
  for (const r of rows) {
    const at = (r.occurredAt.getTime() - since.getTime()) / 1000;
    moments.set(at, [...(moments.get(at) ?? []), r.type].sort());
  }
  return [...moments];
}

describe('a renewal that needs 3-D Secure', () => {
  it('waits for the customer (past_due), who confirms on the hosted invoice page: invoice paid, subscription active, events in order', async () => {
    const token = await gw.token('user_3ds_renewal', { email: 'renewal@example.com' });
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', quantity: 1, paymentMethod: 'pm_card_visa', idempotencyKey: 'renewal-3ds-1' } }, token);
    expect(errors).toBeUndefined();
    const sub = data!.subscribe.subscription as { id: string; status: string; customer: { id: string }; currentPeriodEnd: string };
    expect(sub.status).toBe('ACTIVE');

    // The customer's bank now asks for 3-D Secure on every payment (a new card, e.g. from the portal).
    const secure = await gw.stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer: sub.customer.id });
    await gw.stripe.subscriptions.update(sub.id, { default_payment_method: secure.id });

    const periodEnd = Date.parse(sub.currentPeriodEnd) / 1000;
    const clockNow = (await gw.stripe.testHelpers.testClocks.retrieve(gw.testClockId)).frozen_time;
    const renewalAt = new Date(periodEnd * 1000);
    await gw.advanceClock(periodEnd - clockNow + 2 * 3600);

    const renewed = await gw.stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(renewed.status).toBe('past_due');
    const invoice = renewed.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'open', billing_reason: 'subscription_cycle' });
    await eventually('past_due in the mirror', async () => (await mirroredSub(sub.id))?.status, (status) => status === 'past_due');

    // The customer follows the hosted invoice link (as in Stripe's "confirm your payment" email) and authenticates.
    expect(await (await fetch(invoice.hosted_invoice_url!)).text()).toContain('Complete authentication');
    const res = await fetch(`${gw.emulator.url}/invoices/${invoice.id}/authenticate`, { method: 'POST', body: new URLSearchParams({ result: 'complete' }), redirect: 'manual' });
    expect(res.status).toBe(303);
    expect((await gw.stripe.invoices.retrieve(invoice.id)).status).toBe('paid');

    await eventually('the renewal to be mirrored', async () => {
      const [s, i] = await Promise.all([mirroredSub(sub.id), mirroredInvoice(invoice.id)]);
      return s?.status === 'active' && i?.status === 'paid';
    });
    // The signals of the last webhooks may land a moment after the mirror: wait for all six.
    await eventually('6 events after the renewal', () => eventsOf(sub.id, renewalAt), (events) => events.length >= 6);
    // The renewal (new period, invoice), its attempt an hour later (failed: waits for the customer,
    // past_due), then the customer's confirmation (paid, active again).
    expect(byMoment(await eventsOf(sub.id, renewalAt), renewalAt)).toEqual([
      [0, ['INVOICE_CREATED', 'SUBSCRIPTION_UPDATED']],
      [3600, ['PAYMENT_FAILED', 'SUBSCRIPTION_UPDATED']],
      [7200, ['PAYMENT_RECEIVED', 'SUBSCRIPTION_UPDATED']],
    ]);
    const read = await gw.gql(`{ customer { subscriptions { id status latestInvoice { id status } } } }`, {}, token);
    expect(read.data!.customer.subscriptions).toEqual([{ id: sub.id, status: 'ACTIVE', latestInvoice: { id: invoice.id, status: 'PAID' } }]);
  });
});
