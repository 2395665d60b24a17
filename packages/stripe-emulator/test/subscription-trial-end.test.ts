import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { subscriptionEventTypes } from './billing-support.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
  const product = await stripe.products.create({ name: 'Trial end' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

async function trialWithout(card: boolean, missing: 'pause' | 'cancel' | 'create_invoice'): Promise<Stripe.Subscription> {
  const customer = await stripe.customers.create(card ? { source: 'tok_visa' } : {});
  return stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: price.id }],
    trial_period_days: 7,
    trial_settings: { end_behavior: { missing_payment_method: missing } },
  });
}

describe("ending a trial now (trial_end: 'now') without a payment method", () => {
  it('pause: the subscription pauses, with no invoice; resume bills it once a card is there', async () => {
    const sub = await trialWithout(false, 'pause');
    const paused = await stripe.subscriptions.update(sub.id, { trial_end: 'now', metadata: { k: 'v' } });
    expect(paused).toMatchObject({ status: 'paused', metadata: { k: 'v' } });
    expect(paused.latest_invoice).toBe(sub.latest_invoice);
    const types = await subscriptionEventTypes(stripe, sub.id);
    expect(types).toContain('customer.subscription.paused');
    expect(types).not.toContain('invoice.payment_failed');
    await stripe.subscriptions.update(sub.id, { default_payment_method: 'pm_card_visa' });
    const resumed = await stripe.subscriptions.resume(sub.id, { expand: ['latest_invoice'] });
    expect(resumed.status).toBe('active');
    expect((resumed.latest_invoice as Stripe.Invoice).status).toBe('paid');
    expect(await subscriptionEventTypes(stripe, sub.id)).toContain('customer.subscription.resumed');
  });

  it('cancel: the subscription is canceled', async () => {
    const sub = await trialWithout(false, 'cancel');
    const canceled = await stripe.subscriptions.update(sub.id, { trial_end: 'now' });
    expect(canceled.status).toBe('canceled');
    expect(await subscriptionEventTypes(stripe, sub.id)).toContain('customer.subscription.deleted');
  });

  it('create_invoice: an open invoice the customer must pay, the subscription past due', async () => {
    const sub = await trialWithout(false, 'create_invoice');
    const updated = await stripe.subscriptions.update(sub.id, { trial_end: 'now', expand: ['latest_invoice'] });
    expect((updated.latest_invoice as Stripe.Invoice).status).toBe('open');
    expect(updated.status).not.toBe('paused');
  });

  it('with a card (a customer source), pause does not apply: the trial ends and the card is charged', async () => {
    const sub = await trialWithout(true, 'pause');
    const updated = await stripe.subscriptions.update(sub.id, { trial_end: 'now', expand: ['latest_invoice'] });
    expect(updated.status).toBe('active');
    expect((updated.latest_invoice as Stripe.Invoice).status).toBe('paid');
  });
});
