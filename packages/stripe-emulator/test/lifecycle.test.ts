import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents, DAY, HOUR, JAN_1_2026, subscriptionEvents } from './billing-support.js';
import { emulatorWithClient, Receiver } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let platform: Stripe.Price;
let api: Stripe.Price;
let meter: Stripe.Billing.Meter;

const JAN_15 = JAN_1_2026 + 14 * DAY;
const FEB_15 = Date.UTC(2026, 1, 15) / 1000;
const MAR_15 = Date.UTC(2026, 2, 15) / 1000;
const APR_15 = Date.UTC(2026, 3, 15) / 1000;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  meter = await stripe.billing.meters.create({
    display_name: 'API calls',
    event_name: 'api_calls',
    default_aggregation: { formula: 'sum' },
    customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
    value_settings: { event_payload_key: 'value' },
  });
  const product = await stripe.products.create({ name: 'Platform' });
  const apiProduct = await stripe.products.create({ name: 'API calls' });
  platform = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 2000, recurring: { interval: 'month' } });
  // 10,000 calls included, then 0.1 ¢ per call.
  api = await stripe.prices.create({
    product: apiProduct.id,
    currency: 'usd',
    billing_scheme: 'tiered',
    tiers_mode: 'graduated',
    tiers: [
      { up_to: 10_000, unit_amount: 0 },
      { up_to: 'inf', unit_amount_decimal: Stripe.Decimal.from('0.1') },
    ],
    recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
  });
});
afterAll(() => emu.close());
afterEach(async () => {
  await setDunning({ after_retries: 'cancel' });
});

/** The account's dunning setting (Dashboard at Stripe; an emulator control here). */
function setDunning(settings: { after_retries: 'cancel' | 'unpaid' | 'past_due' }): Promise<unknown> {
  return stripe.rawRequest('POST', '/_emulator/billing/settings', settings);
}

async function customerOnClock(card: string, at = JAN_1_2026): Promise<{ clock: Stripe.TestHelpers.TestClock; customer: Stripe.Customer }> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: at });
  const customer = await stripe.customers.create({ email: 'life@example.com', test_clock: clock.id });
  await setCard(customer.id, card);
  return { clock, customer };
}

async function setCard(customer: string, card: string): Promise<void> {
  const pm = await stripe.paymentMethods.attach(card, { customer });
  await stripe.customers.update(customer, { invoice_settings: { default_payment_method: pm.id } });
}

function advance(clock: Stripe.TestHelpers.TestClock, to: number): Promise<Stripe.TestHelpers.TestClock> {
  return advanceClock(stripe, clock.id, to);
}

async function latestInvoice(subId: string): Promise<Stripe.Invoice> {
  const sub = await stripe.subscriptions.retrieve(subId);
  return stripe.invoices.retrieve(sub.latest_invoice as string);
}

/** Events about the subscription and its invoices from `since` on: [type, created] pairs. */
async function timeline(subId: string, since: number): Promise<[string, number][]> {
  return (await subscriptionEvents(stripe, subId))
    .filter((e) => e.created >= since && !e.type.startsWith('invoiceitem.'))
    .map((e) => [e.type, e.created]);
}

describe('three months on a test clock', () => {
  it('trial → active → renewal with metered overage → card failure → retries → past_due → canceled', async () => {
    const { clock, customer } = await customerOnClock('pm_card_visa');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: platform.id }, { price: api.id }],
      trial_period_days: 14,
      expand: ['latest_invoice'],
    });
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end).toBe(JAN_15);
    expect((sub.latest_invoice as Stripe.Invoice).total).toBe(0);
    expect(sub.items.data.find((i) => i.price.id === api.id)!.quantity).toBeUndefined();

    // Three days before the trial ends.
    await advance(clock, JAN_1_2026 + 12 * DAY);
    const willEnd = await stripe.events.list({ type: 'customer.subscription.trial_will_end' });
    expect(willEnd.data.map((e) => [(e.data.object as Stripe.Subscription).id, e.created])).toEqual([[sub.id, JAN_15 - 3 * DAY]]);
    // Usage during the trial is not billed.
    await stripe.billing.meterEvents.create({ event_name: 'api_calls', payload: { stripe_customer_id: customer.id, value: '999' } });

    // Trial end: active, a new cycle from Jan 15, $20 charged an hour later.
    await advance(clock, JAN_15 + 2 * HOUR);
    const afterTrial = await stripe.subscriptions.retrieve(sub.id);
    expect(afterTrial.status).toBe('active');
    expect(afterTrial.billing_cycle_anchor).toBe(JAN_15);
    expect(afterTrial.items.data.map((i) => [i.current_period_start, i.current_period_end])).toEqual([
      [JAN_15, FEB_15],
      [JAN_15, FEB_15],
    ]);
    const first = await latestInvoice(sub.id);
    expect(first).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', total: 2000, amount_paid: 2000, created: JAN_15 });
    expect(first.status_transitions.finalized_at).toBe(JAN_15 + HOUR);
    expect(await timeline(sub.id, JAN_15)).toEqual([
      ['customer.subscription.updated', JAN_15],
      ['invoice.created', JAN_15],
      ['invoice.finalized', JAN_15 + HOUR],
      ['invoice.paid', JAN_15 + HOUR],
      ['invoice.payment_succeeded', JAN_15 + HOUR],
    ]);

    // 12,345 calls this period: 10,000 free, 2,345 × 0.1 ¢ = 234.5 ¢ → 235 ¢ (half up).
    for (const value of ['10000', '2000', '345']) {
      await stripe.billing.meterEvents.create({ event_name: 'api_calls', payload: { stripe_customer_id: customer.id, value } });
    }
    await advance(clock, FEB_15 + 2 * HOUR);
    const feb = await latestInvoice(sub.id);
    expect(feb).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', subtotal: 2235, total: 2235, amount_paid: 2235, period_start: JAN_15, period_end: FEB_15 });
    const usage = feb.lines.data.find((l) => l.pricing?.price_details?.price === api.id)!;
    expect(usage).toMatchObject({ quantity: 12_345, amount: 235, period: { start: JAN_15, end: FEB_15 } });
    const base = feb.lines.data.find((l) => l.pricing?.price_details?.price === platform.id)!;
    expect(base).toMatchObject({ quantity: 1, amount: 2000, period: { start: FEB_15, end: MAR_15 } });
    expect(await timeline(sub.id, FEB_15)).toEqual([
      ['customer.subscription.updated', FEB_15],
      ['invoice.created', FEB_15],
      ['invoice.finalized', FEB_15 + HOUR],
      ['invoice.paid', FEB_15 + HOUR],
      ['invoice.payment_succeeded', FEB_15 + HOUR],
    ]);

    // The card starts failing; 500 calls stay inside the free tier.
    await setCard(customer.id, 'pm_card_chargeCustomerFail');
    await stripe.billing.meterEvents.create({ event_name: 'api_calls', payload: { stripe_customer_id: customer.id, value: '500' } });
    await advance(clock, MAR_15 + 2 * HOUR);
    const pastDue = await stripe.subscriptions.retrieve(sub.id);
    expect(pastDue.status).toBe('past_due');
    const mar = await latestInvoice(sub.id);
    expect(mar).toMatchObject({ status: 'open', total: 2000, amount_due: 2000, amount_remaining: 2000, attempt_count: 1, attempted: true, next_payment_attempt: MAR_15 + HOUR + 3 * DAY });

    // Retries 3, 5 and 7 days apart all fail; then the subscription is canceled.
    const firstRetry = MAR_15 + HOUR + 3 * DAY;
    const secondRetry = firstRetry + 5 * DAY;
    const lastRetry = secondRetry + 7 * DAY;
    await advance(clock, firstRetry + HOUR);
    expect(await stripe.invoices.retrieve(mar.id)).toMatchObject({ attempt_count: 2, next_payment_attempt: secondRetry });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    await advance(clock, lastRetry + HOUR);
    expect(await stripe.invoices.retrieve(mar.id)).toMatchObject({ status: 'open', attempt_count: 4, next_payment_attempt: null });
    const canceled = await stripe.subscriptions.retrieve(sub.id);
    expect(canceled).toMatchObject({ status: 'canceled', ended_at: lastRetry, cancellation_details: { reason: 'payment_failed' } });

    expect(await timeline(sub.id, MAR_15)).toEqual([
      ['customer.subscription.updated', MAR_15],
      ['invoice.created', MAR_15],
      ['invoice.finalized', MAR_15 + HOUR],
      ['invoice.payment_failed', MAR_15 + HOUR],
      ['invoice.updated', MAR_15 + HOUR],
      ['customer.subscription.updated', MAR_15 + HOUR],
      ['invoice.payment_failed', firstRetry],
      ['invoice.updated', firstRetry],
      ['invoice.payment_failed', secondRetry],
      ['invoice.updated', secondRetry],
      ['invoice.payment_failed', lastRetry],
      ['invoice.updated', lastRetry],
      ['customer.subscription.deleted', lastRetry],
    ]);
    const toPastDue = (await subscriptionEvents(stripe, sub.id, ['customer.subscription.updated'])).at(-1)!;
    expect((toPastDue.data.object as Stripe.Subscription).status).toBe('past_due');
    expect(toPastDue.data.previous_attributes).toEqual({ status: 'active' });

    // Nothing more happens after the end.
    await advance(clock, APR_15 + 2 * HOUR);
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(4);
  });

  it('with the unpaid setting: unpaid after the last retry, later invoices stay draft, paying reactivates', async () => {
    await setDunning({ after_retries: 'unpaid' });
    const { clock, customer } = await customerOnClock('pm_card_visa');
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: platform.id }] });
    await setCard(customer.id, 'pm_card_chargeCustomerFail');
    const feb1 = JAN_1_2026 + 31 * DAY;
    await advance(clock, feb1 + HOUR + 15 * DAY + HOUR);
    const unpaid = await stripe.subscriptions.retrieve(sub.id);
    expect(unpaid.status).toBe('unpaid');
    const febInvoice = await latestInvoice(sub.id);
    expect(febInvoice).toMatchObject({ status: 'open', attempt_count: 4, next_payment_attempt: null });
    const updates = await subscriptionEvents(stripe, sub.id, ['customer.subscription.updated']);
    expect(updates.slice(-2).map((e) => (e.data.object as Stripe.Subscription).status)).toEqual(['past_due', 'unpaid']);

    // March's invoice is created but left in draft while unpaid.
    const mar1 = feb1 + 28 * DAY;
    await advance(clock, mar1 + 2 * HOUR);
    expect(await latestInvoice(sub.id)).toMatchObject({ status: 'draft', billing_reason: 'subscription_cycle' });

    // Paying the open invoice with a good card returns the subscription to active.
    const paid = await stripe.invoices.pay(febInvoice.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 2000 });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });

  it('a card replaced on the customer is used by the next retry (webhooks signed and delivered)', async () => {
    const receiver = await Receiver.start();
    const endpoint = await stripe.webhookEndpoints.create({
      url: receiver.url,
      enabled_events: ['customer.subscription.updated', 'invoice.payment_failed', 'invoice.paid'],
    });
    const { clock, customer } = await customerOnClock('pm_card_chargeCustomerFail');
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: platform.id }], trial_period_days: 7 });
    const trialEnd = JAN_1_2026 + 7 * DAY;
    await advance(clock, trialEnd + 2 * HOUR);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    const inv = await latestInvoice(sub.id);
    expect(inv.attempt_count).toBe(1);

    await setCard(customer.id, 'pm_card_visa');
    await advance(clock, trialEnd + HOUR + 3 * DAY + HOUR);
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ status: 'paid', attempt_count: 2, amount_paid: 2000 });
    const active = await stripe.subscriptions.retrieve(sub.id);
    expect(active.status).toBe('active');
    expect((await timeline(sub.id, trialEnd + HOUR + 3 * DAY)).map(([t]) => t)).toEqual([
      'invoice.paid',
      'invoice.payment_succeeded',
      'customer.subscription.updated',
    ]);

    // The $0 trial invoice, trial end → active, the failure, → past_due, the retry paid, → active:
    // six signed deliveries (put back in emission order: deliveries run concurrently).
    await receiver.waitFor(6);
    const order = (await allEvents(stripe)).map((e) => e.id);
    const delivered = receiver.events(stripe, endpoint.secret!).sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    expect(delivered.map((e) => [e.type, (e.data.object as { status?: string }).status])).toEqual([
      ['invoice.paid', 'paid'],
      ['customer.subscription.updated', 'active'],
      ['invoice.payment_failed', 'open'],
      ['customer.subscription.updated', 'past_due'],
      ['invoice.paid', 'paid'],
      ['customer.subscription.updated', 'active'],
    ]);
    await stripe.webhookEndpoints.del(endpoint.id);
    await receiver.close();
  });

  it('canceling a past_due subscription stops the retries', async () => {
    const { clock, customer } = await customerOnClock('pm_card_chargeCustomerFail');
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: platform.id }], trial_period_days: 7 });
    const trialEnd = JAN_1_2026 + 7 * DAY;
    await advance(clock, trialEnd + 2 * HOUR);
    const inv = await latestInvoice(sub.id);
    expect(inv.next_payment_attempt).toBe(trialEnd + HOUR + 3 * DAY);
    await stripe.subscriptions.cancel(sub.id);
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ status: 'open', next_payment_attempt: null, auto_advance: false });
    await advance(clock, trialEnd + 20 * DAY);
    expect((await stripe.invoices.retrieve(inv.id)).attempt_count).toBe(1);
  });

  it('an unpaid first invoice expires the subscription after 23 hours', async () => {
    const { clock, customer } = await customerOnClock('pm_card_chargeCustomerFail');
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: platform.id }] });
    expect(sub.status).toBe('incomplete');
    await advance(clock, JAN_1_2026 + 22 * HOUR);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('incomplete');
    await advance(clock, JAN_1_2026 + 24 * HOUR);
    const expired = await stripe.subscriptions.retrieve(sub.id);
    expect(expired).toMatchObject({ status: 'incomplete_expired', ended_at: JAN_1_2026 + 23 * HOUR });
    expect((await latestInvoice(sub.id)).status).toBe('void');
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toEqual([]);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'incomplete_expired' })).data).toHaveLength(1);
  });
});
