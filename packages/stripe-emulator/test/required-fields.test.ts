import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { allEvents, DAY, JAN_1_2026 } from './billing-support.js';
import { missingRequired, StripeTypes } from './required-fields.js';
import { eventually } from './support.js';
import { emulatorWithClient } from './support.js';
import { advanceClock } from './test-clock.js';

let emu: RunningEmulator;
let stripe: Stripe;
/** Every JSON body the emulator answered with (responses), then every event it stored. */
const bodies: unknown[] = [];
let events: Stripe.Event[] = [];
const types = new StripeTypes();

/** The SDK over a fetch that keeps a copy of each response body. */
function recordingClient(port: number): Stripe {
  const recordingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const text = await res.clone().text();
    if (res.ok && (res.headers.get('content-type') ?? '').includes('application/json')) bodies.push(JSON.parse(text));
    return res;
  };
  return new Stripe('sk_test_fields', {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    httpClient: Stripe.createFetchHttpClient(recordingFetch),
  });
}

/** A full billing flow: catalog, customers and cards, subscriptions through trial, renewal, upgrade, dunning and cancel, invoices by hand, checkout, portal, meters. */
async function billingFlow(): Promise<void> {
  const product = await stripe.products.create({ name: 'Pro', description: 'fields', metadata: { k: 'v' } });
  const monthly = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 2000, recurring: { interval: 'month' }, lookup_key: 'pro_m' });
  const yearly = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 20000, recurring: { interval: 'year' } });
  const tiered = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    billing_scheme: 'tiered',
    tiers_mode: 'graduated',
    tiers: [
      { up_to: 10, unit_amount: 100 },
      { up_to: 'inf', unit_amount: 50 },
    ],
    recurring: { interval: 'month' },
    expand: ['tiers'],
  });
  await stripe.prices.update(tiered.id, { nickname: 'tiers' });
  const meter = await stripe.billing.meters.create({ display_name: 'Calls', event_name: 'fields_calls', default_aggregation: { formula: 'sum' } });
  const metered = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 3, recurring: { interval: 'month', usage_type: 'metered', meter: meter.id } });
  const coupon = await stripe.coupons.create({ percent_off: 25, duration: 'repeating', duration_in_months: 3, name: 'Quarter' });
  const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'FIELDS25' });
  await stripe.promotionCodes.update(promo.id, { metadata: { k: 'v' } });
  await stripe.webhookEndpoints.create({ url: 'https://example.com/hook', enabled_events: ['*'] });

  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026, name: 'fields' });
  const customer = await stripe.customers.create({ email: 'fields@example.com', name: 'Fields', test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  await stripe.customers.listPaymentMethods(customer.id);

  const trial = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: monthly.id }],
    trial_period_days: 7,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    expand: ['latest_invoice'],
  });
  const paid = await stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: tiered.id, quantity: 12 }, { price: metered.id }],
    discounts: [{ coupon: coupon.id }],
    expand: ['latest_invoice.payments'],
  });
  await stripe.billing.meterEvents.create({ event_name: 'fields_calls', payload: { stripe_customer_id: customer.id, value: '40' } });
  await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: JAN_1_2026, end_time: JAN_1_2026 + 2 * DAY });
  await stripe.invoices.createPreview({ customer: customer.id, subscription: trial.id, subscription_details: { items: [{ id: trial.items.data[0]!.id, price: yearly.id }] } });
  await stripe.subscriptions.update(trial.id, { items: [{ id: trial.items.data[0]!.id, price: yearly.id }], proration_behavior: 'create_prorations' });
  await advanceClock(stripe, clock.id, JAN_1_2026 + 35 * DAY);
  await stripe.subscriptions.cancel(paid.id, { invoice_now: true, prorate: true });

  // A card that fails every charge: an open invoice, a failed payment, retries.
  const failing = await stripe.customers.create({ email: 'fail@example.com' });
  const bad = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: failing.id });
  await stripe.customers.update(failing.id, { invoice_settings: { default_payment_method: bad.id } });
  const incomplete = await stripe.subscriptions.create({ customer: failing.id, items: [{ price: monthly.id }], payment_behavior: 'allow_incomplete' });
  await stripe.invoices.retrieve(incomplete.latest_invoice as string, { expand: ['payments'] });

  // Invoices by hand.
  await stripe.invoiceItems.create({ customer: customer.id, amount: 1500, currency: 'usd', description: 'setup' });
  const manual = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 });
  await stripe.invoices.finalizeInvoice(manual.id);
  await stripe.invoices.pay(manual.id, { paid_out_of_band: true });
  await stripe.invoices.listLineItems(manual.id);
  const toVoid = await stripe.invoices.create({ customer: customer.id });
  await stripe.invoiceItems.create({ customer: customer.id, invoice: toVoid.id, amount: 100, currency: 'usd' });
  await stripe.invoices.finalizeInvoice(toVoid.id);
  await stripe.invoices.voidInvoice(toVoid.id);

  // Checkout and the portal.
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer_email: 'checkout@example.com',
    line_items: [{ price: monthly.id, quantity: 1 }],
    success_url: 'https://app.example/done',
  });
  await stripe.rawRequest('POST', `/v1/test_helpers/checkout/sessions/${session.id}/complete`, { payment_method: 'pm_card_visa' });
  await stripe.checkout.sessions.retrieve(session.id);
  await stripe.checkout.sessions.listLineItems(session.id);
  const config = await stripe.billingPortal.configurations.create({ features: { invoice_history: { enabled: true } }, default_return_url: 'https://app.example' });
  await stripe.billingPortal.sessions.create({ customer: customer.id, configuration: config.id });

  // Payments outside invoices: PaymentIntents, charges, refunds, SetupIntents, sources, credit notes, SEPA.
  const captured = await stripe.paymentIntents.create({ amount: 2000, currency: 'usd', customer: customer.id, payment_method: 'pm_card_visa', capture_method: 'manual', confirm: true });
  await stripe.paymentIntents.capture(captured.id, { amount_to_capture: 1500 });
  const refund = await stripe.refunds.create({ payment_intent: captured.id, amount: 500 });
  await stripe.refunds.update(refund.id, { metadata: { k: 'v' } });
  await stripe.charges.retrieve(captured.latest_charge as string);
  await stripe.balanceTransactions.retrieve(refund.balance_transaction as string);
  await stripe.paymentIntents.create({ amount: 700, currency: 'usd', payment_method: 'pm_card_chargeDeclined', confirm: true }).catch(() => undefined);
  const canceled = await stripe.paymentIntents.create({ amount: 700, currency: 'usd', payment_method: 'pm_card_authenticationRequired', confirm: true });
  await stripe.paymentIntents.cancel(canceled.id);
  const si = await stripe.setupIntents.create({ customer: customer.id, payment_method: 'pm_card_authenticationRequired', confirm: true });
  await stripe.setupIntents.confirm(si.id);
  await stripe.customers.createSource(customer.id, { source: 'tok_mastercard' });
  await stripe.customers.listSources(customer.id);
  const sepa = await stripe.paymentMethods.create({ type: 'sepa_debit', sepa_debit: { iban: 'AT611904300234573201' }, billing_details: { name: 'Jenny Rosen', email: 'jenny@example.com' } });
  await stripe.paymentIntents.create({ amount: 900, currency: 'eur', payment_method: sepa.id, confirm: true, payment_method_types: ['sepa_debit'], mandate_data: { customer_acceptance: { type: 'offline' } } } as Stripe.PaymentIntentCreateParams);
  await stripe.invoiceItems.create({ customer: customer.id, amount: 3000, currency: 'usd' });
  const credited = await stripe.invoices.finalizeInvoice((await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 })).id);
  const note = await stripe.creditNotes.create({ invoice: credited.id, lines: [{ type: 'custom_line_item', unit_amount: 1000, quantity: 1, description: 'goodwill' }] });
  await stripe.creditNotes.voidCreditNote(note.id);
  const oneTime = await stripe.checkout.sessions.create({ mode: 'payment', line_items: [{ price_data: { currency: 'usd', unit_amount: 900, product_data: { name: 'Once' } }, quantity: 1 }], success_url: 'https://app.example/done' });
  await stripe.rawRequest('POST', `/v1/test_helpers/checkout/sessions/${oneTime.id}/complete`, { payment_method: 'pm_card_visa' });

  const lists = [
    () => stripe.paymentIntents.list({ limit: 100 }),
    () => stripe.charges.list({ limit: 100 }),
    () => stripe.refunds.list({ limit: 100 }),
    () => stripe.setupIntents.list({ limit: 100 }),
    () => stripe.creditNotes.list({ limit: 100 }),
    () => stripe.customers.list({ limit: 100 }),
    () => stripe.subscriptions.list({ status: 'all', limit: 100 }),
    () => stripe.invoices.list({ limit: 100 }),
    () => stripe.invoiceItems.list({ limit: 100 }),
    () => stripe.prices.list({ limit: 100 }),
    () => stripe.products.list({ limit: 100 }),
    () => stripe.coupons.list({ limit: 100 }),
    () => stripe.promotionCodes.list({ limit: 100 }),
    () => stripe.subscriptionItems.list({ subscription: trial.id }),
    () => stripe.testHelpers.testClocks.list(),
    () => stripe.billing.meters.list(),
    () => stripe.webhookEndpoints.list(),
  ];
  for (const list of lists) await list();
  await stripe.customers.del(failing.id);
  await stripe.coupons.del(coupon.id);
  // The SEPA debit settles a moment later.
  await eventually('a payment_intent.succeeded in eur', async () => (await stripe.events.list({ type: 'payment_intent.succeeded', limit: 100 })).data.some((e) => (e.data.object as Stripe.PaymentIntent).currency === 'eur'));
  events = await allEvents(stripe);
}

beforeAll(async () => {
  ({ emu } = await emulatorWithClient());
  stripe = recordingClient(emu.port);
  await billingFlow();
}, 120_000);
afterAll(() => emu.close());

/** Missing required fields over the objects of the given `object` names (or all others). */
function missingIn(values: unknown[]): string[] {
  const out = new Set<string>();
  for (const v of values) missingRequired(types, v, out);
  return [...out].sort();
}

describe("every object has the required fields of Stripe's spec (the stripe package's types)", () => {
  it('reads the object types from the SDK (sanity: the check can fail)', () => {
    expect(types.forObject({ object: 'customer' })?.props.find((p) => p.name === 'invoice_settings')).toMatchObject({ required: true });
    expect(missingRequired(types, { object: 'customer', id: 'cus_x' })).toContain('Customer.invoice_settings');
    const sub = types.forObject({ object: 'subscription' })!;
    expect(missingRequired(types, { object: 'subscription', trial_settings: { end_behavior: {} } })).toContain('Subscription.TrialSettings.EndBehavior.missing_payment_method');
    expect(sub.path).toBe('Subscription');
  });

  it('responses of a full billing flow', () => {
    expect(bodies.length).toBeGreaterThan(50);
    expect(missingIn(bodies)).toEqual([]);
  });

  it('event payloads of the same flow', () => {
    expect(new Set(events.map((e) => e.type)).size).toBeGreaterThan(20);
    expect(missingIn(events)).toEqual([]);
  });
});
