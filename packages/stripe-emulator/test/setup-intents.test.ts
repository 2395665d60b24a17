/** SetupIntents: saving a card for later, with Stripe's test cards. */
import Stripe from 'stripe';
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

async function eventTypes(id: string): Promise<string[]> {
  return (await allEvents(stripe)).filter((e) => (e.data.object as { id: string }).id === id).map((e) => e.type);
}

describe('SetupIntents', () => {
  it('creates (setup_intent.created) and cancels (setup_intent.canceled)', async () => {
    const si = await stripe.setupIntents.create({ description: 'save a card' });
    expect(si).toMatchObject({ object: 'setup_intent', status: 'requires_payment_method', usage: 'off_session', description: 'save a card' });
    expect(si.client_secret).toMatch(new RegExp(`^${si.id}_secret_`));
    const canceled = await stripe.setupIntents.cancel(si.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'requested_by_customer' });
    expect(await eventTypes(si.id)).toEqual(['setup_intent.created', 'setup_intent.canceled']);
    await expect(stripe.setupIntents.confirm(si.id, { payment_method: 'pm_card_visa' })).rejects.toMatchObject({ code: 'setup_intent_unexpected_state' });
  });

  it('confirm=true with pm_card_visa saves the card on the customer (setup_intent.succeeded, payment_method.attached)', async () => {
    const c = await stripe.customers.create({});
    const si = await stripe.setupIntents.create({ customer: c.id, payment_method: 'pm_card_visa', confirm: true });
    expect(si.status).toBe('succeeded');
    const pm = await stripe.paymentMethods.retrieve(si.payment_method as string);
    expect(pm).toMatchObject({ customer: c.id, card: { last4: '4242' } });
    expect(await eventTypes(si.id)).toEqual(['setup_intent.created', 'setup_intent.succeeded']);
    expect(await eventTypes(pm.id)).toEqual(['payment_method.attached']);
    // The fixture's next step: update the saved card.
    const updated = await stripe.paymentMethods.update(pm.id, { metadata: { foo: 'bar' } });
    expect(updated.metadata).toEqual({ foo: 'bar' });
    expect(await eventTypes(pm.id)).toEqual(['payment_method.attached', 'payment_method.updated']);
  });

  it('a declined card: 402 card_declined with the SetupIntent (setup_intent.setup_failed)', async () => {
    const err = await stripe.setupIntents
      .create({ confirm: true, payment_method: 'pm_card_chargeDeclined' })
      .then(() => null, (e: unknown) => e as Stripe.errors.StripeCardError);
    expect(err).toMatchObject({ statusCode: 402, type: 'StripeCardError', code: 'card_declined' });
    const si = err!.setup_intent!;
    expect(si).toMatchObject({ status: 'requires_payment_method', last_setup_error: { code: 'card_declined' } });
    expect(await eventTypes(si.id)).toEqual(['setup_intent.created', 'setup_intent.setup_failed']);
  });

  it('3-D Secure: requires_action, then confirming after the challenge succeeds', async () => {
    const si = await stripe.setupIntents.create({ confirm: true, payment_method: 'pm_card_authenticationRequired' });
    expect(si).toMatchObject({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' } });
    expect(await stripe.setupIntents.confirm(si.id)).toMatchObject({ status: 'succeeded', next_action: null });
    expect(await eventTypes(si.id)).toEqual(['setup_intent.created', 'setup_intent.requires_action', 'setup_intent.succeeded']);
  });

  it('updates and lists by customer', async () => {
    const c = await stripe.customers.create({});
    const si = await stripe.setupIntents.create({ customer: c.id });
    const updated = await stripe.setupIntents.update(si.id, { metadata: { a: '1' }, payment_method: 'pm_card_mastercard' });
    expect(updated).toMatchObject({ status: 'requires_confirmation', metadata: { a: '1' } });
    expect((await stripe.setupIntents.list({ customer: c.id })).data.map((s) => s.id)).toEqual([si.id]);
  });
});
