/**
 * SEPA Direct Debit: a bank debit is `processing` at once and settles shortly after (Stripe's test
 * IBANs decide how), for PaymentIntents and Checkout's async payment events.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { eventually } from './support.js';
import { allEvents } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

const SUCCEEDS = 'AT611904300234573201';
const FAILS = 'AT861904300235473202';
const billing_details = { name: 'Jenny Rosen', email: 'jenny@example.com' };
const mandate_data = { customer_acceptance: { type: 'offline' as const, accepted_at: 1590590577 } };

async function typesOf(id: string): Promise<string[]> {
  return (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === id).map((e) => e.type);
}

async function debit(iban: string): Promise<Stripe.PaymentIntent> {
  const pm = await stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban }, billing_details });
  expect(pm).toMatchObject({ type: 'sepa_debit', sepa_debit: { country: 'AT', last4: iban.slice(-4) } });
  return stripe.paymentIntents.create({ amount: 1000, currency: 'eur', payment_method: pm.id, confirm: true, mandate_data, payment_method_types: ['sepa_debit'] } as Stripe.PaymentIntentCreateParams);
}

describe('SEPA Direct Debit', () => {
  it('is processing (payment_intent.processing), then succeeds', async () => {
    const pi = await debit(SUCCEEDS);
    expect(pi.status).toBe('processing');
    expect(await stripe.charges.retrieve(pi.latest_charge as string)).toMatchObject({ status: 'pending', paid: false, payment_method_details: { type: 'sepa_debit', sepa_debit: { last4: '3201' } } });
    await eventually('succeeded', async () => (await stripe.paymentIntents.retrieve(pi.id)).status, (s) => s === 'succeeded');
    expect(await stripe.charges.retrieve(pi.latest_charge as string)).toMatchObject({ status: 'succeeded', paid: true });
    expect(await typesOf(pi.id)).toEqual(['payment_intent.created', 'payment_intent.processing', 'payment_intent.succeeded']);
    expect(await typesOf(pi.latest_charge as string)).toEqual(['charge.pending', 'charge.succeeded']);
  });

  it("Stripe's failing test IBAN settles as a failed payment", async () => {
    const pi = await debit(FAILS);
    await eventually('requires_payment_method', async () => (await stripe.paymentIntents.retrieve(pi.id)).status, (s) => s === 'requires_payment_method');
    expect((await stripe.paymentIntents.retrieve(pi.id)).last_payment_error).toMatchObject({ decline_code: 'insufficient_funds' });
    expect(await typesOf(pi.id)).toEqual(['payment_intent.created', 'payment_intent.processing', 'payment_intent.payment_failed']);
    expect(await typesOf(pi.latest_charge as string)).toEqual(['charge.pending', 'charge.failed']);
  });

  it('needs a name and an email, and a well-formed IBAN', async () => {
    await expect(stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban: SUCCEEDS } })).rejects.toMatchObject({ statusCode: 400, param: 'billing_details[name]' });
    await expect(stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban: 'nope' }, billing_details })).rejects.toMatchObject({ param: 'sepa_debit[iban]' });
  });

  it('Checkout completes unpaid, then checkout.session.async_payment_succeeded or async_payment_failed', async () => {
    const product = await stripe.products.create({ name: 'Sub-free thing' });
    const price = await stripe.prices.create({ product: product.id, currency: 'eur', unit_amount: 1500 });
    for (const [iban, event] of [[SUCCEEDS, 'checkout.session.async_payment_succeeded'], [FAILS, 'checkout.session.async_payment_failed']] as const) {
      const session = await stripe.checkout.sessions.create({ mode: 'payment', payment_method_types: ['sepa_debit'], line_items: [{ price: price.id, quantity: 2 }], success_url: 'https://shop.example/ok' } as Stripe.Checkout.SessionCreateParams);
      const pm = await stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban }, billing_details });
      await stripe.rawRequest('POST', `/v1/payment_pages/${session.id}/confirm`, { payment_method: pm.id, expected_amount: 3000 });
      expect(await stripe.checkout.sessions.retrieve(session.id)).toMatchObject({ status: 'complete', payment_status: 'unpaid' });
      await eventually('2 event types', () => typesOf(session.id), (types) => types.length === 2);
      expect(await typesOf(session.id)).toEqual(['checkout.session.completed', event]);
      expect((await stripe.checkout.sessions.retrieve(session.id)).payment_status).toBe(event.endsWith('succeeded') ? 'paid' : 'unpaid');
    }
  });
});
