import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meteredLookupKey } from '../../src/catalog.js';
import { Customer, Subscription, SubscriptionItem } from '../../src/db/entities/index.js';
import {
  EXTERNAL_ID_METADATA_KEY,
  MirrorInputError,
  SUBSCRIPTION_MIRROR_EXPAND,
  mirrorObject,
  upsertSubscription,
} from '../../src/stripe/mirror/index.js';
import { countStatements } from '../support/db.js';
import { DAY, JAN_1_2026, json, mirrorWorld, seconds, type MirrorWorld } from './support.js';
import { advanceClock } from '../support/test-clock.js';

let w: MirrorWorld;
let clock: Stripe.TestHelpers.TestClock;
let customer: Stripe.Customer;
let coupon: Stripe.Coupon;

beforeAll(async () => {
  w = await mirrorWorld();
  clock = await w.stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  customer = await w.stripe.customers.create({ email: 'seats@example.com', test_clock: clock.id, metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-seats' } });
  const pm = await w.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  customer = await w.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  coupon = await w.stripe.coupons.create({ percent_off: 12.5, duration: 'forever' });
});
afterAll(() => w?.close());

const em = () => w.db.orm.em.fork();
const subRow = (id: string) => em().findOneOrFail(Subscription, { id });
const itemRows = (subscriptionId: string) => em().find(SubscriptionItem, { subscriptionId }, { orderBy: { id: 'asc' } });
const retrieve = (id: string) => w.stripe.subscriptions.retrieve(id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] });

/** The mirror row and items against Stripe's copy, field by field (expectations computed here, not by the mapper). */
async function expectMirrorEquals(sub: Stripe.Subscription, expected: { planId: string | null; mrrAmount: number | null }) {
  const row = await subRow(sub.id);
  const licensed = sub.items.data.find((i) => i.price.recurring?.usage_type !== 'metered')!;
  const discount = sub.discounts[0] as Stripe.Discount | undefined;
  const c = discount?.source.coupon as Stripe.Coupon | undefined;
  expect(row).toMatchObject({
    id: sub.id,
    customerId: sub.customer,
    status: sub.status,
    planId: expected.planId,
    priceId: licensed.price.id,
    quantity: licensed.quantity,
    currency: sub.currency,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    latestInvoiceId: sub.latest_invoice,
    mrrAmount: expected.mrrAmount,
    testClock: sub.test_clock,
    metadata: sub.metadata,
    discount: c ? { couponId: c.id, percentOff: c.percent_off, amountOff: c.amount_off, duration: c.duration } : null,
  });
  expect(seconds(row.currentPeriodStart)).toBe(licensed.current_period_start);
  expect(seconds(row.currentPeriodEnd)).toBe(licensed.current_period_end);
  expect(seconds(row.trialStart)).toBe(sub.trial_start);
  expect(seconds(row.trialEnd)).toBe(sub.trial_end);
  expect(seconds(row.cancelAt)).toBe(sub.cancel_at);
  expect(seconds(row.canceledAt)).toBe(sub.canceled_at);
  expect(seconds(row.endedAt)).toBe(sub.ended_at);
  expect(seconds(row.createdAt)).toBe(sub.created);
  expect(row.raw).toEqual(json(sub));
  const items = await itemRows(sub.id);
  const want = [...sub.items.data].sort((a, b) => (a.id < b.id ? -1 : 1));
  expect(items.map((i) => ({ id: i.id, priceId: i.priceId, quantity: i.quantity, start: seconds(i.currentPeriodStart), end: seconds(i.currentPeriodEnd), raw: i.raw }))).toEqual(
    want.map((i) => ({ id: i.id, priceId: i.price.id, quantity: i.quantity ?? null, start: i.current_period_start, end: i.current_period_end, raw: json(i) })),
  );
}

describe('upsertSubscription', () => {
  let sub: Stripe.Subscription;

  it('mirrors a per-seat subscription with a metered item, a trial and a 12.5 % coupon', async () => {
    sub = await w.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: w.prices.get('basic_monthly')!.id, quantity: 3 }, { price: w.prices.get(meteredLookupKey('basic_monthly', 'api_calls'))!.id }],
      trial_period_days: 14,
      discounts: [{ coupon: coupon.id }],
      metadata: { source: 'test' },
      expand: [...SUBSCRIPTION_MIRROR_EXPAND],
    });
    expect(sub.status).toBe('trialing');

    const { count, statements } = await countStatements(w.db.orm, () => upsertSubscription(em(), sub, w.catalog));
    // begin, subscription upsert, its MRR point (revenue history), items upsert, stale items delete, commit.
    expect(count, statements.join('\n')).toBeLessThanOrEqual(6);

    // 3 × $1.00 less 12.5 % = 262.5 cents → 263 (its own amount, whatever the status; trialing is not counted in totals).
    await expectMirrorEquals(await retrieve(sub.id), { planId: 'basic_monthly', mrrAmount: 263 });
    expect((await subRow(sub.id)).discount).toMatchObject({ couponId: coupon.id, percentOff: 12.5, amountOff: null, duration: 'forever' });
    expect(await itemRows(sub.id)).toHaveLength(2);
    expect((await itemRows(sub.id)).find((i) => i.priceId === w.prices.get(meteredLookupKey('basic_monthly', 'api_calls'))!.id)?.quantity).toBeNull();
  });

  it('upserting the same copy twice changes nothing and leaves one row per object', async () => {
    const before = await subRow(sub.id);
    const beforeItems = await itemRows(sub.id);
    await upsertSubscription(em(), sub, w.catalog);
    await upsertSubscription(em(), sub, w.catalog);
    const after = await subRow(sub.id);
    const strip = <T extends { syncedAt: Date }>({ syncedAt: _s, ...rest }: T) => rest;
    expect(strip(after)).toEqual(strip(before));
    expect((await itemRows(sub.id)).map(strip)).toEqual(beforeItems.map(strip));
    expect(await em().count(Subscription, { id: sub.id })).toBe(1);
    expect(await em().count(SubscriptionItem, { subscriptionId: sub.id })).toBe(2);
  });

  it('deletes items no longer on the subscription, and follows quantity changes', async () => {
    const metered = sub.items.data.find((i) => i.price.recurring?.usage_type === 'metered')!;
    const licensed = sub.items.data.find((i) => i.price.recurring?.usage_type !== 'metered')!;
    const updated = await w.stripe.subscriptions.update(sub.id, {
      items: [{ id: metered.id, deleted: true }, { id: licensed.id, quantity: 5 }],
      proration_behavior: 'none',
      expand: [...SUBSCRIPTION_MIRROR_EXPAND],
    });
    expect(updated.items.data).toHaveLength(1);
    // The caller's EntityManager had the row loaded: after the upsert it sees the new state (write-through).
    const callerEm = em();
    expect((await callerEm.findOneOrFail(Subscription, { id: sub.id })).quantity).toBe(3);
    await upsertSubscription(callerEm, updated, w.catalog);
    expect((await callerEm.findOneOrFail(Subscription, { id: sub.id })).quantity).toBe(5);
    const rows = await itemRows(sub.id);
    expect(rows.map((r) => r.id)).toEqual([licensed.id]);
    // 5 × 100 × 0.875 = 437.5 → 438
    await expectMirrorEquals(await retrieve(sub.id), { planId: 'basic_monthly', mrrAmount: 438 });
    sub = updated;
  });

  it('resolves the plan from the prices table when an item price is a bare id', async () => {
    const bare = json(sub) as unknown as { items: { data: { price: unknown }[] } };
    for (const item of bare.items.data) item.price = (item.price as Stripe.Price).id;
    const { count } = await countStatements(w.db.orm, () => upsertSubscription(em(), bare as unknown as Stripe.Subscription, w.catalog));
    expect(count).toBeLessThanOrEqual(7); // + one select of the prices
    expect(await subRow(sub.id)).toMatchObject({ planId: 'basic_monthly', priceId: w.prices.get('basic_monthly')!.id, quantity: 5, mrrAmount: 438 });
  });

  it('a price that lost its lookup key still maps to its plan through metadata.plan_id', async () => {
    const copy = json(sub) as Stripe.Subscription;
    const item = copy.items.data[0]!;
    item.price = { ...item.price, lookup_key: null };
    await upsertSubscription(em(), copy, w.catalog);
    expect((await subRow(sub.id)).planId).toBe('basic_monthly');
    // A price the catalog does not know has no plan.
    item.price = { ...item.price, metadata: {} };
    await upsertSubscription(em(), copy, w.catalog);
    expect((await subRow(sub.id)).planId).toBeNull();
    await upsertSubscription(em(), sub, w.catalog);
  });

  it('refuses unexpanded discounts (nothing written); mirrorObject with a client re-reads them', async () => {
    const plainCopy = await w.stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(typeof plainCopy.discounts[0]).toBe('string');
    await em().nativeUpdate(Subscription, { id: sub.id }, { quantity: 99 });
    await expect(upsertSubscription(em(), plainCopy, w.catalog)).rejects.toThrow(MirrorInputError);
    expect((await subRow(sub.id)).quantity).toBe(99);

    const results = await mirrorObject(em(), plainCopy, { catalog: w.catalog, stripe: w.stripe, lastEventAt: new Date(JAN_1_2026 * 1000) });
    expect(results.map((r) => r.kind)).toEqual(['subscription', 'invoice']);
    expect(await subRow(sub.id)).toMatchObject({ quantity: 5, mrrAmount: 438, lastEventAt: new Date(JAN_1_2026 * 1000) });
    // The expanded latest invoice went along.
    expect(results[1]).toEqual({ kind: 'invoice', id: (plainCopy.latest_invoice as Stripe.Invoice).id, action: 'upserted' });
  });

  it('mirrors a yearly plan and a subscription through its renewal after the trial', async () => {
    const yearly = await w.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: w.prices.get('pro_yearly')!.id, quantity: 1 }],
      expand: [...SUBSCRIPTION_MIRROR_EXPAND, 'customer'],
    });
    const results = await mirrorObject(em(), yearly, { catalog: w.catalog });
    expect(results.map((r) => r.kind)).toEqual(['customer', 'subscription']);
    expect(await em().count(Customer, { id: customer.id })).toBe(1);
    await expectMirrorEquals(await retrieve(yearly.id), { planId: 'pro_yearly', mrrAmount: 417 });

    // Past the 14-day trial of the basic subscription: it renews, active, with a new latest invoice.
    await advanceClock(w.stripe, clock.id, JAN_1_2026 + 15 * DAY);
    const renewed = await retrieve(sub.id);
    expect(renewed.status).toBe('active');
    expect(renewed.latest_invoice).not.toBe(sub.latest_invoice);
    await upsertSubscription(em(), renewed, w.catalog);
    await expectMirrorEquals(renewed, { planId: 'basic_monthly', mrrAmount: 438 });
  });

  it('mirrorObject writes a subscription and its nested objects all or nothing', async () => {
    const s = await w.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: w.prices.get('pro_monthly')!.id, quantity: 1 }],
      expand: [...SUBSCRIPTION_MIRROR_EXPAND, 'latest_invoice'],
    });
    const broken = json(s) as Stripe.Subscription;
    (broken.latest_invoice as Stripe.Invoice).lines.has_more = true; // and no client to fetch the rest
    await expect(mirrorObject(em(), broken, { catalog: w.catalog })).rejects.toThrow(MirrorInputError);
    expect(await em().count(Subscription, { id: s.id })).toBe(0);
    const results = await mirrorObject(em(), s, { catalog: w.catalog });
    expect(results).toEqual([
      { kind: 'subscription', id: s.id, action: 'upserted' },
      { kind: 'invoice', id: (s.latest_invoice as Stripe.Invoice).id, action: 'upserted' },
    ]);
    await w.stripe.subscriptions.cancel(s.id);
  });

  it('a canceled subscription keeps its own mrr_amount and records the cancellation', async () => {
    const c = await w.stripe.subscriptions.create({ customer: customer.id, items: [{ price: w.prices.get('pro_monthly')!.id, quantity: 2 }] });
    const canceled = await w.stripe.subscriptions.cancel(c.id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] });
    expect(canceled.status).toBe('canceled');
    await upsertSubscription(em(), canceled, w.catalog);
    await expectMirrorEquals(canceled, { planId: 'pro_monthly', mrrAmount: 1000 });
    expect((await subRow(c.id)).endedAt).not.toBeNull();
  });
});
