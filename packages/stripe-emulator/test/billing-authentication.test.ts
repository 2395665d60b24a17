/**
 * Cards that need 3-D Secure (`pm_card_authenticationRequired`, `pm_card_threeDSecure2Required`):
 * on session the first payment waits for the customer (`requires_action`), confirming it (as
 * Stripe.js does after the challenge) pays it. `invoices.pay`, renewals and retries wait for the
 * customer too (`invoice.payment_action_required`), who confirms on the hosted invoice page; a
 * PaymentIntent confirmed with `off_session: true` is declined with `authentication_required`.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { HOUR, JAN_1_2026, allEvents, invoicePaymentIntent, paymentIntentEventTypes, subscriptionEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'Secure' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

async function customer(testClock?: string): Promise<Stripe.Customer> {
  return stripe.customers.create({ email: '3ds@example.com', ...(testClock ? { test_clock: testClock } : {}) });
}

describe('a card that needs authentication', () => {
  it.each(['pm_card_authenticationRequired', 'pm_card_threeDSecure2Required'])('attaches %s without a challenge', async (token) => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach(token, { customer: c.id });
    expect(pm).toMatchObject({ customer: c.id, type: 'card', card: { brand: 'visa' } });
    expect(pm.id).toMatch(/^pm_/);
  });

  it('default_incomplete / allow_incomplete: subscription incomplete, invoice open, PaymentIntent requires_action', async () => {
    for (const behavior of ['allow_incomplete', 'default_incomplete'] as const) {
      const c = await customer();
      const pm = await stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer: c.id });
      const sub = await stripe.subscriptions.create({
        customer: c.id,
        items: [{ price: price.id }],
        default_payment_method: pm.id,
        payment_behavior: behavior,
        expand: ['latest_invoice.confirmation_secret'],
      });
      expect(sub.status).toBe('incomplete');
      const inv = sub.latest_invoice as Stripe.Invoice;
      expect(inv.status).toBe('open');
      if (behavior === 'default_incomplete') {
        // Nothing attempted yet: the client confirms with the card.
        const pi = await invoicePaymentIntent(stripe, inv.id);
        expect(pi.status).toBe('requires_payment_method');
        const confirmed = await stripe.paymentIntents.confirm(pi.id, { payment_method: pm.id });
        expect(confirmed).toMatchObject({ status: 'requires_action', payment_method: pm.id, last_payment_error: null });
        continue;
      }
      const pi = await invoicePaymentIntent(stripe, inv.id);
      expect(pi).toMatchObject({ status: 'requires_action', payment_method: pm.id, last_payment_error: null, amount: 1500 });
      expect(pi.next_action?.type).toBe('use_stripe_sdk');
      expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
      expect(inv.confirmation_secret?.client_secret).toBe(pi.client_secret);
      expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.requires_action']);
      expect(await subscriptionEventTypes(stripe, sub.id)).toEqual([
        'customer.subscription.created',
        'invoice.created',
        'invoice.finalized',
        'invoice.payment_action_required',
        'invoice.updated',
      ]);
    }
  });

  it('error_if_incomplete: 402 subscription_payment_intent_requires_action, nothing created', async () => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach('pm_card_threeDSecure2Required', { customer: c.id });
    const err = await stripe.subscriptions
      .create({ customer: c.id, items: [{ price: price.id }], default_payment_method: pm.id, payment_behavior: 'error_if_incomplete' })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'subscription_payment_intent_requires_action' });
    expect((await stripe.subscriptions.list({ customer: c.id, status: 'all' })).data).toHaveLength(0);
    expect((await stripe.invoices.list({ customer: c.id })).data).toHaveLength(0);
    // A token given directly is not left behind either.
    await expect(
      stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], default_payment_method: 'pm_card_authenticationRequired', payment_behavior: 'error_if_incomplete' }),
    ).rejects.toMatchObject({ code: 'subscription_payment_intent_requires_action' });
    expect((await stripe.customers.listPaymentMethods(c.id)).data.map((p) => p.id)).toEqual([pm.id]);
  });

  it('confirming the PaymentIntent after the challenge pays the invoice and activates the subscription', async () => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer: c.id });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }], default_payment_method: pm.id, payment_behavior: 'allow_incomplete' });
    const invId = sub.latest_invoice as string;
    const pi = await invoicePaymentIntent(stripe, invId);
    expect(pi.status).toBe('requires_action');

    const confirmed = await stripe.paymentIntents.confirm(pi.id);
    expect(confirmed).toMatchObject({ status: 'succeeded', amount_received: 1500, next_action: null, last_payment_error: null });
    expect(await stripe.invoices.retrieve(invId)).toMatchObject({ status: 'paid', amount_paid: 1500 });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.succeeded']);
    expect((await subscriptionEventTypes(stripe, sub.id)).slice(-3)).toEqual(['invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
    const updated = (await stripe.events.list({ type: 'customer.subscription.updated', limit: 1 })).data[0]!;
    expect(updated.data.previous_attributes).toMatchObject({ status: 'incomplete' });
    await expect(stripe.paymentIntents.confirm(pi.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });

  it('invoices.pay: 402 invoice_payment_intent_requires_action, PaymentIntent requires_action, invoice.payment_action_required', async () => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach('pm_card_threeDSecure2Required', { customer: c.id });
    await stripe.invoiceItems.create({ customer: c.id, amount: 2000, currency: 'usd' });
    const inv = await stripe.invoices.create({ customer: c.id, pending_invoice_items_behavior: 'include' });
    const err = await stripe.invoices.pay(inv.id, { payment_method: pm.id }).then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'invoice_payment_intent_requires_action' });
    const pi = await invoicePaymentIntent(stripe, inv.id);
    expect(pi).toMatchObject({ status: 'requires_action', payment_method: pm.id, last_payment_error: null, next_action: { type: 'use_stripe_sdk' } });
    expect(await stripe.invoices.retrieve(inv.id)).toMatchObject({ status: 'open', attempt_count: 1 });
    const types = (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === inv.id).map((e) => e.type);
    expect(types).toEqual(['invoice.created', 'invoice.finalized', 'invoice.payment_action_required', 'invoice.updated']);
  });

  it('a renewal and its retry wait for the customer (requires_action, past_due); confirming on the hosted invoice page pays it', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const c = await customer(clock.id);
    const visa = await stripe.paymentMethods.attach('pm_card_visa', { customer: c.id });
    await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: visa.id } });
    const sub = await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    expect(sub.status).toBe('active');
    // The customer switches to a card whose bank asks for 3-D Secure on every payment.
    const secure = await stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer: c.id });
    await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: secure.id } });

    const periodEnd = sub.items.data[0]!.current_period_end;
    await advanceClock(stripe, clock.id, periodEnd + 2 * HOUR);
    const renewed = await stripe.subscriptions.retrieve(sub.id, { expand: ['latest_invoice'] });
    expect(renewed.status).toBe('past_due');
    const renewal = renewed.latest_invoice as Stripe.Invoice;
    expect(renewal).toMatchObject({ status: 'open', billing_reason: 'subscription_cycle', attempt_count: 1 });
    expect(renewal.next_payment_attempt).toBeGreaterThan(periodEnd);
    const pi = await invoicePaymentIntent(stripe, renewal.id);
    expect(pi).toMatchObject({ status: 'requires_action', payment_method: secure.id, last_payment_error: null });
    expect(await subscriptionEventTypes(stripe, sub.id, ['invoice.payment_action_required', 'invoice.payment_failed'])).toEqual([
      'invoice.payment_action_required',
      'invoice.payment_failed',
    ]);

    // The retry asks again.
    await advanceClock(stripe, clock.id, renewal.next_payment_attempt! + HOUR);
    expect(await stripe.invoices.retrieve(renewal.id)).toMatchObject({ status: 'open', attempt_count: 2 });
    expect((await stripe.paymentIntents.retrieve(pi.id)).status).toBe('requires_action');
    expect(await subscriptionEventTypes(stripe, sub.id, ['invoice.payment_action_required'])).toHaveLength(2);

    // The hosted invoice page shows the challenge; completing it pays the invoice.
    const page = await (await fetch(renewal.hosted_invoice_url!)).text();
    expect(page).toContain('Complete authentication');
    const before = (await allEvents(stripe)).length;
    const res = await fetch(`${emu.url}/invoices/${renewal.id}/authenticate`, { method: 'POST', body: new URLSearchParams({ result: 'complete' }), redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(await stripe.invoices.retrieve(renewal.id)).toMatchObject({ status: 'paid', amount_paid: 1500 });
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ status: 'succeeded', amount_received: 1500, next_action: null });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
    const after = (await allEvents(stripe)).slice(before).map((e) => e.type);
    expect(after).toEqual(['charge.succeeded', 'payment_intent.succeeded', 'invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
  });

  it('confirming off_session declines it with authentication_required', async () => {
    const c = await customer();
    const pm = await stripe.paymentMethods.attach('pm_card_authenticationRequired', { customer: c.id });
    const err = await stripe.paymentIntents
      .create({ amount: 900, currency: 'usd', customer: c.id, payment_method: pm.id, confirm: true, off_session: true })
      .then(() => null, (e: unknown) => e as Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
    expect(err!.payment_intent).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'authentication_required' } });
  });
});
