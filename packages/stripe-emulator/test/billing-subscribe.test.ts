import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { DAY, HOUR, JAN_1_2026, invoicePaymentIntent, subscriptionEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;
let otherPrice: Stripe.Price;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'Basic' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' } });
  const other = await stripe.products.create({ name: 'Other' });
  otherPrice = await stripe.prices.create({ product: other.id, currency: 'usd', unit_amount: 400, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

async function customerWithCard(card = 'pm_card_visa', testClock?: string): Promise<Stripe.Customer> {
  const c = await stripe.customers.create({ email: 'sub@example.com', ...(testClock ? { test_clock: testClock } : {}) });
  const pm = await stripe.paymentMethods.attach(card, { customer: c.id });
  return stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm.id } });
}

function invoiceOf(sub: Stripe.Subscription): Stripe.Invoice {
  return sub.latest_invoice as Stripe.Invoice;
}

describe('subscribe: payment behaviours', () => {
  it('charges the default card: active, first invoice paid, events in Stripe order', async () => {
    const c = await customerWithCard();
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id, quantity: 2 }], expand: ['latest_invoice'] });
    expect(sub.status).toBe('active');
    const inv = invoiceOf(sub);
    expect(inv).toMatchObject({ status: 'paid', billing_reason: 'subscription_create', subtotal: 2000, total: 2000, amount_due: 2000, amount_paid: 2000, amount_remaining: 0, attempt_count: 1, attempted: true });
    expect(inv.parent?.subscription_details?.subscription).toBe(sub.id);
    expect(inv.number).toMatch(/^[A-Z0-9]+-0001$/);
    expect(inv.hosted_invoice_url).toBe(`${emu.url}/invoices/${inv.id}`);
    expect(inv.invoice_pdf).toBe(`${emu.url}/invoices/${inv.id}/pdf`);
    const line = inv.lines.data[0]!;
    expect(line.pricing?.price_details?.price).toBe(price.id);
    expect(line.parent?.subscription_item_details?.subscription_item).toBe(sub.items.data[0]!.id);
    expect(line.parent?.subscription_item_details?.proration).toBe(false);
    expect(line.period).toEqual({ start: sub.items.data[0]!.current_period_start, end: sub.items.data[0]!.current_period_end });
    expect(await subscriptionEventTypes(stripe, sub.id)).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
    ]);
    const pi = await invoicePaymentIntent(stripe, inv.id);
    expect(pi).toMatchObject({ status: 'succeeded', amount: 2000, amount_received: 2000 });
  });

  it('allow_incomplete with a declining card: incomplete, invoice open, PaymentIntent requires_payment_method', async () => {
    const c = await customerWithCard('pm_card_chargeCustomerFail');
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], payment_behavior: 'allow_incomplete', expand: ['latest_invoice'] });
    expect(sub.status).toBe('incomplete');
    const inv = invoiceOf(sub);
    expect(inv).toMatchObject({ status: 'open', attempt_count: 1, attempted: true, amount_due: 1000, amount_paid: 0, next_payment_attempt: null });
    const pi = await invoicePaymentIntent(stripe, inv.id);
    expect(pi.status).toBe('requires_payment_method');
    expect(pi.last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' });
    expect(await subscriptionEventTypes(stripe, sub.id)).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.payment_failed',
      'invoice.updated',
    ]);

    // Paying the open invoice with a good card activates the subscription.
    const paid = await stripe.invoices.pay(inv.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 1000, attempt_count: 2 });
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('active');
    const types = await subscriptionEventTypes(stripe, sub.id);
    expect(types.slice(-3)).toEqual(['invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
  });

  it('error_if_incomplete with a declining card: 402 card error and no subscription left', async () => {
    const c = await customerWithCard('pm_card_chargeCustomerFail');
    await expect(
      stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'all' })).data).toEqual([]);
    expect((await stripe.invoices.list({ customer: c.id })).data).toEqual([]);
    // A declining test card given for the subscription is not left attached either.
    await expect(
      stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], default_payment_method: 'pm_card_chargeCustomerFail', payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ statusCode: 402 });
    expect((await stripe.customers.listPaymentMethods(c.id)).data).toHaveLength(1);
  });

  it('a 100 % coupon needs no charge: active even with a declining card', async () => {
    const c = await customerWithCard('pm_card_chargeCustomerFail');
    const free = await stripe.coupons.create({ percent_off: 100, duration: 'once' });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], discounts: [{ coupon: free.id }], payment_behavior: 'error_if_incomplete', expand: ['latest_invoice'] });
    expect(sub.status).toBe('active');
    expect(invoiceOf(sub)).toMatchObject({ status: 'paid', subtotal: 1000, total: 0, amount_due: 0 });
  });

  it('without any card: incomplete, nothing attempted; error_if_incomplete refuses', async () => {
    const c = await stripe.customers.create({ email: 'nocard@example.com' });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], expand: ['latest_invoice'] });
    expect(sub.status).toBe('incomplete');
    expect(invoiceOf(sub)).toMatchObject({ status: 'open', attempt_count: 0, attempted: false });
    await expect(
      stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ statusCode: 400 });
  });

  it('pm_card_chargeDeclined as the subscription card declines at charge time', async () => {
    const c = await stripe.customers.create({ email: 'declined@example.com' });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], default_payment_method: 'pm_card_chargeDeclined', expand: ['latest_invoice'] });
    expect(sub.status).toBe('incomplete');
    expect(invoiceOf(sub).status).toBe('open');
  });

  it('default_incomplete: confirmation secret, confirming the PaymentIntent activates', async () => {
    const c = await stripe.customers.create({ email: 'elements@example.com' });
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice.confirmation_secret'],
    });
    expect(sub.status).toBe('incomplete');
    const inv = invoiceOf(sub);
    expect(inv.status).toBe('open');
    expect(inv.attempt_count).toBe(0);
    const secret = inv.confirmation_secret!;
    expect(secret.type).toBe('payment_intent');
    const pi = await invoicePaymentIntent(stripe, inv.id);
    expect(pi.status).toBe('requires_payment_method');
    expect(secret.client_secret).toBe(pi.client_secret);
    expect(secret.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    // Plain retrieve does not show the includable field.
    expect((await stripe.invoices.retrieve(inv.id)).confirmation_secret).toBeUndefined();

    const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: 'pm_card_visa' });
    expect(confirmed.status).toBe('succeeded');
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe('active');
    expect(after.default_payment_method).toMatch(/^pm_/);
    expect((await stripe.invoices.retrieve(inv.id)).status).toBe('paid');
    const events = await subscriptionEventTypes(stripe, sub.id);
    expect(events).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
      'customer.subscription.updated',
    ]);
  });

  it('a trial starts trialing with a paid zero invoice', async () => {
    const c = await stripe.customers.create({ email: 'trial@example.com' });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], trial_period_days: 14, expand: ['latest_invoice'] });
    expect(sub.status).toBe('trialing');
    expect(sub.trial_end! - sub.trial_start!).toBe(14 * DAY);
    expect(sub.items.data[0]!.current_period_end).toBe(sub.trial_end);
    expect(invoiceOf(sub)).toMatchObject({ status: 'paid', total: 0, amount_due: 0 });
    expect(invoiceOf(sub).lines.data[0]!.description).toBe('Trial period for Basic');
  });

  it('rejects bad input with Stripe errors naming the param', async () => {
    const c = await customerWithCard();
    await expect(stripe.subscriptions.create({ customer: c.id, items: [{ price: 'price_nope' }] })).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'items[0][price]',
    });
    await expect(stripe.subscriptions.create({ customer: 'cus_nope', items: [{ price: price.id }] })).rejects.toMatchObject({ statusCode: 404, param: 'customer' });
    await expect(stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], bogus: 1 } as never)).rejects.toMatchObject({ param: 'bogus' });
    await expect(stripe.subscriptions.retrieve('sub_nope')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('discounts', () => {
  it('percent_off forever applies to every invoice; amount_off once only to the first', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customerWithCard('pm_card_visa', clock.id);
    const percent = await stripe.coupons.create({ percent_off: 25, duration: 'forever' });
    const amountOnce = await stripe.coupons.create({ amount_off: 300, currency: 'usd', duration: 'once' });
    const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: amountOnce.id }, code: 'WELCOME3' });

    const a = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], discounts: [{ coupon: percent.id }], expand: ['latest_invoice'] });
    expect(invoiceOf(a)).toMatchObject({ subtotal: 1000, total: 750, amount_paid: 750 });
    expect(invoiceOf(a).total_discount_amounts).toEqual([{ amount: 250, discount: a.discounts[0] }]);
    expect(invoiceOf(a).lines.data[0]!.discount_amounts).toEqual([{ amount: 250, discount: a.discounts[0] }]);

    const b = await stripe.subscriptions.create({ customer: c.id, items: [{ price: otherPrice.id, quantity: 3 }], discounts: [{ promotion_code: promo.id }], expand: ['latest_invoice'] });
    expect(invoiceOf(b)).toMatchObject({ subtotal: 1200, total: 900, amount_paid: 900 });
    // The once coupon is spent by the invoice it discounted (emulator: removed from the subscription then).
    expect(invoiceOf(b).total_discount_amounts?.[0]?.amount).toBe(300);
    expect(b.discounts).toEqual([]);
    expect((await stripe.promotionCodes.retrieve(promo.id)).times_redeemed).toBe(1);

    // One month and the draft hour later: the forever coupon again, the once coupon spent.
    await advanceClock(stripe, clock.id, JAN_1_2026 + 31 * DAY + 2 * HOUR);
    const renewedA = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(a.id)).latest_invoice as string);
    expect(renewedA).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', subtotal: 1000, total: 750 });
    const bNow = await stripe.subscriptions.retrieve(b.id);
    expect(bNow.discounts).toEqual([]);
    const renewedB = await stripe.invoices.retrieve(bNow.latest_invoice as string);
    expect(renewedB).toMatchObject({ status: 'paid', subtotal: 1200, total: 1200, total_discount_amounts: [] });
  });

  it('percent_off rounds the discount half up to the cent', async () => {
    const c = await customerWithCard();
    const odd = await stripe.prices.create({ product: (price.product as string), currency: 'usd', unit_amount: 999, recurring: { interval: 'month' } });
    const coupon = await stripe.coupons.create({ percent_off: 12.5, duration: 'forever' });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: odd.id }], discounts: [{ coupon: coupon.id }], expand: ['latest_invoice'] });
    // 999 × 12.5 % = 124.875 → 125; total 874.
    expect(invoiceOf(sub)).toMatchObject({ subtotal: 999, total: 874 });
  });
});

describe('cancel and resume', () => {
  it('cancels now: canceled, deleted event, hidden from the default list', async () => {
    const c = await customerWithCard();
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_details: { reason: 'cancellation_requested' } });
    expect(canceled.ended_at).toBe(canceled.canceled_at);
    expect((await subscriptionEventTypes(stripe, sub.id)).at(-1)).toBe('customer.subscription.deleted');
    expect((await stripe.subscriptions.list({ customer: c.id })).data).toEqual([]);
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'canceled' })).data.map((s) => s.id)).toEqual([sub.id]);
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'all' })).data.map((s) => s.id)).toEqual([sub.id]);
    await expect(stripe.subscriptions.cancel(sub.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('deleting the customer cancels its subscriptions', async () => {
    const c = await customerWithCard();
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    await stripe.customers.del(c.id);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
  });

  it('cancel with prorate + invoice_now credits the unused time', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customerWithCard('pm_card_visa', clock.id);
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    await advanceClock(stripe, clock.id, JAN_1_2026 + 31 * DAY - 31 * DAY / 4);
    const canceled = await stripe.subscriptions.cancel(sub.id, { prorate: true, invoice_now: true, expand: ['latest_invoice'] });
    // A quarter of the month unused: −1000 × 1/4 = −250, credited to the customer's balance.
    const inv = invoiceOf(canceled);
    expect(inv.total).toBe(-250);
    expect(inv.amount_due).toBe(0);
    expect(inv.lines.data[0]!.parent?.subscription_item_details?.proration).toBe(true);
    expect((await stripe.customers.retrieve(c.id) as Stripe.Customer).balance).toBe(-250);
  });

  it('cancel at period end, then resume the pending cancellation; a set one ends at the boundary', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customerWithCard('pm_card_visa', clock.id);
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const periodEnd = sub.items.data[0]!.current_period_end;
    const pending = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(pending).toMatchObject({ status: 'active', cancel_at_period_end: true, cancel_at: periodEnd, canceled_at: JAN_1_2026 });
    const resumed = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: false });
    expect(resumed).toMatchObject({ status: 'active', cancel_at_period_end: false, cancel_at: null, canceled_at: null });
    const events = await stripe.events.list({ type: 'customer.subscription.updated', limit: 2 });
    expect(events.data[0]!.data.previous_attributes).toMatchObject({ cancel_at_period_end: true, cancel_at: periodEnd });

    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    await advanceClock(stripe, clock.id, periodEnd + HOUR);
    const ended = await stripe.subscriptions.retrieve(sub.id);
    expect(ended).toMatchObject({ status: 'canceled', ended_at: periodEnd });
    expect((await subscriptionEventTypes(stripe, sub.id)).at(-1)).toBe('customer.subscription.deleted');
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);
  });
});

describe('anchors, pauses and resumes', () => {
  it('billing_cycle_anchor bills the stub period as a fraction of a full one', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customerWithCard('pm_card_visa', clock.id);
    const feb1 = JAN_1_2026 + 31 * DAY;
    // Anchored on Feb 1 from Jan 11: 21 of the 31 days from Jan 1 to Feb 1 → 1000 × 21/31 = 677.4… → 677.
    await advanceClock(stripe, clock.id, JAN_1_2026 + 10 * DAY);
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], billing_cycle_anchor: feb1, expand: ['latest_invoice'] });
    expect(sub.billing_cycle_anchor).toBe(feb1);
    expect(sub.items.data[0]!.current_period_end).toBe(feb1);
    expect(invoiceOf(sub)).toMatchObject({ total: 677, status: 'paid' });
    await advanceClock(stripe, clock.id, feb1 + 2 * HOUR);
    const renewed = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(renewed.items.data[0]!.current_period_end).toBe(feb1 + 28 * DAY);
    expect(invoiceOf(renewed)).toMatchObject({ total: 1000, status: 'paid' });
  });

  it('a trial ending without a card pauses (trial_settings); resume bills and reactivates', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await stripe.customers.create({ test_clock: clock.id });
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      trial_period_days: 7,
      trial_settings: { end_behavior: { missing_payment_method: 'pause' } },
    });
    await advanceClock(stripe, clock.id, JAN_1_2026 + 7 * DAY + HOUR);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('paused');
    expect((await subscriptionEventTypes(stripe, sub.id)).slice(-2)).toEqual(['customer.subscription.paused', 'customer.subscription.updated']);
    await expect(stripe.subscriptions.resume('sub_nope')).rejects.toMatchObject({ statusCode: 404 });

    await stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_visa' });
    const resumed = await stripe.subscriptions.resume(sub.id, { expand: ['latest_invoice'] });
    expect(resumed.status).toBe('active');
    expect(invoiceOf(resumed)).toMatchObject({ total: 1000, status: 'paid' });
    expect(resumed.items.data[0]!.current_period_start).toBe(JAN_1_2026 + 7 * DAY + HOUR);
    const types = await subscriptionEventTypes(stripe, sub.id);
    expect(types).toContain('customer.subscription.resumed');
    await expect(stripe.subscriptions.resume(sub.id)).rejects.toMatchObject({ statusCode: 400 });
  });

  it('pause_collection keep_as_draft leaves renewals in draft until it is lifted', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customerWithCard('pm_card_visa', clock.id);
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const paused = await stripe.subscriptions.update(sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    expect(paused.pause_collection).toEqual({ behavior: 'keep_as_draft', resumes_at: null });
    await advanceClock(stripe, clock.id, JAN_1_2026 + 31 * DAY + 2 * HOUR);
    const draft = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect(draft.status).toBe('draft');
    const lifted = await stripe.subscriptions.update(sub.id, { pause_collection: '' });
    expect(lifted.pause_collection).toBeNull();
  });
});

describe('send_invoice', () => {
  it('finalizes with a due date, charges nothing, and goes past_due when the due date passes', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await stripe.customers.create({ test_clock: clock.id, email: 'ap@example.com' });
    const sub = await stripe.subscriptions.create({
      customer: c.id,
      items: [{ price: price.id }],
      collection_method: 'send_invoice',
      days_until_due: 30,
      expand: ['latest_invoice'],
    });
    expect(sub).toMatchObject({ status: 'active', collection_method: 'send_invoice', days_until_due: 30 });
    expect(invoiceOf(sub)).toMatchObject({ status: 'open', attempt_count: 0, due_date: JAN_1_2026 + 30 * DAY, amount_due: 1000 });
    await advanceClock(stripe, clock.id, JAN_1_2026 + 30 * DAY + 1);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('past_due');
    await stripe.invoices.pay(invoiceOf(sub).id, { paid_out_of_band: true });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });
});

describe('lists and items', () => {
  it('filters subscriptions by customer, price and status; pages through items', async () => {
    const c = await customerWithCard();
    const s1 = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    const s2 = await stripe.subscriptions.create({ customer: c.id, items: [{ price: otherPrice.id }, { price: price.id, quantity: 2 }] });
    const s3 = await stripe.subscriptions.create({ customer: c.id, items: [{ price: otherPrice.id }], trial_period_days: 7 });
    expect((await stripe.subscriptions.list({ customer: c.id })).data.map((s) => s.id)).toEqual([s3.id, s2.id, s1.id]);
    expect((await stripe.subscriptions.list({ customer: c.id, price: otherPrice.id })).data.map((s) => s.id)).toEqual([s3.id, s2.id]);
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'trialing' })).data.map((s) => s.id)).toEqual([s3.id]);
    const firstPage = await stripe.subscriptions.list({ customer: c.id, limit: 2 });
    expect(firstPage.has_more).toBe(true);

    const items = await stripe.subscriptionItems.list({ subscription: s2.id });
    expect(items.data).toHaveLength(2);
    const item = items.data.find((i) => i.price.id === price.id)!;
    const updated = await stripe.subscriptionItems.update(item.id, { quantity: 5, proration_behavior: 'none' });
    expect(updated.quantity).toBe(5);
    expect((await stripe.subscriptionItems.retrieve(item.id)).quantity).toBe(5);
    const added = await stripe.subscriptionItems.create({ subscription: s1.id, price: otherPrice.id, proration_behavior: 'none' });
    expect((await stripe.subscriptions.retrieve(s1.id)).items.data.map((i) => i.id)).toContain(added.id);
    const del = await stripe.subscriptionItems.del(added.id, { proration_behavior: 'none' });
    expect(del.deleted).toBe(true);
    expect((await stripe.subscriptions.retrieve(s1.id)).items.data).toHaveLength(1);

    expect((await stripe.invoices.list({ customer: c.id, status: 'paid' })).data.length).toBe(3);
    expect((await stripe.invoices.list({ subscription: s2.id })).data).toHaveLength(1);
  });

  it('invoice items pend until a manual invoice; finalize, void and mark uncollectible', async () => {
    const c = await customerWithCard();
    const ii = await stripe.invoiceItems.create({ customer: c.id, amount: 1234, currency: 'usd', description: 'Setup fee' });
    expect((await stripe.invoiceItems.list({ customer: c.id, pending: true })).data.map((x) => x.id)).toEqual([ii.id]);
    const draft = await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include', auto_advance: false });
    expect(draft).toMatchObject({ status: 'draft', total: 1234, number: null, hosted_invoice_url: null });
    const lines = await stripe.invoices.listLineItems(draft.id);
    expect(lines.data.map((l) => l.parent?.invoice_item_details?.invoice_item)).toEqual([ii.id]);
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    expect(open.status).toBe('open');
    expect(open.status_transitions.finalized_at).not.toBeNull();
    const voided = await stripe.invoices.voidInvoice(open.id);
    expect(voided.status).toBe('void');

    await stripe.invoiceItems.create({ customer: c.id, amount: 500, currency: 'usd' });
    const second = await stripe.invoices.finalizeInvoice((await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include' })).id);
    expect((await stripe.invoices.markUncollectible(second.id)).status).toBe('uncollectible');

    await stripe.invoiceItems.create({ customer: c.id, amount: 700, currency: 'usd' });
    const third = await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include' });
    const paid = await stripe.invoices.pay(third.id, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 700 });
  });
});
