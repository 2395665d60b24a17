import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/customer.js';
import { IdempotencyKey } from '../../src/db/entities/idempotency-key.js';
import { Subscription } from '../../src/db/entities/subscription.js';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

const CHANGE_PLAN = /* GraphQL */ `
  mutation ($input: ChangePlanInput!) { changePlan(input: $input) { id quantity plan { id } latestInvoice { id total { amount } } } }
`;

async function stripeCustomersOf(externalId: string) {
  const all = await gw.stripe.customers.list({ limit: 100 });
  return all.data.filter((c) => c.metadata.external_id === externalId);
}

describe('idempotency keys', () => {
  it('replays the same result for the same key and input, creating nothing twice', async () => {
    const token = await gw.token('user_replay');
    const input = { plan: 'basic_monthly', quantity: 2, paymentMethod: 'pm_card_visa', idempotencyKey: 'replay-1' };
    const first = await gw.gql(SUBSCRIBE, { input }, token);
    expect(first.errors).toBeUndefined();
    const again = await gw.gql(SUBSCRIBE, { input }, token);
    expect(again.errors).toBeUndefined();
    expect(again.data!.subscribe.subscription.id).toBe(first.data!.subscribe.subscription.id);
    const customerId = first.data!.subscribe.subscription.customer.id;
    expect((await gw.stripe.subscriptions.list({ customer: customerId, status: 'all' })).data).toHaveLength(1);
    expect((await gw.stripe.invoices.list({ customer: customerId })).data).toHaveLength(1);

    const row = await gw.orm.em.fork().findOneOrFail(IdempotencyKey, { scope: 'customer:user_replay', key: 'replay-1' });
    expect(row.status).toBe('completed');
    expect(row.expiresAt.getTime()).toBeGreaterThanOrEqual(Date.now() + 24 * 3600_000 - 60_000);
  });

  it('answers CONFLICT for the same key with a different input', async () => {
    const token = await gw.token('user_misuse');
    const first = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'k-1' } }, token);
    expect(first.errors).toBeUndefined();
    const other = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', quantity: 5, paymentMethod: 'pm_card_visa', idempotencyKey: 'k-1' } }, token);
    expect(other.errors![0]!.extensions!.code).toBe('CONFLICT');
  });

  it('keeps keys per caller: another user with the same key gets its own result', async () => {
    const a = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'shared' } }, await gw.token('user_a'));
    const b = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'shared' } }, await gw.token('user_b'));
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data!.subscribe.subscription.id).not.toBe(b.data!.subscribe.subscription.id);
    expect(b.data!.subscribe.subscription.customer.externalId).toBe('user_b');
  });

  it('replays a card decline as the same error', async () => {
    const token = await gw.token('user_decline_replay');
    const input = { plan: 'basic_monthly', paymentMethod: 'pm_card_chargeDeclined', idempotencyKey: 'declined-1' };
    const first = await gw.gql(SUBSCRIBE, { input }, token);
    const again = await gw.gql(SUBSCRIBE, { input }, token);
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'CARD_DECLINED', declineCode: 'generic_decline' });
    expect(again.errors![0]!.extensions).toEqual(first.errors![0]!.extensions);
  });

  it('changes a plan once for a replayed changePlan', async () => {
    const token = await gw.token('user_change_replay');
    const sub = (await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token)).data!.subscribe.subscription;
    const input = { subscriptionId: sub.id, plan: 'pro_monthly', idempotencyKey: 'upgrade-1' };
    const first = await gw.gql(CHANGE_PLAN, { input }, token);
    expect(first.errors).toBeUndefined();
    const again = await gw.gql(CHANGE_PLAN, { input }, token);
    expect(again.data!.changePlan).toEqual(first.data!.changePlan);
    expect((await gw.stripe.invoices.list({ customer: sub.customer.id })).data).toHaveLength(2);
  });

  it('rejects a malformed key', async () => {
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', idempotencyKey: 'has space' } }, await gw.token('user_badkey'));
    expect(errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'idempotencyKey' });
  });
});

describe('concurrency', () => {
  it('10 parallel subscribes with one key: one customer, one subscription, the same answer for all', async () => {
    const token = await gw.token('user_parallel_same', { email: 'p@example.com' });
    const input = { plan: 'pro_monthly', quantity: 2, paymentMethod: 'pm_card_visa', idempotencyKey: 'parallel-1' };
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.gql(SUBSCRIBE, { input }, token)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const ids = new Set(results.map((r) => r.data!.subscribe.subscription.id));
    expect(ids.size).toBe(1);
    const customers = await stripeCustomersOf('user_parallel_same');
    expect(customers).toHaveLength(1);
    expect((await gw.stripe.subscriptions.list({ customer: customers[0]!.id, status: 'all' })).data).toHaveLength(1);
    expect(await gw.orm.em.fork().count(Customer, { externalId: 'user_parallel_same' })).toBe(1);
    expect(await gw.orm.em.fork().count(Subscription, { customerId: customers[0]!.id })).toBe(1);
  });

  it('10 parallel subscribes with different keys: one customer, one subscription, the others CONFLICT', async () => {
    const token = await gw.token('user_parallel_many');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: `many-${i}` } }, token)),
    );
    const ok = results.filter((r) => !r.errors);
    const codes = results.filter((r) => r.errors).map((r) => r.errors![0]!.extensions!.code);
    expect(ok).toHaveLength(1);
    expect(new Set(codes)).toEqual(new Set(['CONFLICT']));
    const customers = await stripeCustomersOf('user_parallel_many');
    expect(customers).toHaveLength(1);
    expect((await gw.stripe.subscriptions.list({ customer: customers[0]!.id, status: 'all' })).data).toHaveLength(1);
    expect(await gw.orm.em.fork().count(Customer, { externalId: 'user_parallel_many' })).toBe(1);
    // Leases are gone once the requests are done.
    expect(await gw.orm.em.fork().count(IdempotencyKey, { scope: '$lease' })).toBe(0);
  });

  it('10 parallel subscribes without keys: still one subscription', async () => {
    const token = await gw.token('user_parallel_nokey');
    const results = await Promise.all(Array.from({ length: 10 }, () => gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token)));
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const customers = await stripeCustomersOf('user_parallel_nokey');
    expect(customers).toHaveLength(1);
    expect((await gw.stripe.subscriptions.list({ customer: customers[0]!.id, status: 'all' })).data).toHaveLength(1);
  });
});
