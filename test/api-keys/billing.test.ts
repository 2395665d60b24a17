/**
 * API keys in the gateway as `npm start` runs it (webhooks, the meter-event flusher, dunning, the
 * mirrored test clock): the units VALID verifications counted reach the emulator's meter event
 * summaries exactly (requestId repeats counted once, refusals not at all), and a customer whose
 * dunning reached suspension gets SUSPENDED.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DAY, retryOnDaysThreeAndSix, startDunningGateway, type DunningGateway } from '../dunning/support.js';
import { eventually } from '../support/eventually.js';
import { summarySum } from '../meter-events/support.js';
import { CREATE, verify } from './support.js';

let t: DunningGateway;
let url: string;

beforeAll(async () => {
  t = await startDunningGateway({ DUNNING_TICK_SECONDS: '1' });
  url = `http://127.0.0.1:${t.gw.port}`;
  await retryOnDaysThreeAndSix(t.emulatorUrl);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

it('signals a key’s first RATE_LIMITED in a window once, as an API_KEY_LIMIT_REACHED billing event', async () => {
  const token = await t.token('keys_signal');
  const service = await t.token('backend', 'service');
  const sub = await t.gql(`mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { customer { id } } } }`, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token);
  expect(sub.errors).toBeUndefined();
  const customerId = sub.data.subscribe.subscription.customer.id as string;
  await t.settle();
  const created = await t.gql(CREATE, { input: { name: 'signal' } }, token);
  const secret = created.data.createApiKey.secret as string;
  const codes: string[] = [];
  for (let i = 0; i < 64; i++) codes.push((await verify(url, service, secret)).code);
  expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(4);
  const signals = () => t.sql<{ type: string; message: string; data: Record<string, unknown> }>(`select type, message, data from billing_events where customer_id = ? and type = 'API_KEY_LIMIT_REACHED'`, [customerId]);
  await eventually('the signal', async () => (await signals()).length > 0);
  const rows = await signals();
  expect(rows).toHaveLength(1);
  expect(rows[0]!.data).toMatchObject({ code: 'RATE_LIMITED', limit: 60, plan: 'basic_monthly', keyId: created.data.createApiKey.apiKey.id });
  expect(rows[0]!.message).toContain('api_key_limit_reached');
  expect(rows[0]!.message).not.toContain(secret);
});

it('bills exactly the units VALID answers counted, then answers SUSPENDED once dunning suspends the customer', async () => {
  const token = await t.token('keys_billing');
  const service = await t.token('backend', 'service');
  const sub = await t.gql(
    `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id currentPeriodEnd customer { id } } } }`,
    { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'keys-sub-1' } },
    token,
  );
  expect(sub.errors).toBeUndefined();
  const { id: subscriptionId, currentPeriodEnd } = sub.data.subscribe.subscription;
  const customerId = sub.data.subscribe.subscription.customer.id as string;
  await t.settle();
  const created = await t.gql(CREATE, { input: { name: 'billing' } }, token);
  expect(created.errors).toBeUndefined();
  const secret = created.data.createApiKey.secret as string;

  let expected = 0;
  for (let i = 0; i < 40; i++) {
    const cost = (i % 4) + 1;
    const a = await verify(url, service, secret, { cost, requestId: `bill-${i}` });
    expect(a.code).toBe('VALID');
    expected += cost;
    // A retry of the same request counts nothing more.
    if (i % 5 === 0) expect((await verify(url, service, secret, { cost, requestId: `bill-${i}` })).code).toBe('VALID');
  }
  const unknown = await verify(url, service, secret.slice(0, -1) + (secret.endsWith('x') ? 'y' : 'x'), { cost: 7 });
  expect(unknown.code).toBe('NOT_FOUND');

  const meter = (await t.stripe.billing.meters.list({ limit: 100 })).data.find((m) => m.event_name === 'api_calls')!;
  const clock = await t.stripe.testHelpers.testClocks.retrieve(t.clockId);
  // The rows are written behind the answers (gathered for up to 0.1 s): all of them in the ledger, then all sent.
  await eventually('the ledger rows to reach Stripe', async () => {
    const rows = await t.sql<{ total: string | number | null; unsent: string | number }>(
      `select sum(quantity) as total, count(*) filter (where sent_at is null) as unsent from usage_records where customer_id = ?`,
      [customerId],
    );
    return Number(rows[0]!.total ?? 0) >= expected && Number(rows[0]!.unsent) === 0;
  });
  expect(await summarySum(t.stripe, meter.id, customerId, clock.frozen_time - 3600, clock.frozen_time + 60)).toBe(expected);

  // Dunning: every charge fails from the renewal on; suspension comes 8 days after the failure.
  const failing = await t.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customerId });
  await t.stripe.customers.update(customerId, { invoice_settings: { default_payment_method: failing.id } });
  await t.stripe.subscriptions.update(subscriptionId, { default_payment_method: failing.id });
  const failedAt = Date.parse(currentPeriodEnd) / 1000 + 3600;
  await t.advanceTo(failedAt);
  expect((await verify(url, service, secret)).code).toBe('VALID');
  await t.advanceTo(failedAt + 8 * DAY);
  const state = await t.gql(`{ customer { accessState } }`, {}, token);
  expect(state.data.customer.accessState).toBe('SUSPENDED');
  const since = Date.now();
  await eventually('SUSPENDED', async () => (await verify(url, service, secret)).code === 'SUSPENDED');
  expect(Date.now() - since).toBeLessThan(1000);
  expect(await verify(url, service, secret)).toMatchObject({ valid: false, code: 'SUSPENDED', customerId, plan: 'pro_monthly', externalId: 'keys_billing' });
});
