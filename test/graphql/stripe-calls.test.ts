/**
 * One request makes a bounded number of Stripe calls whatever its aliases (GRAPHQL_MAX_STRIPE_CALLS,
 * default 10): the limits refuse it before any call, and a per-request budget stops calls past it.
 * What reached Stripe is counted by a proxy in front of the emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../src/stripe/client.js';
import { StripeCallBudget, withCallBudget } from '../../src/stripe/call-budget.js';
import { startCountingProxy, type CountingProxy } from '../support/counting-proxy.js';
import { SUBSCRIBE, startLifecycleGateway, type LifecycleGateway } from '../lifecycle/harness.js';

const BUDGET = 10;
let gw: LifecycleGateway;
let proxy: CountingProxy;
let token: string;
let subscriptionId: string;

beforeAll(async () => {
  let emulatorUrl = '';
  proxy = await startCountingProxy(() => emulatorUrl);
  gw = await startLifecycleGateway({}, { stripeApiBase: (url) => ((emulatorUrl = url), proxy.url) });
  token = await gw.token('user_budget', { email: 'budget@example.com' });
  const sub = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'budget-1' } }, token);
  expect(sub.errors).toBeUndefined();
  subscriptionId = sub.data!.subscribe.subscription.id as string;
});

afterAll(async () => {
  await gw?.close();
  await proxy?.close();
});

const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join('\n');

describe('Stripe calls per request', () => {
  it('refuses 1,000 aliases of upcomingInvoice before any Stripe call', async () => {
    const before = proxy.count();
    const query = (n: number) => `query Previews($id: ID!) { ${aliases(n, 'upcomingInvoice(subscriptionId: $id) { id }')} }`;
    const res = await gw.gql(query(1000), { id: subscriptionId }, token);
    expect(proxy.count() - before).toBe(0);
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    // So large a document stops at the parser's token limit, the cheapest rule.
    expect(res.errors![0]!.message).toBe('Syntax Error: Document contains more that 10000 tokens. Parsing aborted.');
    // Under it, the Stripe-call rule refuses as few as 4 previews (3 calls each).
    const four = await gw.gql(query(4), { id: subscriptionId }, token);
    expect(four.errors![0]!.message).toBe(
      'Query "Previews" makes too many Stripe calls: up to 12 exceeds the maximum of 10 per request (send fewer previews, sessions or billing mutations at once)',
    );
    expect(four.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'stripeCalls', stripeCalls: 12, maxStripeCalls: BUDGET });
    expect(proxy.count() - before).toBe(0);
  });

  it('refuses 200 aliases of createPortalSession: no session is created', async () => {
    const before = proxy.count('/v1/billing_portal/sessions');
    const all = proxy.count();
    const res = await gw.gql(`mutation { ${aliases(200, 'createPortalSession(input: { returnUrl: "http://localhost:4000/account" }) { url }')} }`, {}, token);
    expect(proxy.count('/v1/billing_portal/sessions') - before).toBe(0);
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'stripeCalls', stripeCalls: 200 });
    expect(proxy.count('/v1/billing_portal/sessions') - before).toBe(0);
    expect(proxy.count() - all).toBe(0);
  });

  it('runs what fits in the budget, within the budget', async () => {
    expect(gw.config.graphql.maxStripeCalls).toBe(BUDGET);
    let before = proxy.count();
    const portals = await gw.gql(`mutation { ${aliases(BUDGET, 'createPortalSession(input: { returnUrl: "http://localhost:4000/account" }) { url }')} }`, {}, token);
    expect(portals.errors).toBeUndefined();
    expect(Object.keys(portals.data!)).toHaveLength(BUDGET);
    expect(proxy.count() - before).toBeLessThanOrEqual(BUDGET);
    before = proxy.count();
    const previews = await gw.gql(`query ($id: ID!) { ${aliases(3, 'upcomingInvoice(subscriptionId: $id) { id }')} }`, { id: subscriptionId }, token);
    expect(previews.errors).toBeUndefined();
    expect(proxy.count() - before).toBeLessThanOrEqual(BUDGET);
  });

  it('the run-time budget stops the call past it before it is sent', async () => {
    const stripe = createStripeClient({ secretKey: 'sk_test_budget', apiBase: proxy.url, maxNetworkRetries: 0 });
    const budget = new StripeCallBudget(2);
    const limited = withCallBudget(stripe, budget);
    const before = proxy.count();
    await limited.customers.list({ limit: 1 });
    await limited.billingPortal.configurations.list({ limit: 1 }).catch(() => undefined);
    expect(budget.used).toBe(2);
    await expect(limited.customers.list({ limit: 1 })).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 'stripeCalls', maxStripeCalls: 2 } });
    await expect(limited.testHelpers.testClocks.list()).rejects.toThrow(/limit of 2 Stripe calls/);
    expect(proxy.count() - before).toBe(2);
  });
});
