/** Refunds of card charges: full and partial, by charge or PaymentIntent, and their events. */
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

async function paid(amount: number): Promise<Stripe.PaymentIntent> {
  return stripe.paymentIntents.create({ amount, currency: 'usd', confirm: true, payment_method: 'pm_card_visa' });
}

async function typesAbout(ids: string[], since: number): Promise<string[]> {
  return (await allEvents(stripe)).slice(since).filter((e) => ids.includes((e.data.object as { id: string }).id)).map((e) => e.type);
}

describe('refunds', () => {
  it('refunds a PaymentIntent in full (refund.created, charge.refunded)', async () => {
    const pi = await paid(100);
    const before = (await allEvents(stripe)).length;
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    expect(refund).toMatchObject({ object: 'refund', amount: 100, status: 'succeeded', payment_intent: pi.id, charge: pi.latest_charge, currency: 'usd' });
    expect(await stripe.balanceTransactions.retrieve(refund.balance_transaction as string)).toMatchObject({ amount: -100, type: 'refund', source: refund.id });
    const charge = await stripe.charges.retrieve(pi.latest_charge as string);
    expect(charge).toMatchObject({ amount_refunded: 100, refunded: true });
    expect(charge.refunds!.data.map((r) => r.id)).toEqual([refund.id]);
    expect(await typesAbout([refund.id, charge.id], before)).toEqual(['refund.created', 'charge.refunded']);
    const refundedEvent = (await stripe.events.list({ type: 'charge.refunded', limit: 1 })).data[0]!;
    expect(refundedEvent.data.object).toMatchObject({ id: charge.id, refunded: true, amount_refunded: 100 });
    await expect(stripe.refunds.create({ charge: charge.id })).rejects.toMatchObject({ code: 'charge_already_refunded' });
  });

  it('refunds part of a charge, twice, never more than was captured', async () => {
    const pi = await paid(1000);
    const first = await stripe.refunds.create({ charge: pi.latest_charge as string, amount: 300, reason: 'requested_by_customer' });
    expect(first).toMatchObject({ amount: 300, reason: 'requested_by_customer' });
    expect(await stripe.charges.retrieve(pi.latest_charge as string)).toMatchObject({ amount_refunded: 300, refunded: false });
    await expect(stripe.refunds.create({ charge: pi.latest_charge as string, amount: 800 })).rejects.toMatchObject({ code: 'amount_too_large', param: 'amount' });
    await stripe.refunds.create({ charge: pi.latest_charge as string });
    expect(await stripe.charges.retrieve(pi.latest_charge as string)).toMatchObject({ amount_refunded: 1000, refunded: true });
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data).toHaveLength(2);
  });

  it('updating its metadata emits refund.updated and charge.refund.updated', async () => {
    const pi = await paid(100);
    const refund = await stripe.refunds.create({ payment_intent: pi.id });
    const updated = await stripe.refunds.update(refund.id, { metadata: { order_id: '6735' } });
    expect(updated.metadata).toEqual({ order_id: '6735' });
    const e = (await stripe.events.list({ type: 'charge.refund.updated', limit: 1 })).data[0]!;
    expect(e.data.object).toMatchObject({ id: refund.id, metadata: { order_id: '6735' } });
    expect(e.data.previous_attributes).toEqual({ metadata: {} });
    expect(await stripe.refunds.retrieve(refund.id)).toMatchObject({ metadata: { order_id: '6735' } });
  });

  it('refuses a PaymentIntent without a successful charge', async () => {
    const pi = await stripe.paymentIntents.create({ amount: 100, currency: 'usd' });
    await expect(stripe.refunds.create({ payment_intent: pi.id })).rejects.toMatchObject({ statusCode: 400, code: 'charge_not_refundable' });
    await expect(stripe.refunds.create({})).rejects.toMatchObject({ statusCode: 400 });
  });
});
