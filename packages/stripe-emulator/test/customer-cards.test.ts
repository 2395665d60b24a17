import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

async function cardsOf(customer: string): Promise<Stripe.PaymentMethod[]> {
  return (await stripe.customers.listPaymentMethods(customer)).data;
}

describe('customers.create with a test token as the invoice default', () => {
  it('stores the id of the PaymentMethod the token created, one card when both params name the token', async () => {
    const customer = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const cards = await cardsOf(customer.id);
    expect(cards).toHaveLength(1);
    expect(cards[0]!.id).toMatch(/^pm_[0-9A-Za-z]{24}$/);
    expect(customer.invoice_settings.default_payment_method).toBe(cards[0]!.id);
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ invoice_settings: { default_payment_method: cards[0]!.id } });
    // The default is a real PaymentMethod the SDK can expand.
    const expanded = (await stripe.customers.retrieve(customer.id, { expand: ['invoice_settings.default_payment_method'] })) as Stripe.Customer;
    expect((expanded.invoice_settings.default_payment_method as Stripe.PaymentMethod).card?.last4).toBe('4242');
    // customer.created already names the default; the card is attached after it.
    const events = (await allEvents(stripe)).filter((e) => e.type === 'customer.created' || e.type === 'payment_method.attached');
    const mine = events.filter((e) => (e.data.object as { id: string }).id === customer.id || (e.data.object as { customer?: string }).customer === customer.id);
    expect(mine.map((e) => e.type)).toEqual(['customer.created', 'payment_method.attached']);
    expect((mine[0]!.data.object as Stripe.Customer).invoice_settings.default_payment_method).toBe(cards[0]!.id);
  });

  it('works with only the default given, and with two different tokens', async () => {
    const only = await stripe.customers.create({ invoice_settings: { default_payment_method: 'pm_card_mastercard' } });
    const [card] = await cardsOf(only.id);
    expect(only.invoice_settings.default_payment_method).toBe(card!.id);
    expect(card!.card?.brand).toBe('mastercard');

    const two = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_mastercard' } });
    const both = await cardsOf(two.id);
    expect(both).toHaveLength(2);
    const master = both.find((c) => c.card?.brand === 'mastercard')!;
    expect(two.invoice_settings.default_payment_method).toBe(master.id);
  });

  it('a subscription charges that default card', async () => {
    const product = await stripe.products.create({ name: 'Card default' });
    const price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
    const customer = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], expand: ['latest_invoice.payments'] });
    expect(sub.status).toBe('active');
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.status).toBe('paid');
    const pi = await stripe.paymentIntents.retrieve(invoice.payments!.data[0]!.payment.payment_intent as string);
    expect(pi.payment_method).toBe(customer.invoice_settings.default_payment_method);
  });

  it('a declined token leaves no customer and no card behind', async () => {
    const before = (await stripe.customers.list({ limit: 100 })).data.length;
    await expect(
      stripe.customers.create({ email: 'declined@example.com', payment_method: 'pm_card_chargeDeclined', invoice_settings: { default_payment_method: 'pm_card_chargeDeclined' } }),
    ).rejects.toMatchObject({ type: 'StripeCardError', code: 'card_declined', param: 'payment_method' });
    expect((await stripe.customers.list({ limit: 100 })).data.length).toBe(before);
    expect(emu.emulator.store.all('payment_method').filter((pm) => pm.customer === null)).toHaveLength(0);
  });
});
