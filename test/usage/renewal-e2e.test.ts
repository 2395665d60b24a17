/**
 * On the sandbox test clock, a pro_monthly customer who used 12,345 calls gets a
 * renewal invoice whose usage line bills 2,345 calls at 0.1¢ (to the cent), and Customer.usage said the
 * same before the renewal. The gateway as `npm start` runs it: the ledger is pushed to the emulator by
 * the real meter-event flusher, the clock is mirrored, webhooks move the mirror to the new period.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDunningGateway, type DunningGateway } from '../dunning/support.js';
import { eventually } from '../support/eventually.js';
import { summarySum } from '../meter-events/support.js';
import { REPORT, REPORT_BATCH, USAGE } from './support.js';

let t: DunningGateway;

beforeAll(async () => {
  t = await startDunningGateway();
}, 120_000);

afterAll(async () => {
  await t?.close();
});

it('12,345 calls: Customer.usage, the flushed meter events and the renewal overage line agree', async () => {
  const token = await t.token('metered_user');
  const sub = await t.gql(
    `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id currentPeriodStart currentPeriodEnd customer { id } } } }`,
    { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'metered-sub-1' } },
    token,
  );
  expect(sub.errors).toBeUndefined();
  const { currentPeriodStart, currentPeriodEnd } = sub.data.subscribe.subscription;
  const customerId = sub.data.subscribe.subscription.customer.id as string;
  await t.settle();

  // 12 × 1,000 in one batch (one key repeated), then 345 in a single call, then a retry of it.
  const batch = Array.from({ length: 12 }, (_, i) => ({ meter: 'api_calls', quantity: 1000, idempotencyKey: `m-${i}` }));
  expect((await t.gql(REPORT_BATCH, { input: [...batch, batch[0]] }, token)).errors).toBeUndefined();
  expect((await t.gql(REPORT, { input: { meter: 'api_calls', quantity: 345, idempotencyKey: 'm-last' } }, token)).data.reportUsage.duplicate).toBe(false);
  expect((await t.gql(REPORT, { input: { meter: 'api_calls', quantity: 345, idempotencyKey: 'm-last' } }, token)).data.reportUsage.duplicate).toBe(true);

  const before = (await t.gql(USAGE, {}, token)).data.customer.usage;
  expect(before).toEqual([{ meter: 'api_calls', periodStart: currentPeriodStart, periodEnd: currentPeriodEnd, quantity: 12_345, included: 10_000, overage: 2_345 }]);

  // The flusher delivers every ledger row; the emulator's summary over the period equals the ledger.
  await eventually('the ledger flushed', async () => {
    const rows = await t.sql<{ n: string | number }>(`select count(*) as n from usage_records where customer_id = ? and sent_at is null`, [customerId]);
    return Number(rows[0]!.n) === 0;
  });
  const meter = (await t.stripe.billing.meters.list()).data.find((m) => m.event_name === 'api_calls')!;
  const start = Date.parse(currentPeriodStart) / 1000;
  const end = Date.parse(currentPeriodEnd) / 1000;
  // Summaries take minute-aligned bounds; the sandbox clock's period is not: summarySum widens to whole minutes (nothing is reported outside the period).
  expect(await summarySum(t.stripe, meter.id, customerId, start, end)).toBe(12_345);

  // Renewal: the period's usage on the invoice, in arrears: 2,345 × 0.1¢ = 234.5¢ → 235¢ for the line.
  await t.advanceTo(end + 3600);
  const renewal = (await t.stripe.invoices.list({ customer: customerId, limit: 10 })).data.find((i) => i.billing_reason === 'subscription_cycle')!;
  expect(renewal).toBeDefined();
  const line = renewal.lines.data.find((l) => l.period.start === start && l.period.end === end && (l.description ?? '').includes('usage'))!;
  expect(line).toMatchObject({ quantity: 12_345, amount: 235 });

  // The mirror moved to the new period: nothing used yet.
  const after = (await t.gql(USAGE, {}, token)).data.customer.usage;
  expect(after).toEqual([{ meter: 'api_calls', periodStart: currentPeriodEnd, periodEnd: expect.any(String), quantity: 0, included: 10_000, overage: 0 }]);
});
