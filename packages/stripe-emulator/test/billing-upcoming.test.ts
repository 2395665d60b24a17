import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents, DAY, HOUR, JAN_1_2026 } from './billing-support.js';
import { control, emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let monthly: Stripe.Price;

/** January 2026 has 31 days. */
const FEB_1 = JAN_1_2026 + 31 * DAY;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'team' });
  monthly = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1200, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

async function subscribed(): Promise<{ clock: Stripe.TestHelpers.TestClock; sub: Stripe.Subscription }> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  const customer = await stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: monthly.id, quantity: 2 }] });
  return { clock, sub };
}

async function upcomingEvents(customer: string): Promise<Stripe.Event[]> {
  return (await allEvents(stripe)).filter((e) => e.type === 'invoice.upcoming' && (e.data.object as Stripe.Invoice).customer === customer);
}

describe('invoice.upcoming', () => {
  it('is sent once, 3 days (clock time) before each renewal, with the invoice the renewal will issue', async () => {
    const { clock, sub } = await subscribed();
    await advanceClock(stripe, clock.id, FEB_1 - 3 * DAY - 1);
    expect(await upcomingEvents(sub.customer as string)).toEqual([]);

    await advanceClock(stripe, clock.id, FEB_1 - 2 * DAY);
    const sent = await upcomingEvents(sub.customer as string);
    expect(sent).toHaveLength(1);
    const [event] = sent;
    expect(event!.created).toBe(FEB_1 - 3 * DAY);
    const upcoming = event!.data.object as Stripe.Invoice;
    expect(upcoming).toMatchObject({ object: 'invoice', billing_reason: 'upcoming', total: 2400, amount_due: 2400, status: 'draft' });
    expect(upcoming.parent?.subscription_details?.subscription).toBe(sub.id);
    expect(upcoming.lines.data[0]!.period).toEqual({ start: FEB_1, end: Date.UTC(2026, 2, 1) / 1000 });
    // The same as create_preview showed at that moment.
    const preview = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview.total).toBe(upcoming.total);

    // The renewal itself issues that invoice; the next upcoming event is 3 days before March 1.
    await advanceClock(stripe, clock.id, FEB_1 + 2 * HOUR);
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(renewal.total).toBe(upcoming.total);
    expect(await upcomingEvents(sub.customer as string)).toHaveLength(1);
    await advanceClock(stripe, clock.id, Date.UTC(2026, 2, 1) / 1000 - 2 * DAY);
    const both = await upcomingEvents(sub.customer as string);
    expect(both.map((e) => e.created)).toEqual([FEB_1 - 3 * DAY, Date.UTC(2026, 2, 1) / 1000 - 3 * DAY]);
  });

  it('is not sent for a subscription that ends at the period end, and follows the upcoming_days setting', async () => {
    const { clock, sub } = await subscribed();
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await advanceClock(stripe, clock.id, FEB_1 - DAY);
    expect(await upcomingEvents(sub.customer as string)).toEqual([]);

    try {
      expect(await control(emu, 'billing/settings', { upcoming_days: 7 })).toMatchObject({ upcoming_days: 7 });
      const other = await subscribed();
      await advanceClock(stripe, other.clock.id, FEB_1 - 6 * DAY);
      const [event] = await upcomingEvents(other.sub.customer as string);
      expect(event!.created).toBe(FEB_1 - 7 * DAY);
    } finally {
      await control(emu, 'billing/settings', { upcoming_days: 3 });
    }
  });
});
