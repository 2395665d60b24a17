import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscription } from '../../src/db/entities/subscription.js';
import { startLifecycleGateway, SUBSCRIBE, SUBSCRIPTION_FIELDS, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

const CANCEL = /* GraphQL */ `mutation ($input: CancelInput!) { cancel(input: $input) { ${SUBSCRIPTION_FIELDS} } }`;
const RESUME = /* GraphQL */ `mutation ($id: ID!, $key: String) { resume(subscriptionId: $id, idempotencyKey: $key) { ${SUBSCRIPTION_FIELDS} } }`;

async function subscribed(sub: string, plan = 'basic_monthly', quantity = 1) {
  const token = await gw.token(sub);
  const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan, quantity, paymentMethod: 'pm_card_visa' } }, token);
  expect(errors).toBeUndefined();
  return { token, sub: data!.subscribe.subscription };
}

async function expectMirrorMatches(id: string) {
  const row = await gw.orm.em.fork().findOneOrFail(Subscription, { id });
  const s = await gw.stripe.subscriptions.retrieve(id);
  expect({ status: row.status, cancelAtPeriodEnd: row.cancelAtPeriodEnd, canceledAt: row.canceledAt?.getTime() ?? null, endedAt: row.endedAt?.getTime() ?? null, latest: row.latestInvoiceId }).toEqual({
    status: s.status,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    canceledAt: s.canceled_at ? s.canceled_at * 1000 : null,
    endedAt: s.ended_at ? s.ended_at * 1000 : null,
    latest: s.latest_invoice,
  });
}

describe('cancel and resume', () => {
  it('cancels at period end (still active), and resume undoes it', async () => {
    const { token, sub } = await subscribed('user_cancel_later');
    const canceled = await gw.gql(CANCEL, { input: { subscriptionId: sub.id } }, token);
    expect(canceled.errors).toBeUndefined();
    expect(canceled.data!.cancel).toMatchObject({ status: 'ACTIVE', isActive: true, cancelAtPeriodEnd: true, currentPeriodEnd: sub.currentPeriodEnd });
    await expectMirrorMatches(sub.id);
    // Nothing credited or invoiced.
    expect((await gw.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(1);

    const resumed = await gw.gql(RESUME, { id: sub.id, key: 'resume-1' }, token);
    expect(resumed.errors).toBeUndefined();
    expect(resumed.data!.resume).toMatchObject({ status: 'ACTIVE', cancelAtPeriodEnd: false, canceledAt: null });
    await expectMirrorMatches(sub.id);
  });

  it('cancels now: ended at once, a final invoice credits the unused time', async () => {
    const { token, sub } = await subscribed('user_cancel_now', 'pro_monthly', 2);
    const canceled = await gw.gql(CANCEL, { input: { subscriptionId: sub.id, atPeriodEnd: false } }, token);
    expect(canceled.errors).toBeUndefined();
    const c = canceled.data!.cancel;
    expect(c).toMatchObject({ status: 'CANCELED', isActive: false });
    expect(c.canceledAt).not.toBeNull();
    // The clock has not moved: the whole period is unused, so 2 × $5.00 is credited.
    expect(c.latestInvoice.id).not.toBe(sub.latestInvoice.id);
    expect(c.latestInvoice.total.amount).toBe(-1000);
    await expectMirrorMatches(sub.id);
    const customer = await gw.stripe.customers.retrieve(sub.customer.id);
    if (customer.deleted) throw new Error('deleted');
    expect(customer.balance).toBe(-1000);

    // Ended: cancel again returns it as it is; resume cannot bring it back.
    const again = await gw.gql(CANCEL, { input: { subscriptionId: sub.id, atPeriodEnd: false } }, token);
    expect(again.data!.cancel.status).toBe('CANCELED');
    const resumed = await gw.gql(RESUME, { id: sub.id }, token);
    expect(resumed.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
  });

  it('after cancelling, the product can be subscribed to again', async () => {
    const { token, sub } = await subscribed('user_come_back');
    await gw.gql(CANCEL, { input: { subscriptionId: sub.id, atPeriodEnd: false } }, token);
    const again = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token);
    expect(again.errors).toBeUndefined();
    expect(again.data!.subscribe.subscription.id).not.toBe(sub.id);
  });

  it('ends an incomplete subscription without a final invoice', async () => {
    const token = await gw.token('user_cancel_incomplete');
    const { data } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentFlow: 'CLIENT_SECRET' } }, token);
    const id = data!.subscribe.subscription.id;
    const canceled = await gw.gql(CANCEL, { input: { subscriptionId: id, atPeriodEnd: false } }, token);
    expect(canceled.errors).toBeUndefined();
    expect(canceled.data!.cancel.status).toBe('CANCELED');
    expect((await gw.stripe.invoices.list({ subscription: id })).data).toHaveLength(1);
  });

  it('rejects an id that is not a subscription id', async () => {
    const { token } = await subscribed('user_bad_id');
    const { errors } = await gw.gql(CANCEL, { input: { subscriptionId: 'in_123' } }, token);
    expect(errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
  });
});
