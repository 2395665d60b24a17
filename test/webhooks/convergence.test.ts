/**
 * One customer's lifecycle (≥ 50 handled events, made in the emulator through the SDK on a test clock)
 * delivered to the webhook route in order, shuffled, with duplicates, delayed, and with every timestamp
 * equal: each delivery order ends in the same mirror tables.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, payloadOrder } from '../../src/stripe/sync/convergence.js';
import { isHandledEventType } from '../../src/stripe/sync/handlers.js';
import { allEvents, DAY, gateway, mirrorSnapshot, planPrice, seeded, shuffled, stripeSide, withDuplicatesAndReplays, type StripeSide } from './support.js';
import { advanceClock } from '../support/test-clock.js';

let side: StripeSide;
let events: Stripe.Event[];
let baseline: Record<string, unknown[]>;
let baselineStamped: Record<string, unknown[]>;
let subId: string;
let customerId: string;

const START = Date.UTC(2026, 0, 1) / 1000;

/** Signs and posts each event, letting the worker process it before the next arrives (delivery order = processing order). */
async function deliverAll(list: (Stripe.Event | string)[], opts: { withLastEventAt?: boolean } = {}) {
  const gw = await gateway(side);
  try {
    for (const e of list) {
      const res = await gw.deliver(e);
      expect(res.status).toBe(200);
      const outcomes = await gw.worker.drain();
      for (const o of outcomes) expect(o.status, JSON.stringify(o)).toBe('processed');
    }
    return await mirrorSnapshot(gw.orm, opts);
  } finally {
    await gw.close();
  }
}

beforeAll(async () => {
  side = await stripeSide();
  const { stripe } = side;
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: START });
  const customer = await stripe.customers.create({ email: 'life@example.com', name: 'Life Cycle', test_clock: clock.id, metadata: { external_id: 'user_life' } });
  customerId = customer.id;
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const basic = await planPrice(stripe, 'basic_monthly');
  const pro = await planPrice(stripe, 'pro_monthly');
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: basic.id, quantity: 2 }], trial_period_days: 7 });
  subId = sub.id;
  // Several changes within one frozen second: genuine same-second updates.
  await stripe.subscriptions.update(sub.id, { metadata: { step: '1' } });
  await stripe.subscriptions.update(sub.id, { metadata: { step: '2' } });
  await stripe.customers.update(customer.id, { name: 'Life Cycle Jr' });
  await stripe.customers.update(customer.id, { metadata: { external_id: 'user_life', tier: 'gold' } });
  let t = START;
  for (let month = 1; month <= 6; month++) {
    t += 31 * DAY;
    await advanceClock(stripe, clock.id, t);
    await stripe.customers.update(customer.id, { metadata: { external_id: 'user_life', tier: 'gold', month: String(month) } });
    if (month === 2) {
      const current = await stripe.subscriptions.retrieve(sub.id);
      await stripe.subscriptions.update(sub.id, { items: [{ id: current.items.data[0]!.id, price: pro.id, quantity: 3 }], proration_behavior: 'none' });
    }
  }
  await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
  t += 31 * DAY;
  await advanceClock(stripe, clock.id, t);
  await stripe.customers.update(customer.id, { email: 'final@example.com' });
  await stripe.paymentMethods.detach(pm.id);

  // Test clock events write no mirror table of this snapshot (they keep test_clocks, monotonic by themselves).
  events = (await allEvents(stripe)).filter((e) => isHandledEventType(e.type) && !e.type.startsWith('test_helpers.'));
  baselineStamped = await deliverAll(events, { withLastEventAt: true });
  baseline = stripLastEventAt(baselineStamped);
}, 120_000);

afterAll(async () => {
  await side?.close();
});

function stripLastEventAt(s: Record<string, unknown[]>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(s).map(([k, rows]) => [k, rows.map((r) => {
    const { last_event_at: _l, ...rest } = r as Record<string, unknown>;
    return rest;
  })]));
}

describe('convergence of the mirror', () => {
  it('the decision rule: newer applies, older skips, ties and unstamped rows re-read', () => {
    const at = (s: number) => new Date(s * 1000);
    expect(decide(at(10), undefined, true)).toBe('apply');
    expect(decide(at(10), undefined, false)).toBe('reread');
    expect(decide(at(10), null, true)).toBe('reread');
    expect(decide(at(11), at(10), true)).toBe('apply');
    expect(decide(at(11), at(10), false)).toBe('reread');
    expect(decide(at(10), at(10), true)).toBe('reread');
    expect(decide(at(9), at(10), true)).toBe('skip');
  });

  it('ties the payload settles: created copies, identical copies, invoice status and attempts, final states', () => {
    const row = (raw: Record<string, unknown>, deleted = false) => ({ raw, deleted });
    const inv = (status: string, attempt_count = 0) => ({ id: 'in_1', status, attempt_count });
    const order = (kind: 'customer' | 'subscription' | 'invoice', type: string, payload: Record<string, unknown>, current: { raw: unknown; deleted: boolean }) =>
      payloadOrder(kind, type, payload, payload, current);
    // A created copy is the first state: never newer than a row.
    expect(order('invoice', 'invoice.created', inv('draft'), row(inv('draft')))).toBe('older');
    expect(order('customer', 'customer.created', { id: 'cus_1', name: 'A' }, row({ id: 'cus_1', name: 'B' }))).toBe('older');
    expect(order('invoice', 'invoice.payment_succeeded', inv('paid', 1), row(inv('paid', 1)))).toBe('same');
    expect(order('invoice', 'invoice.finalized', inv('open'), row(inv('draft')))).toBe('newer');
    expect(order('invoice', 'invoice.finalized', inv('open'), row(inv('paid')))).toBe('older');
    expect(order('invoice', 'invoice.voided', inv('void'), row(inv('uncollectible')))).toBe('newer');
    expect(order('invoice', 'invoice.payment_failed', inv('open', 2), row(inv('open', 1)))).toBe('newer');
    expect(order('invoice', 'invoice.payment_failed', inv('open', 1), row(inv('open', 2)))).toBe('older');
    // Same status and attempts, different content: nothing proves the order.
    expect(order('invoice', 'invoice.updated', { ...inv('draft'), total: 5 }, row(inv('draft')))).toBeNull();
    expect(order('subscription', 'customer.subscription.deleted', { id: 'sub_1', status: 'canceled' }, row({ id: 'sub_1', status: 'active' }))).toBe('newer');
    expect(order('subscription', 'customer.subscription.updated', { id: 'sub_1', status: 'active' }, row({ id: 'sub_1', status: 'canceled' }))).toBe('older');
    expect(order('subscription', 'customer.subscription.updated', { id: 'sub_1', status: 'active', q: 2 }, row({ id: 'sub_1', status: 'past_due' }))).toBeNull();
    expect(order('customer', 'customer.deleted', { id: 'cus_1' }, row({ id: 'cus_1' }))).toBe('newer');
    expect(order('customer', 'customer.updated', { id: 'cus_1', name: 'A' }, row({ id: 'cus_1', name: 'A' }, true))).toBe('older');
    // A copy the writer would not store as is (null) proves nothing by identity.
    expect(payloadOrder('invoice', 'invoice.updated', inv('open'), null, row(inv('open')))).toBeNull();
  });

  it('in order: the mirror is Stripe’s final state', async () => {
    expect(events.length).toBeGreaterThanOrEqual(50);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['customer.created', 'customer.updated', 'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted', 'invoice.paid', 'invoice.finalized', 'payment_method.attached']) {
      expect(types, t).toContain(t);
    }
    // Same-second events exist (ties are part of the test, not an accident).
    const seconds = new Map<string, number>();
    for (const e of events) {
      const k = `${(e.data.object as { id?: string }).id}@${e.created}`;
      seconds.set(k, (seconds.get(k) ?? 0) + 1);
    }
    expect([...seconds.values()].some((n) => n > 1)).toBe(true);

    const sub = baseline.subscriptions!.find((r) => (r as { id: string }).id === subId) as Record<string, unknown>;
    const fresh = await side.stripe.subscriptions.retrieve(subId);
    expect(fresh.status).toBe('canceled');
    expect(sub).toMatchObject({ status: 'canceled', plan_id: 'pro_monthly', quantity: 3, customer_id: customerId });
    const cust = baseline.customers!.find((r) => (r as { id: string }).id === customerId) as Record<string, unknown>;
    expect(cust).toMatchObject({ email: 'final@example.com', name: 'Life Cycle Jr', external_id: 'user_life', default_payment_method: null });
    expect(baseline.invoices!.length).toBeGreaterThanOrEqual(4);
    // Every mirrored invoice matches Stripe.
    for (const inv of baseline.invoices as { id: string; status: string; amount_paid: number }[]) {
      const s = await side.stripe.invoices.retrieve(inv.id);
      expect([inv.id, inv.status, inv.amount_paid]).toEqual([s.id, s.status, s.amount_paid]);
    }
  });

  it('in order, same-second invoice events settle from their payloads: no invoice is re-read from Stripe', async () => {
    const gw = await gateway(side);
    try {
      const actions: string[] = [];
      for (const e of events) {
        expect((await gw.deliver(e)).status).toBe(200);
        for (const o of await gw.worker.drain()) {
          expect(o.status, JSON.stringify(o)).toBe('processed');
          if (o.status === 'processed' && o.result.kind === 'invoice') actions.push(`${o.type} ${o.result.action}`);
        }
      }
      // The lifecycle's invoices tie (draft, finalized and paid in one frozen second) ...
      const ties = new Set<string>();
      const invoiceSeconds = new Map<string, number>();
      for (const e of events.filter((x) => x.type.startsWith('invoice.'))) {
        const k = `${(e.data.object as { id: string }).id}@${e.created}`;
        invoiceSeconds.set(k, (invoiceSeconds.get(k) ?? 0) + 1);
        if (invoiceSeconds.get(k)! > 1) ties.add(k);
      }
      expect(ties.size).toBeGreaterThan(0);
      // ... and none of them needed Stripe: statuses only move forward, identical copies change nothing.
      expect(actions.filter((a) => a.endsWith(' reread'))).toEqual([]);
      expect(actions.some((a) => a.endsWith(' skipped'))).toBe(true);
      expect(stripLastEventAt(await mirrorSnapshot(gw.orm))).toEqual(baseline);
    } finally {
      await gw.close();
    }
  });

  it('shuffled: the same mirror, last_event_at included', async () => {
    expect(await deliverAll(shuffled(events, seeded(7)), { withLastEventAt: true })).toEqual(baselineStamped);
  });

  it('with duplicates (redelivered, and as distinct copies of the same event): the same mirror', async () => {
    expect(await deliverAll(withDuplicatesAndReplays(events, 11), { withLastEventAt: true })).toEqual(baselineStamped);
  });

  it('delayed: a third of the events held back and delivered last, newest first', async () => {
    const random = seeded(3);
    const held: Stripe.Event[] = [];
    const onTime: Stripe.Event[] = [];
    for (const e of events) (random() < 0.33 ? held : onTime).push(e);
    expect(await deliverAll([...onTime, ...held.reverse()], { withLastEventAt: true })).toEqual(baselineStamped);
  });

  it('with every timestamp equal (each event re-signed with the same created): the same mirror', async () => {
    const same = events[Math.floor(events.length / 2)]!.created;
    const list = shuffled(events, seeded(5)).map((e) => ({ ...e, created: same }));
    expect(await deliverAll(list)).toEqual(baseline);
  });

  /** Delivers everything first, then lets the worker process the inbox in batches (several events per transaction). */
  async function deliverThenDrainInBatches(list: Stripe.Event[], opts: { withLastEventAt?: boolean } = {}) {
    const gw = await gateway(side, { batchSize: 16 });
    try {
      for (const e of list) expect((await gw.deliver(e)).status).toBe(200);
      const outcomes = await gw.worker.drain();
      for (const o of outcomes) expect(o.status, JSON.stringify(o)).toBe('processed');
      expect(outcomes.length).toBe(new Set(list.map((e) => e.id)).size);
      return await mirrorSnapshot(gw.orm, opts);
    } finally {
      await gw.close();
    }
  }

  it('in batches of 16 per transaction, shuffled with duplicates: the same mirror', async () => {
    const random = seeded(13);
    const list = shuffled([...events, ...events.filter(() => random() < 0.3)], random);
    expect(await deliverThenDrainInBatches(list, { withLastEventAt: true })).toEqual(baselineStamped);
  });

  it('in batches, with every timestamp equal (processed in shuffled arrival order, ties inside one batch): the same mirror', async () => {
    const same = events[Math.floor(events.length / 2)]!.created;
    const list = shuffled(events, seeded(17)).map((e) => ({ ...e, created: same }));
    expect(await deliverThenDrainInBatches(list)).toEqual(baseline);
  });
});
