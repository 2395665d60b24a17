/**
 * Entitlements through dunning, end to end on the sandbox test clock (the gateway as `npm start` runs
 * it: the clock is mirrored, so "now" for usage and access is the clock's frozen time): GRACE keeps
 * everything, SOFT_SUSPENDED refuses metered (paid) usage but keeps plan features, SUSPENDED refuses all.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAY, startDunningGateway, type DunningGateway, retryOnDaysThreeAndSix } from '../dunning/support.js';
import { ENTITLEMENT, REPORT } from './support.js';

let t: DunningGateway;

beforeAll(async () => {
  t = await startDunningGateway({ DUNNING_TICK_SECONDS: '1' });
  await retryOnDaysThreeAndSix(t.emulatorUrl);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

it('GRACE → SOFT_SUSPENDED (meters denied, features allowed) → SUSPENDED (everything denied)', async () => {
  const token = await t.token('entitled_user');
  const sub = await t.gql(
    `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id currentPeriodEnd customer { id } } } }`,
    { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'ent-sub-1' } },
    token,
  );
  expect(sub.errors).toBeUndefined();
  const { id: subscriptionId, currentPeriodEnd } = sub.data.subscribe.subscription;
  const customerId = sub.data.subscribe.subscription.customer.id as string;
  await t.settle();

  // Usage without a timestamp is stamped with the clock's frozen time, not wall time.
  const clock = await t.stripe.testHelpers.testClocks.retrieve(t.clockId);
  const report = await t.gql(REPORT, { input: { meter: 'api_calls', quantity: 3, idempotencyKey: 'ent-1' } }, token);
  expect(report.errors).toBeUndefined();
  expect(Date.parse(report.data.reportUsage.timestamp)).toBe(clock.frozen_time * 1000);

  const check = async () => {
    const r = await Promise.all(['API access', 'api_calls', 'SLA'].map((feature) => t.gql(ENTITLEMENT, { feature }, token)));
    for (const x of r) expect(x.errors).toBeUndefined();
    return r.map((x) => [x.data.entitlement.allowed, x.data.entitlement.reason]);
  };
  expect(await check()).toEqual([
    [true, 'INCLUDED'],
    [true, 'WITHIN_INCLUDED'],
    [false, 'NOT_IN_PLAN'],
  ]);

  const failing = await t.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customerId });
  await t.stripe.customers.update(customerId, { invoice_settings: { default_payment_method: failing.id } });
  await t.stripe.subscriptions.update(subscriptionId, { default_payment_method: failing.id });
  const failedAt = Date.parse(currentPeriodEnd) / 1000 + 3600;
  await t.advanceTo(failedAt);
  expect(await check()).toEqual([
    [true, 'INCLUDED'],
    [true, 'WITHIN_INCLUDED'],
    [false, 'NOT_IN_PLAN'],
  ]);

  await t.advanceTo(failedAt + 7 * DAY);
  expect(await check()).toEqual([
    [true, 'INCLUDED'],
    [false, 'SOFT_SUSPENDED'],
    [false, 'NOT_IN_PLAN'],
  ]);

  await t.advanceTo(failedAt + 8 * DAY);
  expect(await check()).toEqual([
    [false, 'SUSPENDED'],
    [false, 'SUSPENDED'],
    [false, 'SUSPENDED'],
  ]);
  const list = await t.gql(`{ customer { accessState entitlements { feature allowed reason } } }`, {}, token);
  expect(list.data.customer.accessState).toBe('SUSPENDED');
  expect(list.data.customer.entitlements.every((e: { allowed: boolean; reason: string }) => !e.allowed && e.reason === 'SUSPENDED')).toBe(true);
});
