/**
 * PaymentIntents outside invoices (create, confirm, capture, cancel, update, list) with Stripe's
 * test cards, and the charges they create in Stripe's full shape.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { paymentIntentEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

async function declineOf(p: Promise<unknown>): Promise<Stripe.errors.StripeCardError> {
  return p.then(
    () => {
      throw new Error('expected a card error');
    },
    (e: unknown) => e as Stripe.errors.StripeCardError,
  );
}

/** The newest event of a type about an object. */
async function eventFor(type: string, id: string): Promise<Stripe.Event> {
  const e = (await stripe.events.list({ type, limit: 100 })).data.find((x) => (x.data.object as { id: string }).id === id);
  if (!e) throw new Error(`no ${type} for ${id}`);
  return e;
}

describe('PaymentIntents', () => {
  it('creates one waiting for a payment method (payment_intent.created)', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', description: 'order 1', metadata: { order: '1' } });
    expect(pi).toMatchObject({ object: 'payment_intent', status: 'requires_payment_method', amount: 2000, currency: 'usd', description: 'order 1', metadata: { order: '1' }, latest_charge: null });
    expect(pi.client_secret).toMatch(new RegExp(`^${pi.id}_secret_`));
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created']);
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ id: pi.id, status: 'requires_payment_method' });
  });

  it('confirm=true with pm_card_visa succeeds with a complete charge (charge.succeeded, payment_intent.succeeded)', async () => {
    const c = await stripe.customers.create({ email: 'buyer@example.com' });
    const shipping = { name: 'Jenny Rosen', address: { line1: '510 Townsend St', postal_code: '94103', city: 'San Francisco', state: 'CA', country: 'US' } };
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: c.id, confirm: true, payment_method: 'pm_card_visa', shipping });
    expect(pi).toMatchObject({ status: 'succeeded', amount_received: 2000, customer: c.id, shipping: { name: 'Jenny Rosen' } });
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);

    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({
      object: 'charge',
      amount: 2000,
      amount_captured: 2000,
      captured: true,
      paid: true,
      status: 'succeeded',
      customer: c.id,
      payment_intent: pi.id,
      payment_method: pi.payment_method,
      disputed: false,
      refunded: false,
      failure_code: null,
      billing_details: { email: null, name: null },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242', network: 'visa' } },
      outcome: { network_status: 'approved_by_network', type: 'authorized', seller_message: 'Payment complete.' },
      shipping: { name: 'Jenny Rosen' },
      refunds: { object: 'list', data: [] },
    });
    expect(charge.receipt_url).toMatch(/^http/);
    const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(txn).toMatchObject({ object: 'balance_transaction', amount: 2000, fee: 88, net: 1912, source: charge.id, type: 'charge' });

    // The event carries the same complete charge.
    const event = await eventFor('charge.succeeded', charge.id);
    expect(event.data.object).toMatchObject({ id: charge.id, payment_method_details: { card: { last4: '4242' } }, balance_transaction: txn.id, receipt_url: charge.receipt_url });
    expect((await stripe.charges.list({ payment_intent: pi.id })).data.map((x) => x.id)).toEqual([charge.id]);
    expect((await stripe.charges.list({ customer: c.id })).data.map((x) => x.id)).toEqual([charge.id]);
  });

  it('a declined card answers 402 card_declined with the PaymentIntent (charge.failed, payment_intent.payment_failed)', async () => {
    for (const token of ['pm_card_chargeDeclined', 'pm_card_visa_chargeDeclined']) {
      const err = await declineOf(stripe.paymentIntents.create({ amount: 100, currency: 'usd', confirm: true, payment_method: token }));
      expect(err).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
      const pi = err.payment_intent!;
      expect(pi).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'card_declined' } });
      expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.payment_failed']);
      const failed = await stripe.charges.retrieve(pi.latest_charge as string);
      expect(failed).toMatchObject({ status: 'failed', paid: false, captured: false, failure_code: 'card_declined', balance_transaction: null, outcome: { type: 'issuer_declined', reason: 'generic_decline' } });
      expect((await eventFor('charge.failed', failed.id)).data.object).toMatchObject({ payment_method_details: { card: { last4: '0002' } } });
    }
  });

  it('pm_card_chargeCustomerFail attaches, then its charges fail', async () => {
    const c = await stripe.customers.create({});
    const pm = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: c.id });
    const err = await declineOf(stripe.paymentIntents.create({ amount: 500, currency: 'usd', customer: c.id, payment_method: pm.id, confirm: true }));
    expect(err.code).toBe('card_declined');
  });

  it('capture_method=manual: requires_capture (amount_capturable_updated), capture (charge.captured, succeeded)', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', capture_method: 'manual', confirm: true, confirmation_method: 'manual', payment_method: 'pm_card_visa', return_url: 'https://example.com' });
    expect(pi).toMatchObject({ status: 'requires_capture', amount_capturable: 2000, amount_received: 0 });
    const authorized = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(authorized).toMatchObject({ captured: false, paid: true, amount_captured: 0, balance_transaction: null });

    const captured = await stripe.paymentIntents.capture(pi.id, { amount_to_capture: 1500 });
    expect(captured).toMatchObject({ status: 'succeeded', amount_received: 1500, amount_capturable: 0 });
    expect(await stripe.charges.retrieve(authorized.id)).toMatchObject({ captured: true, amount_captured: 1500 });
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.amount_capturable_updated', 'payment_intent.succeeded']);
    expect((await eventFor('charge.captured', authorized.id)).data.object).toMatchObject({ captured: true, amount_captured: 1500 });
    await expect(stripe.paymentIntents.capture(pi.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });

  it('3-D Secure: requires_action on confirm, confirming again after the challenge succeeds', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', confirm: true, payment_method: 'pm_card_authenticationRequired' });
    expect(pi).toMatchObject({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' }, latest_charge: null });
    const done = await stripe.paymentIntents.confirm(pi.id);
    expect(done).toMatchObject({ status: 'succeeded', next_action: null, amount_received: 2000 });
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.succeeded']);
  });

  it('updates, confirms later, lists by customer', async () => {
    const c = await stripe.customers.create({});
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: 'eur', customer: c.id });
    const updated = await stripe.paymentIntents.update(pi.id, { amount: 1200, payment_method: 'pm_card_mastercard', metadata: { k: 'v' } });
    expect(updated).toMatchObject({ amount: 1200, status: 'requires_confirmation', metadata: { k: 'v' } });
    const updatedEvent = await eventFor('payment_intent.updated', pi.id);
    expect(updatedEvent.data.previous_attributes).toMatchObject({ amount: 1000 });
    expect(await stripe.paymentIntents.confirm(pi.id)).toMatchObject({ status: 'succeeded', amount_received: 1200 });
    expect((await stripe.paymentIntents.list({ customer: c.id })).data.map((x) => x.id)).toEqual([pi.id]);
    await expect(stripe.paymentIntents.update(pi.id, { amount: 5 })).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });

  it('cancels (payment_intent.canceled); a succeeded one cannot be canceled', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd' });
    const canceled = await stripe.paymentIntents.cancel(pi.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(canceled.canceled_at).toEqual(expect.any(Number));
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
    const paid = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
    await expect(stripe.paymentIntents.cancel(paid.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state' });
  });

  it('refuses what it does not emulate with a clear error', async () => {
    await expect(stripe.paymentIntents.create({ amount: 100, currency: 'eur', payment_method_types: ['bancontact'] } as Stripe.PaymentIntentCreateParams)).rejects.toMatchObject({ statusCode: 400, param: 'payment_method_types' });
    await expect(stripe.paymentIntents.create({ currency: 'usd' } as Stripe.PaymentIntentCreateParams)).rejects.toMatchObject({ code: 'parameter_missing', param: 'amount' });
  });
});

describe('PaymentIntents paid by bank transfer to the customer balance', () => {
  it('waits with transfer instructions, is partially funded (payment_intent.partially_funded), then succeeds once funded', async () => {
    const c = await stripe.customers.create({ description: 'cash' });
    const pi = await stripe.paymentIntents.create({
      amount: 20000,
      currency: 'jpy',
      customer: c.id,
      payment_method_types: ['customer_balance'],
      payment_method_data: { type: 'customer_balance' },
      payment_method_options: { customer_balance: { funding_type: 'bank_transfer', bank_transfer: { type: 'jp_bank_transfer' } } },
      confirm: true,
    } as Stripe.PaymentIntentCreateParams);
    expect(pi).toMatchObject({ status: 'requires_action', next_action: { type: 'display_bank_transfer_instructions', display_bank_transfer_instructions: { amount_remaining: 20000, currency: 'jpy' } } });
    const funded = await stripe.testHelpers.customers.fundCashBalance(c.id, { amount: 12000, currency: 'jpy' });
    expect(funded).toMatchObject({ object: 'customer_cash_balance_transaction', type: 'funded', net_amount: 12000, ending_balance: 12000 });
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ status: 'requires_action', next_action: { display_bank_transfer_instructions: { amount_remaining: 8000 } } });
    await stripe.testHelpers.customers.fundCashBalance(c.id, { amount: 10000, currency: 'jpy' });
    const paid = await stripe.paymentIntents.retrieve(pi.id);
    expect(paid).toMatchObject({ status: 'succeeded', amount_received: 20000, next_action: null });
    expect(await stripe.charges.retrieve(paid.latest_charge as string)).toMatchObject({ amount: 20000, paid: true, payment_method_details: { type: 'customer_balance' } });
    expect(await paymentIntentEventTypes(stripe, pi.id)).toEqual(['payment_intent.created', 'payment_intent.requires_action', 'payment_intent.partially_funded', 'payment_intent.succeeded']);
  });
});
