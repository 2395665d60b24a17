import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents, DAY, JAN_1_2026 } from './billing-support.js';
import { missingRequired, StripeTypes } from './required-fields.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'Scheduled' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

const FEB_1 = Date.UTC(2026, 1, 1) / 1000;
const MAR_1 = Date.UTC(2026, 2, 1) / 1000;

async function clockCustomer(): Promise<{ clock: Stripe.TestHelpers.TestClock; customer: Stripe.Customer }> {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  const customer = await stripe.customers.create({ test_clock: clock.id, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
  return { clock, customer };
}

async function advance(clock: string, to: number): Promise<void> {
  await advanceClock(stripe, clock, to);
}

async function scheduleEvents(id: string): Promise<string[]> {
  return (await allEvents(stripe))
    .filter((e) => e.type.startsWith('subscription_schedule.') && (e.data.object as { id: string }).id === id)
    .map((e) => e.type);
}

describe('subscription schedules', () => {
  it('starts now, moves to the next phase on the clock, and completes, releasing the subscription', async () => {
    const { clock, customer } = await clockCustomer();
    const s = await stripe.subscriptionSchedules.create({
      customer: customer.id,
      start_date: 'now',
      end_behavior: 'release',
      phases: [
        { items: [{ price: price.id, quantity: 1 }], duration: { interval: 'month', interval_count: 1 } },
        { items: [{ price: price.id, quantity: 2 }], end_date: MAR_1 },
      ],
    });
    expect(s).toMatchObject({ status: 'active', current_phase: { start_date: JAN_1_2026, end_date: FEB_1 } });
    expect([...missingRequired(new StripeTypes(), s)]).toEqual([]);
    expect(s.phases.map((p) => [p.start_date, p.end_date])).toEqual([[JAN_1_2026, FEB_1], [FEB_1, MAR_1]]);
    const subId = s.subscription as string;
    expect((await stripe.subscriptions.retrieve(subId)).schedule).toBe(s.id);

    await advance(clock.id, FEB_1 + DAY);
    const mid = await stripe.subscriptionSchedules.retrieve(s.id);
    expect(mid.current_phase).toEqual({ start_date: FEB_1, end_date: MAR_1 });
    const sub = await stripe.subscriptions.retrieve(subId, { expand: ['latest_invoice'] });
    expect(sub.items.data.map((it) => it.quantity)).toEqual([2]);
    // The renewal at the phase boundary already bills the new phase's quantity.
    expect((sub.latest_invoice as Stripe.Invoice).amount_due).toBe(3000);

    await advance(clock.id, MAR_1 + DAY);
    const done = await stripe.subscriptionSchedules.retrieve(s.id);
    expect(done).toMatchObject({ status: 'completed', completed_at: MAR_1, released_subscription: subId, subscription: null });
    const after = await stripe.subscriptions.retrieve(subId);
    expect(after).toMatchObject({ status: 'active', schedule: null });
    expect(await scheduleEvents(s.id)).toEqual([
      'subscription_schedule.created',
      'subscription_schedule.updated',
      'subscription_schedule.expiring',
      'subscription_schedule.completed',
    ]);
    // `expiring` comes a week before the end, on the clock's time.
    const expiring = (await allEvents(stripe)).find((e) => e.type === 'subscription_schedule.expiring' && (e.data.object as { id: string }).id === s.id)!;
    expect(expiring.created).toBe(MAR_1 - 7 * DAY);
  });

  it('a future start waits on the clock, then creates the subscription', async () => {
    const { clock, customer } = await clockCustomer();
    const s = await stripe.subscriptionSchedules.create({ customer: customer.id, start_date: FEB_1, phases: [{ items: [{ price: price.id }] }] });
    expect(s).toMatchObject({ status: 'not_started', subscription: null, current_phase: null });
    expect(s.phases[0]).toMatchObject({ start_date: FEB_1, end_date: MAR_1 });
    expect((await stripe.subscriptionSchedules.list({ customer: customer.id, scheduled: true })).data.map((x) => x.id)).toEqual([s.id]);
    await advance(clock.id, FEB_1 + 3600);
    const started = await stripe.subscriptionSchedules.retrieve(s.id);
    expect(started.status).toBe('active');
    const sub = await stripe.subscriptions.retrieve(started.subscription as string);
    expect(sub).toMatchObject({ status: 'active', schedule: s.id, customer: customer.id });
  });

  it('end_behavior cancel cancels the subscription at the end', async () => {
    const { clock, customer } = await clockCustomer();
    const s = await stripe.subscriptionSchedules.create({ customer: customer.id, end_behavior: 'cancel', phases: [{ items: [{ price: price.id }], end_date: JAN_1_2026 + 20 * DAY }] });
    await advance(clock.id, JAN_1_2026 + 21 * DAY);
    expect((await stripe.subscriptionSchedules.retrieve(s.id)).status).toBe('completed');
    expect((await stripe.subscriptions.retrieve(s.subscription as string)).status).toBe('canceled');
  });

  it('cancel cancels the subscription; cancelling a schedule that never started aborts it', async () => {
    const customer = await stripe.customers.create({ source: 'tok_visa' });
    const s = await stripe.subscriptionSchedules.create({ customer: customer.id, start_date: 'now', phases: [{ items: [{ price: price.id }] }] });
    const canceled = await stripe.subscriptionSchedules.cancel(s.id);
    expect(canceled.status).toBe('canceled');
    expect((await stripe.subscriptions.retrieve(s.subscription as string)).status).toBe('canceled');
    await expect(stripe.subscriptionSchedules.cancel(s.id)).rejects.toMatchObject({ statusCode: 400 });

    const later = await stripe.subscriptionSchedules.create({ customer: customer.id, start_date: 4_102_444_800, phases: [{ items: [{ price: price.id }] }] });
    expect((await stripe.subscriptionSchedules.cancel(later.id)).status).toBe('canceled');
    expect(await scheduleEvents(s.id)).toEqual(['subscription_schedule.created', 'subscription_schedule.canceled']);
    expect(await scheduleEvents(later.id)).toEqual(['subscription_schedule.created', 'subscription_schedule.aborted']);
  });

  it('release leaves the subscription running without the schedule; update changes metadata and phases', async () => {
    const customer = await stripe.customers.create({ source: 'tok_visa' });
    const s = await stripe.subscriptionSchedules.create({ customer: customer.id, start_date: 'now', phases: [{ items: [{ price: price.id }] }] });
    const updated = await stripe.subscriptionSchedules.update(s.id, {
      metadata: { foo: 'bar' },
      phases: [{ items: [{ price: price.id, quantity: 3 }], start_date: s.phases[0]!.start_date, end_date: s.phases[0]!.end_date }],
    });
    expect(updated.metadata).toEqual({ foo: 'bar' });
    expect((await stripe.subscriptions.retrieve(s.subscription as string)).items.data[0]!.quantity).toBe(3);
    const released = await stripe.subscriptionSchedules.release(s.id);
    expect(released).toMatchObject({ status: 'released', released_subscription: s.subscription, subscription: null });
    expect(await stripe.subscriptions.retrieve(s.subscription as string)).toMatchObject({ status: 'active', schedule: null });
    expect(await scheduleEvents(s.id)).toEqual(['subscription_schedule.created', 'subscription_schedule.updated', 'subscription_schedule.released']);
  });

  it('from_subscription adopts a running subscription as one phase', async () => {
    const customer = await stripe.customers.create({ source: 'tok_visa' });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id, quantity: 2 }] });
    const s = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(s).toMatchObject({ status: 'active', subscription: sub.id });
    expect(s.phases).toHaveLength(1);
    expect(s.phases[0]).toMatchObject({ start_date: sub.items.data[0]!.current_period_start, end_date: sub.items.data[0]!.current_period_end, items: [{ price: price.id, quantity: 2 }] });
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBe(s.id);
    await expect(stripe.subscriptionSchedules.create({ from_subscription: sub.id })).rejects.toMatchObject({ param: 'from_subscription' });
  });
});
