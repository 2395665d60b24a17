import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { DAY, JAN_1_2026, subscriptionEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let basic: Stripe.Price;
let pro: Stripe.Price;

/** January 2026 has 31 days: the period is 2,678,400 s. */
const PERIOD = 31 * DAY;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const basicProduct = await stripe.products.create({ name: 'basic' });
  const proProduct = await stripe.products.create({ name: 'pro' });
  basic = await stripe.prices.create({ product: basicProduct.id, currency: 'usd', unit_amount: 100, recurring: { interval: 'month' } });
  pro = await stripe.prices.create({ product: proProduct.id, currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

/** A customer on its own clock at 2026-01-01 with basic × 3 paid for January. */
async function basicTimesThree(): Promise<{ clock: Stripe.TestHelpers.TestClock; sub: Stripe.Subscription }> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  const customer = await stripe.customers.create({ test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: basic.id, quantity: 3 }] });
  expect(sub.items.data[0]!.current_period_start).toBe(JAN_1_2026);
  expect(sub.items.data[0]!.current_period_end).toBe(JAN_1_2026 + PERIOD);
  return { clock, sub };
}

function prorationLines(inv: Stripe.Invoice): Stripe.InvoiceLineItem[] {
  return inv.lines.data.filter((l) => l.parent?.subscription_item_details?.proration === true);
}

describe('upgrade mid-period: proration exact to the cent', () => {
  it('basic $1 × 3 → pro $5 × 3 exactly halfway: preview and always_invoice both 600', async () => {
    const { clock, sub } = await basicTimesThree();
    const half = JAN_1_2026 + PERIOD / 2;
    await advanceClock(stripe, clock.id, half);
    const itemId = sub.items.data[0]!.id;

    // (5 − 1) × 3 × ½ = 6.00: credit −300 × ½ = −150, charge 1500 × ½ = 750.
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: itemId, price: pro.id }], proration_behavior: 'always_invoice', proration_date: half },
    });
    expect(preview.id).toMatch(/^upcoming_in_/);
    expect(prorationLines(preview).map((l) => l.amount)).toEqual([-150, 750]);
    expect(preview.total).toBe(600);
    expect(preview.amount_due).toBe(600);
    expect(prorationLines(preview)[0]!.description).toBe('Unused time on 3 × basic after 16 Jan 2026');
    expect(prorationLines(preview)[1]!.description).toBe('Remaining time on 3 × pro after 16 Jan 2026');
    expect(prorationLines(preview)[1]!.period).toEqual({ start: half, end: JAN_1_2026 + PERIOD });
    expect(prorationLines(preview)[1]!.pricing?.price_details?.price).toBe(pro.id);

    // The default preview (create_prorations) is the next renewal: prorations + February at pro.
    const upcoming = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: itemId, price: pro.id }], proration_date: half },
    });
    expect(prorationLines(upcoming).reduce((a, l) => a + l.amount, 0)).toBe(600);
    expect(upcoming.total).toBe(600 + 1500);
    // Nothing was stored by the previews.
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);
    expect((await stripe.invoiceItems.list({ pending: true, customer: sub.customer as string })).data).toEqual([]);

    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: pro.id }],
      proration_behavior: 'always_invoice',
      proration_date: half,
      expand: ['latest_invoice'],
    });
    expect(updated.items.data[0]!.price.id).toBe(pro.id);
    expect(updated.items.data[0]!.quantity).toBe(3);
    const inv = updated.latest_invoice as Stripe.Invoice;
    expect(inv).toMatchObject({ billing_reason: 'subscription_update', status: 'paid', subtotal: 600, total: 600, amount_paid: 600 });
    expect(prorationLines(inv).map((l) => l.amount)).toEqual([-150, 750]);
    expect(prorationLines(inv).every((l) => l.parent?.subscription_item_details?.invoice_item?.startsWith('ii_'))).toBe(true);

    const types = await subscriptionEventTypes(stripe, sub.id);
    expect(types.slice(-7)).toEqual([
      'customer.subscription.updated',
      'invoiceitem.created',
      'invoiceitem.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    const events = await stripe.events.list({ type: 'customer.subscription.updated', limit: 1 });
    const prev = events.data[0]!.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(prev.items?.data[0]?.price.id).toBe(basic.id);
  });

  it('a fraction that is not a half rounds each line on its own', async () => {
    const { clock, sub } = await basicTimesThree();
    // 895,925 s of the 2,678,400 s period remain.
    //   credit: 300 × 895925 / 2678400 = 100.350…  → −100
    //   charge: 1500 × 895925 / 2678400 = 501.750… → +502
    //   net 402 (rounding the net 401.400… instead would give 401).
    const at = JAN_1_2026 + PERIOD - 895_925;
    await advanceClock(stripe, clock.id, at);
    const itemId = sub.items.data[0]!.id;
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: itemId, price: pro.id }], proration_behavior: 'always_invoice', proration_date: at },
    });
    expect(prorationLines(preview).map((l) => l.amount)).toEqual([-100, 502]);
    expect(preview.total).toBe(402);
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: itemId, price: pro.id }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    expect((updated.latest_invoice as Stripe.Invoice).total).toBe(402);
  });

  it('create_prorations leaves pending items for the renewal; none leaves nothing', async () => {
    const { clock, sub } = await basicTimesThree();
    const at = JAN_1_2026 + 10 * DAY;
    await advanceClock(stripe, clock.id, at);
    const itemId = sub.items.data[0]!.id;
    // Quantity 3 → 5 on basic with 21 of 31 days left: a credit for 3 and a charge for 5, each rounded.
    await stripe.subscriptions.update(sub.id, { items: [{ id: itemId, quantity: 5 }] });
    const pending = await stripe.invoiceItems.list({ customer: sub.customer as string, pending: true });
    expect(pending.data.map((ii) => ii.amount).sort((a, b) => a - b)).toEqual([-203, 339]);
    expect(pending.data.every((ii) => ii.proration)).toBe(true);
    // −300 × 21/31 = −203.2… → −203; 500 × 21/31 = 338.7… → 339: 136 in all.

    await stripe.subscriptions.update(sub.id, { items: [{ id: itemId, quantity: 6 }], proration_behavior: 'none' });
    expect((await stripe.invoiceItems.list({ customer: sub.customer as string, pending: true })).data).toHaveLength(2);

    // At renewal the pending prorations join February's 6 × $1.
    await advanceClock(stripe, clock.id, JAN_1_2026 + PERIOD + 2 * 3600);
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(renewal).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', total: 600 + 136 });
    expect((await stripe.invoiceItems.list({ customer: sub.customer as string, pending: true })).data).toEqual([]);
  });

  it('a downgrade with always_invoice leaves a credit on the customer balance', async () => {
    const { clock, sub } = await basicTimesThree();
    const half = JAN_1_2026 + PERIOD / 2;
    await advanceClock(stripe, clock.id, half);
    await stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0]!.id, quantity: 1 }], proration_behavior: 'always_invoice' });
    // −300 × ½ + 100 × ½ = −100 → credit.
    const customer = (await stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer;
    expect(customer.balance).toBe(-100);
    // February: 100 − 100 credit = 0 due.
    await advanceClock(stripe, clock.id, JAN_1_2026 + PERIOD + 2 * 3600);
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(renewal).toMatchObject({ total: 100, starting_balance: -100, amount_due: 0, status: 'paid' });
  });
});
