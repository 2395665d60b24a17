import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meterUsage, type RunningEmulator } from '../src/index.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient({ meterEventsPerSecond: 1000 }));
});
afterAll(() => emu.close());

const DAY = 86_400;

describe('billing meters', () => {
  it('create, retrieve, update, list, deactivate and reactivate; event_name unique among active meters', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'API calls',
      event_name: 'api_calls',
      default_aggregation: { formula: 'sum' },
    });
    expect(meter).toMatchObject({
      object: 'billing.meter',
      status: 'active',
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
      value_settings: { event_payload_key: 'value' },
      default_aggregation: { formula: 'sum' },
      status_transitions: { deactivated_at: null },
    });
    expect(meter.id).toMatch(/^mtr_/);
    await expect(
      stripe.billing.meters.create({ display_name: 'dup', event_name: 'api_calls', default_aggregation: { formula: 'count' } }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'event_name' });

    expect((await stripe.billing.meters.update(meter.id, { display_name: 'Calls' })).display_name).toBe('Calls');
    const off = await stripe.billing.meters.deactivate(meter.id);
    expect(off.status).toBe('inactive');
    expect(off.status_transitions.deactivated_at).toBeTypeOf('number');
    expect((await stripe.billing.meters.list({ status: 'inactive' })).data.map((m) => m.id)).toContain(meter.id);

    // While it is inactive the event name is free; reactivating then conflicts.
    const other = await stripe.billing.meters.create({ display_name: 'Calls 2', event_name: 'api_calls', default_aggregation: { formula: 'sum' } });
    await expect(stripe.billing.meters.reactivate(meter.id)).rejects.toMatchObject({ param: 'event_name' });
    await stripe.billing.meters.deactivate(other.id);
    expect((await stripe.billing.meters.reactivate(meter.id)).status).toBe('active');
    expect((await stripe.billing.meters.retrieve(meter.id)).display_name).toBe('Calls');
    await expect(stripe.billing.meters.retrieve('mtr_nope')).rejects.toMatchObject({ statusCode: 404, param: 'id' });
    await expect(
      stripe.billing.meters.create({ display_name: 'x', event_name: 'x', default_aggregation: { formula: 'median' as never } }),
    ).rejects.toMatchObject({ param: 'default_aggregation[formula]' });
  });

  it('meter events: dedup by identifier, validation, usage and summaries', async () => {
    const meter = await stripe.billing.meters.create({ display_name: 'Tokens', event_name: 'tokens', default_aggregation: { formula: 'sum' } });
    const customer = await stripe.customers.create();
    const now = Math.floor(Date.now() / 1000);
    const dayStart = Math.floor(now / DAY) * DAY;
    const ts = [dayStart - DAY + 100, dayStart - DAY + 200, dayStart + 10];
    const sent = await stripe.billing.meterEvents.create({
      event_name: 'tokens',
      payload: { stripe_customer_id: customer.id, value: '5' },
      identifier: 'evt-a',
      timestamp: ts[0],
    });
    expect(sent).toMatchObject({ object: 'billing.meter_event', identifier: 'evt-a', timestamp: ts[0], payload: { value: '5' } });
    // The same identifier again: refused as Stripe does (400, not to be retried), not counted twice.
    const again = await stripe.billing.meterEvents
      .create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '5' }, identifier: 'evt-a', timestamp: ts[0] })
      .then(
        () => null,
        (err: unknown) => err as Stripe.errors.StripeError,
      );
    expect(again).toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      rawType: 'invalid_request_error',
      message: 'An event already exists with identifier evt-a.',
    });
    expect(again!.headers?.['stripe-should-retry']).toBe('false');
    await stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '7' }, timestamp: ts[1] });
    await stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '30' }, timestamp: ts[2] });

    expect(meterUsage(emu.emulator, { meterId: meter.id, customer: customer.id, start: dayStart - DAY, end: dayStart + DAY })).toBe(42);
    expect(meterUsage(emu.emulator, { eventName: 'tokens', customer: customer.id, start: dayStart - DAY, end: dayStart })).toBe(12);

    const total = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: dayStart - DAY, end_time: dayStart + DAY });
    expect(total.data).toHaveLength(1);
    expect(total.data[0]).toMatchObject({ object: 'billing.meter_event_summary', aggregated_value: 42, meter: meter.id, start_time: dayStart - DAY, end_time: dayStart + DAY });
    const daily = await stripe.billing.meters.listEventSummaries(meter.id, {
      customer: customer.id,
      start_time: dayStart - DAY,
      end_time: dayStart + DAY,
      value_grouping_window: 'day',
    });
    expect(daily.data.map((s) => s.aggregated_value)).toEqual([12, 30]);
    const hourly = await stripe.billing.meters
      .listEventSummaries(meter.id, { customer: customer.id, start_time: dayStart - DAY, end_time: dayStart + DAY, value_grouping_window: 'hour' })
      .autoPagingToArray({ limit: 100 });
    expect(hourly).toHaveLength(48);
    expect(hourly.reduce((s, x) => s + x.aggregated_value, 0)).toBe(42);
    await expect(
      stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: dayStart + 1, end_time: dayStart + DAY }),
    ).rejects.toMatchObject({ param: 'start_time' });

    await expect(stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { value: '1' } })).rejects.toMatchObject({
      param: 'payload[stripe_customer_id]',
    });
    await expect(
      stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '1.5' } }),
    ).rejects.toMatchObject({ param: 'payload[value]' });
    await expect(
      stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '1' }, timestamp: now - 36 * DAY }),
    ).rejects.toMatchObject({ param: 'timestamp' });
    await expect(
      stripe.billing.meterEvents.create({ event_name: 'tokens', payload: { stripe_customer_id: customer.id, value: '1' }, timestamp: now + 600 }),
    ).rejects.toMatchObject({ param: 'timestamp' });
  });

  it('on a test clock: timestamps default to clock time; an identifier is reusable after 24 h', async () => {
    const T0 = 1_767_225_600;
    const meter = await stripe.billing.meters.create({ display_name: 'Clocked', event_name: 'clocked', default_aggregation: { formula: 'sum' } });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0 });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    const first = await stripe.billing.meterEvents.create({ event_name: 'clocked', payload: { stripe_customer_id: customer.id, value: '3' }, identifier: 'daily' });
    expect(first.timestamp).toBe(T0);
    await expect(
      stripe.billing.meterEvents.create({ event_name: 'clocked', payload: { stripe_customer_id: customer.id, value: '3' }, identifier: 'daily' }),
    ).rejects.toMatchObject({ statusCode: 400, message: 'An event already exists with identifier daily.' });
    await advanceClock(stripe, clock.id, T0 + 2 * DAY);
    await stripe.billing.meterEvents.create({ event_name: 'clocked', payload: { stripe_customer_id: customer.id, value: '4' }, identifier: 'daily' });
    expect(meterUsage(emu.emulator, { meterId: meter.id, customer: customer.id, start: T0, end: T0 + 3 * DAY })).toBe(7);
    // Wall-clock timestamps are far outside the clock's 35-day window.
    await expect(
      stripe.billing.meterEvents.create({ event_name: 'clocked', payload: { stripe_customer_id: customer.id, value: '1' }, timestamp: Math.floor(Date.now() / 1000) }),
    ).rejects.toMatchObject({ param: 'timestamp' });
  });

  it('count and last formulas', async () => {
    const customer = await stripe.customers.create();
    const count = await stripe.billing.meters.create({ display_name: 'Logins', event_name: 'logins', default_aggregation: { formula: 'count' } });
    const last = await stripe.billing.meters.create({ display_name: 'Seats', event_name: 'seats', default_aggregation: { formula: 'last' } });
    const t = Math.floor(Date.now() / 1000) - 100;
    for (let i = 0; i < 3; i++) await stripe.billing.meterEvents.create({ event_name: 'logins', payload: { stripe_customer_id: customer.id }, timestamp: t + i });
    for (const [i, v] of ['4', '9', '2'].entries()) await stripe.billing.meterEvents.create({ event_name: 'seats', payload: { stripe_customer_id: customer.id, value: v }, timestamp: t + i });
    expect(meterUsage(emu.emulator, { meterId: count.id, customer: customer.id, start: t, end: t + 100 })).toBe(3);
    expect(meterUsage(emu.emulator, { meterId: last.id, customer: customer.id, start: t, end: t + 100 })).toBe(2);
  });
});

describe('meter event rate limit', () => {
  it('answers 429 rate_limit beyond meterEventsPerSecond, and records only the events it accepted', async () => {
    const { emu: limited, stripe: client } = await emulatorWithClient({ meterEventsPerSecond: 3 });
    try {
      const meter = await client.billing.meters.create({ display_name: 'r', event_name: 'r', default_aggregation: { formula: 'sum' } });
      const customer = await client.customers.create();
      // The limit counts per wall-clock second: the burst usually falls in one, and may straddle a few.
      const firstSecond = Math.floor(Date.now() / 1000);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => client.billing.meterEvents.create({ event_name: 'r', payload: { stripe_customer_id: customer.id, value: '1' } })),
      );
      const seconds = Math.floor(Date.now() / 1000) - firstSecond + 1;
      const accepted = results.filter((r) => r.status === 'fulfilled').length;
      const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(accepted).toBeGreaterThanOrEqual(3);
      expect(accepted).toBeLessThanOrEqual(3 * seconds);
      expect(rejected).toHaveLength(10 - accepted);
      for (const r of rejected) expect(r.reason).toMatchObject({ type: 'StripeRateLimitError', statusCode: 429, code: 'rate_limit' });
      expect(meterUsage(limited.emulator, { meterId: meter.id, customer: customer.id, start: firstSecond - 60, end: firstSecond + seconds + 60 })).toBe(accepted);
    } finally {
      await limited.close();
    }
  });
});
