/**
 * A card that needs 3-D Secure, end to end: `subscribe` over HTTP GraphQL answers
 * PAYMENT_ACTION_REQUIRED with the first invoice's client secret and leaves an INCOMPLETE subscription;
 * the browser (here: the SDK) confirms the PaymentIntent; the emulator's signed webhooks, through the
 * gateway's webhook route and worker, turn the mirror ACTIVE.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/customer.js';
import { Subscription } from '../../src/db/entities/subscription.js';
import { createWebhookService, type WebhookService } from '../../src/stripe/webhooks/index.js';
import { eventually } from '../support/eventually.js';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;
let hooks: WebhookService;
let hookServer: Server;

beforeAll(async () => {
  gw = await startLifecycleGateway();
  // The webhook pipeline of the gateway on a server of its own, registered at the emulator as Stripe's endpoint.
  const app = express();
  hookServer = createServer(app);
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const port = (hookServer.address() as AddressInfo).port;
  const endpoint = await gw.stripe.webhookEndpoints.create({ url: `http://127.0.0.1:${port}/webhooks/stripe`, enabled_events: ['*'] });
  hooks = createWebhookService({ orm: gw.orm, stripe: gw.stripe, webhookSecret: endpoint.secret!, catalog: gw.catalog, worker: { pollIntervalMs: 50 } });
  hooks.mount(app);
  hooks.start();
});
afterAll(async () => {
  await hooks?.stop();
  await new Promise((r) => hookServer?.close(r));
  await gw?.close();
});

async function mirroredStatus(id: string): Promise<string | undefined> {
  return (await gw.orm.em.fork().findOne(Subscription, { id }))?.status;
}

async function waitForMirror(id: string, status: string): Promise<void> {
  await eventually(`subscription ${id} to be ${status} in the mirror`, () => mirroredStatus(id), (s) => s === status);
}

describe('subscribe with a card that needs authentication', () => {
  it('answers PAYMENT_ACTION_REQUIRED with the client secret; confirming it activates the subscription', async () => {
    const token = await gw.token('user_3ds', { email: '3ds@example.com' });
    const input = { plan: 'basic_monthly', quantity: 2, paymentMethod: 'pm_card_authenticationRequired', idempotencyKey: 'sub-3ds-1' };
    const first = await gw.gql(SUBSCRIBE, { input }, token);
    expect(first.data).toEqual({ subscribe: null });
    const ext = first.errors![0]!.extensions!;
    expect(ext.code).toBe('PAYMENT_ACTION_REQUIRED');
    expect(ext.clientSecret).toMatch(/^pi_\w+_secret_[\w-]+$/);

    // At Stripe: one incomplete subscription whose first invoice's PaymentIntent waits for the customer.
    const customerId = (await gw.orm.em.fork().findOneOrFail(Customer, { externalId: 'user_3ds' })).id;
    const subs = await gw.stripe.subscriptions.list({ customer: customerId, status: 'all', expand: ['data.latest_invoice.payments'] });
    expect(subs.data).toHaveLength(1);
    const sub = subs.data[0]!;
    expect(sub.status).toBe('incomplete');
    const invoice = sub.latest_invoice as import('stripe').Stripe.Invoice;
    const piRef = invoice.payments!.data[0]!.payment.payment_intent!;
    const pi = await gw.stripe.paymentIntents.retrieve(typeof piRef === 'string' ? piRef : piRef.id);
    expect(pi).toMatchObject({ status: 'requires_action', client_secret: ext.clientSecret, amount: 200 });
    expect(pi.next_action?.type).toBe('use_stripe_sdk');

    // The mirror shows it INCOMPLETE at once (write-through), and the query agrees.
    expect(await mirroredStatus(sub.id)).toBe('incomplete');
    const read = await gw.gql(`{ customer { subscriptions { id status isActive } } }`, {}, token);
    expect(read.data!.customer.subscriptions).toEqual([{ id: sub.id, status: 'INCOMPLETE', isActive: false }]);

    // The same key replays the same answer and creates nothing more.
    const replay = await gw.gql(SUBSCRIBE, { input }, token);
    expect(replay.errors![0]!.extensions).toMatchObject({ code: 'PAYMENT_ACTION_REQUIRED', clientSecret: ext.clientSecret });
    expect((await gw.stripe.subscriptions.list({ customer: customerId, status: 'all' })).data).toHaveLength(1);
    // Another key meets the waiting subscription: change it, do not subscribe twice.
    const other = await gw.gql(SUBSCRIBE, { input: { ...input, idempotencyKey: 'sub-3ds-2' } }, token);
    expect(other.errors![0]!.extensions!.code).toBe('CONFLICT');

    // The browser confirms after the 3-D Secure challenge (Stripe.js); the webhooks activate the mirror.
    const confirmed = await gw.stripe.paymentIntents.confirm(pi.id);
    expect(confirmed.status).toBe('succeeded');
    expect((await gw.stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
    await waitForMirror(sub.id, 'active');
    // The subscription and its invoice arrive by separate webhooks: wait until both are mirrored.
    const expected = [{ id: sub.id, status: 'ACTIVE', latestInvoice: { status: 'PAID', amountPaid: { amount: 200 } } }];
    const mirrored = async () =>
      (await gw.gql(`{ customer { subscriptions { id status latestInvoice { status amountPaid { amount } } } } }`, {}, token)).data!.customer.subscriptions;
    await eventually('the subscription and its invoice mirrored', mirrored, (after) => JSON.stringify(after) === JSON.stringify(expected));
  });

  it('a declined card still answers CARD_DECLINED and leaves nothing behind', async () => {
    const token = await gw.token('user_3ds_declined');
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_chargeCustomerFail', idempotencyKey: 'declined-1' } }, token);
    expect(errors![0]!.extensions).toMatchObject({ code: 'CARD_DECLINED', declineCode: 'generic_decline' });
    const customerId = (await gw.orm.em.fork().findOneOrFail(Customer, { externalId: 'user_3ds_declined' })).id;
    expect((await gw.stripe.subscriptions.list({ customer: customerId, status: 'all' })).data).toHaveLength(0);
    expect((await gw.stripe.customers.listPaymentMethods(customerId)).data).toHaveLength(0);
  });
});
