/**
 * Stripe failing (the emulator's fault injection): after the SDK's retries the mutation answers
 * UPSTREAM_UNAVAILABLE (5xx) or RATE_LIMITED (429), and nothing is written locally.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/customer.js';
import { countRows, startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterEach(async () => {
  if (gw.emulator.http.server.listening) await gw.faults({});
});
afterAll(async () => {
  await gw?.close();
});

const TABLES = ['customers', 'subscriptions', 'subscription_items', 'invoices', 'invoice_lines', 'idempotency_keys'];
async function snapshot(): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await countRows(gw.orm, t)] as const)));
}

describe('Stripe unavailable', () => {
  it('a new customer: UPSTREAM_UNAVAILABLE and nothing written', async () => {
    const before = await snapshot();
    await gw.faults({ status: 500, count: 10 });
    const token = await gw.token('user_down', { email: 'down@example.com' });
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'down-1' } }, token);
    expect(data).toEqual({ subscribe: null });
    expect(errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(JSON.stringify(errors)).not.toMatch(/sk_test|stack|injected/);
    expect(await snapshot()).toEqual(before);

    // Stripe back: the same key now works (the failed attempt was not stored).
    await gw.faults({});
    const retry = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'down-1' } }, token);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.subscribe.subscription.status).toBe('ACTIVE');
  });

  it('an existing customer, subscriptions failing: no subscription written', async () => {
    const token = await gw.token('user_half');
    const first = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token);
    expect(first.errors).toBeUndefined();
    const before = await snapshot();
    await gw.faults({ status: 503, count: 10, pathPrefix: '/v1/subscriptions' });
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'half-1' } }, token);
    expect(errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await snapshot()).toEqual(before);
    const customer = await gw.orm.em.fork().findOneOrFail(Customer, { externalId: 'user_half' });
    await gw.faults({});
    expect((await gw.stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(1);
  });

  it('a change while Stripe fails leaves the mirror as it was', async () => {
    const token = await gw.token('user_change_down');
    const sub = (await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token)).data!.subscribe.subscription;
    const before = await snapshot();
    await gw.faults({ status: 500, count: 20 });
    const { errors } = await gw.gql(`mutation ($input: ChangePlanInput!) { changePlan(input: $input) { id } }`, { input: { subscriptionId: sub.id, plan: 'pro_monthly', idempotencyKey: 'cd-1' } }, token);
    expect(errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await snapshot()).toEqual(before);
  });

  it('rate limited by Stripe: RATE_LIMITED', async () => {
    const before = await snapshot();
    await gw.faults({ status: 429, count: 10 });
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, await gw.token('user_429'));
    expect(errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect(await snapshot()).toEqual(before);
  });

  // Last: stops the emulator.
  it('Stripe unreachable (connection refused): UPSTREAM_UNAVAILABLE and nothing written', async () => {
    const token = await gw.token('user_unreachable');
    await gw.faults({});
    const before = await snapshot();
    await gw.emulator.close();
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'gone-1' } }, token);
    expect(errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await snapshot()).toEqual(before);
  });
});
