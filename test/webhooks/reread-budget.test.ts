/**
 * Re-reads from Stripe: one per object per batch, within a rate budget, and a 429 (the emulator's
 * fault injection) waits and retries instead of failing the batch.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RereadBudget, setRereadBudget } from '../../src/stripe/sync/reread.js';
import { gateway, planPrice, stripeSide, type StripeSide } from './support.js';

let side: StripeSide;
let subId: string;
let customerId: string;
/** Same-second events about one subscription and its customer: each needs a re-read after the first. */
let tied: Stripe.Event[];

async function setFaults(spec: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${side.emu.port}/_emulator/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  side = await stripeSide();
  const { stripe } = side;
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: Date.UTC(2026, 0, 1) / 1000 });
  const customer = await stripe.customers.create({ email: 'budget@example.com', test_clock: clock.id, metadata: { external_id: 'user_budget' } });
  customerId = customer.id;
  const basic = await planPrice(stripe, 'basic_monthly');
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: basic.id, quantity: 1 }], trial_period_days: 7 });
  subId = sub.id;
  for (let step = 1; step <= 4; step++) await stripe.subscriptions.update(sub.id, { metadata: { step: String(step) } });
  await stripe.customers.update(customer.id, { name: 'Budget One' });
  await stripe.customers.update(customer.id, { name: 'Budget Two' });
  const list: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: 100 })) list.push(e);
  // Every event in one second: nothing but a re-read can tell their order.
  const second = list[0]!.created;
  tied = list
    .reverse()
    .filter((e) => e.type.startsWith('customer.'))
    .map((e) => ({ ...e, created: second }));
}, 60_000);

afterAll(async () => {
  await side?.close();
});

describe('re-reads from Stripe', () => {
  it('a batch re-reads each object once, however many of its events tie', async () => {
    const budget = new RereadBudget({ ratePerSecond: 100 });
    setRereadBudget(side.stripe, budget);
    const gw = await gateway(side, { batchSize: 64 });
    try {
      for (const e of tied) expect((await gw.deliver(e)).status).toBe(200);
      const outcomes = await gw.worker.drain();
      expect(outcomes.map((o) => o.status)).toEqual(tied.map(() => 'processed'));
      expect(outcomes.filter((o) => o.status === 'processed' && o.result.action === 'reread').length).toBeGreaterThan(2);
      // One subscription and one customer: two re-reads (the customer's is shared with ensureCustomer).
      expect(budget.counters.calls).toBe(2);
      const [sub] = await gw.orm.em.getConnection().execute<{ raw: Stripe.Subscription }[]>(`select "raw" from "subscriptions" where "id" = ?`, [subId]);
      expect(sub!.raw.metadata).toEqual({ step: '4' });
      const [cus] = await gw.orm.em.getConnection().execute<{ name: string }[]>(`select "name" from "customers" where "id" = ?`, [customerId]);
      expect(cus!.name).toBe('Budget Two');
    } finally {
      await gw.close();
    }
  });

  it('answered 429 by Stripe, a re-read waits and tries again: the batch goes through', async () => {
    const budget = new RereadBudget({ ratePerSecond: 100 });
    setRereadBudget(side.stripe, budget);
    const gw = await gateway(side, { batchSize: 64 });
    try {
      for (const e of tied) expect((await gw.deliver(e)).status).toBe(200);
      await setFaults({ status: 429, count: 3, retryAfter: 0 });
      const outcomes = await gw.worker.drain();
      expect(outcomes.map((o) => o.status)).toEqual(tied.map(() => 'processed'));
      expect(budget.counters.rateLimited).toBe(3);
      const [sub] = await gw.orm.em.getConnection().execute<{ raw: Stripe.Subscription }[]>(`select "raw" from "subscriptions" where "id" = ?`, [subId]);
      expect(sub!.raw.metadata).toEqual({ step: '4' });
    } finally {
      await setFaults({});
      await gw.close();
    }
  });

  it('the budget never starts more calls in a second than its rate, nor more at once than its concurrency', async () => {
    const budget = new RereadBudget({ ratePerSecond: 4, concurrency: 2 });
    const starts: number[] = [];
    let active = 0;
    let maxActive = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        budget.run(async () => {
          starts.push(performance.now());
          maxActive = Math.max(maxActive, ++active);
          await new Promise((r) => setImmediate(r));
          active--;
        }),
      ),
    );
    expect(maxActive).toBeLessThanOrEqual(2);
    starts.sort((a, b) => a - b);
    // 4 per one-second window: any 5 consecutive starts span (nearly) a second.
    for (let i = 4; i < starts.length; i++) expect(starts[i]! - starts[i - 4]!).toBeGreaterThan(900);
    expect(budget.counters.calls).toBe(10);
  });
});
