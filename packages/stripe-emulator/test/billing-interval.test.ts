import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { DAY, HOUR, JAN_1_2026, subscriptionEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let proMonthly: Stripe.Price;
let proYearly: Stripe.Price;

/** 2027-01-11, one year after the 2026-01-11 change (2026 has 365 days). */
const JAN_11_2026 = JAN_1_2026 + 10 * DAY;
const JAN_11_2027 = JAN_11_2026 + 365 * DAY;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const pro = await stripe.products.create({ name: 'pro' });
  proMonthly = await stripe.prices.create({ product: pro.id, currency: 'usd', unit_amount: 2900, recurring: { interval: 'month' }, lookup_key: 'pro_monthly' });
  proYearly = await stripe.prices.create({ product: pro.id, currency: 'usd', unit_amount: 29000, recurring: { interval: 'year' }, lookup_key: 'pro_yearly' });
});
afterAll(() => emu.close());

/** A customer on its own clock at 2026-01-01 with `price` × `quantity`, paid. */
async function subscribed(price: Stripe.Price, quantity = 1): Promise<{ clock: Stripe.TestHelpers.TestClock; sub: Stripe.Subscription }> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  const customer = await stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id, quantity }] });
  expect(sub.status).toBe('active');
  return { clock, sub };
}

function lineAmounts(inv: Stripe.Invoice): number[] {
  return inv.lines.data.map((l) => l.amount);
}

describe('changing the billing interval (monthly ↔ yearly)', () => {
  it('monthly → yearly on the same item: credit for the unused month, a full year from now, invoiced at once', async () => {
    const { clock, sub } = await subscribed(proMonthly, 2);
    await advanceClock(stripe, clock.id, JAN_11_2026);
    const itemId = sub.items.data[0]!.id;

    // 21 of January's 31 days unused: −5800 × 21/31 = −3929.03… → −3929; a year of 2 × $290 = 58000.
    const change = { items: [{ id: itemId, price: proYearly.id }] };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: { ...change, proration_date: JAN_11_2026 } });
    expect(preview.billing_reason).toBe('subscription_update');
    expect(lineAmounts(preview)).toEqual([-3929, 58000]);
    expect(preview).toMatchObject({ subtotal: 54071, total: 54071, amount_due: 54071 });
    const [credit, year] = preview.lines.data;
    expect(credit!.description).toBe('Unused time on 2 × pro after 11 Jan 2026');
    expect(credit!.period).toEqual({ start: JAN_11_2026, end: JAN_1_2026 + 31 * DAY });
    expect(credit!.parent?.subscription_item_details?.proration).toBe(true);
    expect(credit!.pricing?.price_details?.price).toBe(proMonthly.id);
    expect(year!.period).toEqual({ start: JAN_11_2026, end: JAN_11_2027 });
    expect(year!.pricing?.price_details?.price).toBe(proYearly.id);
    expect(year!.parent?.subscription_item_details?.proration).toBe(false);
    // Nothing stored by the preview.
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);

    const updated = await stripe.subscriptions.update(sub.id, { ...change, expand: ['latest_invoice'] });
    const item = updated.items.data[0]!;
    expect(item).toMatchObject({ id: itemId, quantity: 2, current_period_start: JAN_11_2026, current_period_end: JAN_11_2027 });
    expect(item.price.id).toBe(proYearly.id);
    expect(updated.billing_cycle_anchor).toBe(JAN_11_2026);
    const inv = updated.latest_invoice as Stripe.Invoice;
    expect(inv).toMatchObject({ billing_reason: 'subscription_update', status: 'paid', total: 54071, amount_paid: 54071 });
    expect(lineAmounts(inv)).toEqual(lineAmounts(preview));
    expect(inv.lines.data[0]!.parent?.subscription_item_details?.invoice_item).toMatch(/^ii_/);
    expect((await stripe.invoiceItems.list({ customer: sub.customer as string, pending: true })).data).toEqual([]);

    const types = await subscriptionEventTypes(stripe, sub.id);
    expect(types.slice(-6)).toEqual([
      'customer.subscription.updated',
      'invoiceitem.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    const [event] = (await stripe.events.list({ type: 'customer.subscription.updated', limit: 1 })).data;
    const prev = event!.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(prev.billing_cycle_anchor).toBe(JAN_1_2026);
    expect(prev.items?.data[0]?.price.id).toBe(proMonthly.id);

    // No renewal at the old monthly boundary; the next one is a year after the change.
    await advanceClock(stripe, clock.id, JAN_1_2026 + 62 * DAY);
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(2);
    await advanceClock(stripe, clock.id, JAN_11_2027 + 2 * HOUR);
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(renewal).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', total: 58000 });
    expect(renewal.lines.data[0]!.period).toEqual({ start: JAN_11_2027, end: JAN_11_2027 + 365 * DAY });
  });

  it('yearly → monthly: the unused year is a credit on the customer balance that pays the next months', async () => {
    const { clock, sub } = await subscribed(proYearly);
    // 2026-03-15: 292 of 365 days unused: −29000 × 292/365 = −23200 exactly; a month: 2900.
    const mar15 = JAN_1_2026 + 73 * DAY;
    await advanceClock(stripe, clock.id, mar15);
    const change = { items: [{ id: sub.items.data[0]!.id, price: proMonthly.id }], proration_behavior: 'always_invoice' as const };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: change });
    expect(lineAmounts(preview)).toEqual([-23200, 2900]);
    expect(preview).toMatchObject({ total: -20300, amount_due: 0 });

    const updated = await stripe.subscriptions.update(sub.id, { ...change, expand: ['latest_invoice'] });
    const apr15 = mar15 + 31 * DAY;
    expect(updated.items.data[0]).toMatchObject({ current_period_start: mar15, current_period_end: apr15 });
    expect(updated.latest_invoice).toMatchObject({ total: -20300, amount_due: 0, status: 'paid', ending_balance: -20300 });
    expect(((await stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer).balance).toBe(-20300);

    await advanceClock(stripe, clock.id, apr15 + 2 * HOUR);
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(renewal).toMatchObject({ billing_reason: 'subscription_cycle', total: 2900, starting_balance: -20300, amount_due: 0, status: 'paid' });
    expect(((await stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer).balance).toBe(-17400);
  });

  it('proration_behavior none: no credit, the new year is still charged now', async () => {
    const { clock, sub } = await subscribed(proMonthly);
    await advanceClock(stripe, clock.id, JAN_11_2026);
    const change = { items: [{ id: sub.items.data[0]!.id, price: proYearly.id }], proration_behavior: 'none' as const };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: change });
    expect(lineAmounts(preview)).toEqual([29000]);
    const updated = await stripe.subscriptions.update(sub.id, { ...change, expand: ['latest_invoice'] });
    expect(updated.latest_invoice).toMatchObject({ total: 29000, amount_paid: 29000, status: 'paid' });
    expect(updated.items.data[0]!.current_period_end).toBe(JAN_11_2027);
  });

  it('error_if_incomplete with a declining card changes nothing; prices of different intervals cannot be mixed', async () => {
    const { clock, sub } = await subscribed(proMonthly);
    await advanceClock(stripe, clock.id, JAN_11_2026);
    const declining = await stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_chargeDeclined' });
    await expect(
      stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0]!.id, price: proYearly.id }], payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ statusCode: 402, code: 'card_declined' });
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data[0]!.price.id).toBe(proMonthly.id);
    expect(after.billing_cycle_anchor).toBe(declining.billing_cycle_anchor);

    const other = await stripe.products.create({ name: 'addon' });
    const addonMonthly = await stripe.prices.create({ product: other.id, currency: 'usd', unit_amount: 100, recurring: { interval: 'month' } });
    const two = await stripe.subscriptions.update(sub.id, { items: [{ price: addonMonthly.id }], proration_behavior: 'none', default_payment_method: 'pm_card_visa' });
    await expect(
      stripe.subscriptions.update(sub.id, { items: [{ id: two.items.data[0]!.id, price: proYearly.id }] }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'items' });
  });
});
