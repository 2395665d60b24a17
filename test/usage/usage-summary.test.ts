/**
 * Customer.usage against the emulator: the period sum from the ledger equals the emulator's meter
 * event summary over the same period and the usage line of the renewal invoice (quantity and cents),
 * once the meter-event flusher has drained the ledger to the emulator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MeterEventFlusher } from '../../src/stripe/meter-events/index.js';
import { CLOCK_START, startLifecycleGateway, type LifecycleGateway } from '../lifecycle/harness.js';
import { summarySum } from '../meter-events/support.js';
import { day, REPORT, REPORT_BATCH, subscribeCustomer, USAGE } from './support.js';

let gw: LifecycleGateway;
let token: string;
let customerId: string;

beforeAll(async () => {
  gw = await startLifecycleGateway();
  ({ token, customerId } = await subscribeCustomer(gw, 'uma', 'pro_monthly'));
  await gw.advanceClock(10 * 86_400);
});
afterAll(async () => {
  await gw?.close();
});

it('pro_monthly with 12,345 calls: usage, the meter event summary and the renewal overage line agree', async () => {
  // One record exactly at the period start (inclusive), the rest spread over the period, one key repeated.
  expect((await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 345, timestamp: day(0), idempotencyKey: 'start' } }, token)).errors).toBeUndefined();
  const batch = Array.from({ length: 12 }, (_, i) => ({ meter: 'api_calls', quantity: 1000, timestamp: day(1 + i * 0.7), idempotencyKey: `calls-${i}` }));
  expect((await gw.gql(REPORT_BATCH, { input: [...batch, batch[3]] }, token)).errors).toBeUndefined();
  expect((await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1000, timestamp: day(2), idempotencyKey: 'calls-0' } }, token)).data!.reportUsage.duplicate).toBe(true);

  const usage = (await gw.gql(USAGE, {}, token)).data!.customer.usage;
  expect(usage).toEqual([
    { meter: 'api_calls', periodStart: day(0), periodEnd: new Date(Date.UTC(2026, 3, 1)).toISOString(), quantity: 12_345, included: 10_000, overage: 2_345 },
  ]);
  // The meter filter; a meter the catalog does not have.
  expect((await gw.gql(USAGE, { meter: 'api_calls' }, token)).data!.customer.usage).toHaveLength(1);
  expect((await gw.gql(USAGE, { meter: 'nope' }, token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'meter' });

  // The ledger's 13 distinct rows (the repeated keys were not stored twice) reach Stripe through the real flusher.
  const flushed = await new MeterEventFlusher({ orm: gw.orm, stripe: gw.stripe, catalog: gw.catalog, ratePerSecond: 1000 }).drain();
  expect(flushed).toMatchObject({ sent: 13, duplicates: 0, parked: 0 });
  const meter = (await gw.stripe.billing.meters.list()).data.find((m) => m.event_name === 'api_calls')!;
  const start = Date.parse(usage[0].periodStart) / 1000;
  const end = Date.parse(usage[0].periodEnd) / 1000;
  expect(await summarySum(gw.stripe, meter.id, customerId, start, end)).toBe(12_345);

  // Renew: the period's usage is invoiced in arrears on the renewal invoice.
  await gw.advanceClock(end - (CLOCK_START + 10 * 86_400) + 3600);
  const invoices = await gw.stripe.invoices.list({ customer: customerId, limit: 10 });
  const renewal = invoices.data.find((i) => i.billing_reason === 'subscription_cycle')!;
  expect(renewal).toBeDefined();
  const line = renewal.lines.data.find((l) => l.period.start === start && l.period.end === end && (l.description ?? '').includes('usage'))!;
  expect(line).toBeDefined();
  expect(line.quantity).toBe(12_345);
  // Graduated: 10,000 at 0, then 2,345 × 0.1¢ = 234.5¢, rounded once for the line.
  const unit = Number(gw.catalog.plans.find((p) => p.id === 'pro_monthly')!.meters[0]!.unitAmountDecimal);
  expect(line.amount).toBe(Math.round(usage[0].overage * unit));
  expect(line.amount).toBe(235);
});
