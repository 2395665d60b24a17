/**
 * Isolation (a customer token acts on its own customer only) and the Stripe-hosted sessions (portal,
 * checkout) with a configured redirect allow-list: no open redirect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;
let alice: { token: string; subId: string; customerId: string };
let bobToken: string;
let adminToken: string;

const APP = 'https://app.example.com';

beforeAll(async () => {
  gw = await startLifecycleGateway({ PORTAL_RETURN_URL_ALLOWLIST: `${APP},http://localhost:3000` });
  const token = await gw.token('alice', { email: 'alice@example.com' });
  const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token);
  expect(errors).toBeUndefined();
  alice = { token, subId: data!.subscribe.subscription.id, customerId: data!.subscribe.subscription.customer.id };
  bobToken = await gw.token('bob');
  // Bob has a billing account of his own.
  expect((await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa' } }, bobToken)).errors).toBeUndefined();
  adminToken = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

const CHANGE_PLAN = `mutation ($input: ChangePlanInput!) { changePlan(input: $input) { id } }`;
const CANCEL = `mutation ($input: CancelInput!) { cancel(input: $input) { id status cancelAtPeriodEnd } }`;
const RESUME = `mutation ($id: ID!) { resume(subscriptionId: $id) { id cancelAtPeriodEnd } }`;
const UPCOMING = `query ($id: ID!, $plan: ID) { upcomingInvoice(subscriptionId: $id, plan: $plan) { id total { amount } } }`;
const PORTAL = `mutation ($input: CreatePortalSessionInput!) { createPortalSession(input: $input) { url } }`;
const CHECKOUT = `mutation ($plan: ID!, $quantity: Int, $successUrl: String!, $cancelUrl: String!, $customerId: ID) {
  createCheckoutSession(plan: $plan, quantity: $quantity, successUrl: $successUrl, cancelUrl: $cancelUrl, customerId: $customerId) { id url }
}`;

const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

describe('isolation', () => {
  it("a customer token cannot change, cancel, resume or preview another customer's subscription", async () => {
    expect(code(await gw.gql(CHANGE_PLAN, { input: { subscriptionId: alice.subId, plan: 'pro_monthly' } }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(CANCEL, { input: { subscriptionId: alice.subId, atPeriodEnd: false } }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(RESUME, { id: alice.subId }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(UPCOMING, { id: alice.subId, plan: 'pro_monthly' }, bobToken))).toBe('FORBIDDEN');
    // An unknown id looks the same to a customer token (ids cannot be probed).
    expect(code(await gw.gql(CANCEL, { input: { subscriptionId: 'sub_doesnotexist' } }, bobToken))).toBe('FORBIDDEN');
    // A token without a billing account at all.
    expect(code(await gw.gql(CANCEL, { input: { subscriptionId: alice.subId } }, await gw.token('carol')))).toBe('FORBIDDEN');
    // Alice's subscription is untouched.
    const s = await gw.stripe.subscriptions.retrieve(alice.subId);
    expect(s).toMatchObject({ status: 'active', cancel_at_period_end: false });
    expect(s.items.data.find((i) => i.price.recurring?.usage_type !== 'metered')!.price.lookup_key).toBe('basic_monthly');
  });

  it("a customer token cannot subscribe another customer or open another's portal", async () => {
    expect(code(await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', customerId: 'alice', paymentMethod: 'pm_card_visa' } }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', customerId: alice.customerId, paymentMethod: 'pm_card_visa' } }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(PORTAL, { input: { returnUrl: `${APP}/billing`, customerId: alice.customerId } }, bobToken))).toBe('FORBIDDEN');
    expect(code(await gw.gql(PORTAL, { input: { returnUrl: `${APP}/billing`, customerId: 'alice' } }, bobToken))).toBe('FORBIDDEN');
  });

  it("an admin may act on any customer's subscription and portal", async () => {
    const preview = await gw.gql(UPCOMING, { id: alice.subId }, adminToken);
    expect(preview.errors).toBeUndefined();
    expect(preview.data!.upcomingInvoice.total.amount).toBe(100);
    const portal = await gw.gql(PORTAL, { input: { returnUrl: `${APP}/billing`, customerId: alice.customerId } }, adminToken);
    expect(portal.errors).toBeUndefined();
    const canceled = await gw.gql(CANCEL, { input: { subscriptionId: alice.subId } }, adminToken);
    expect(canceled.data!.cancel).toMatchObject({ status: 'ACTIVE', cancelAtPeriodEnd: true });
    expect((await gw.gql(RESUME, { id: alice.subId }, alice.token)).data!.resume.cancelAtPeriodEnd).toBe(false);
    expect(code(await gw.gql(CANCEL, { input: { subscriptionId: 'sub_doesnotexist' } }, adminToken))).toBe('NOT_FOUND');
  });
});

describe('portal sessions', () => {
  it("opens the caller's own portal with an allowed return URL", async () => {
    const { data, errors } = await gw.gql(PORTAL, { input: { returnUrl: `${APP}/settings/billing` } }, alice.token);
    expect(errors).toBeUndefined();
    const url = new URL(data!.createPortalSession.url);
    expect(url.pathname).toMatch(/^\/portal\//);
    const sessionPage = await fetch(url);
    expect(sessionPage.status).toBe(200);
  });

  it.each([
    ['a relative URL', '/billing'],
    ['another origin', 'https://evil.example.com/billing'],
    ['a look-alike origin', 'https://app.example.com.evil.com/'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['credentials in the URL', 'https://user:pw@app.example.com/'],
  ])('refuses %s as returnUrl (BAD_USER_INPUT)', async (_name, returnUrl) => {
    const r = await gw.gql(PORTAL, { input: { returnUrl } }, alice.token);
    expect(r.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'returnUrl' });
  });

  it('answers NOT_FOUND for a caller without a billing account', async () => {
    expect(code(await gw.gql(PORTAL, { input: { returnUrl: `${APP}/` } }, await gw.token('dave')))).toBe('NOT_FOUND');
  });
});

describe('checkout sessions', () => {
  it('creates a Checkout Session for a new customer, with the URLs given', async () => {
    const token = await gw.token('erin', { email: 'erin@example.com' });
    const { data, errors } = await gw.gql(CHECKOUT, { plan: 'pro_monthly', quantity: 4, successUrl: `${APP}/ok`, cancelUrl: 'http://localhost:3000/no' }, token);
    expect(errors).toBeUndefined();
    const session = await gw.stripe.checkout.sessions.retrieve(data!.createCheckoutSession.id);
    expect(session).toMatchObject({ mode: 'subscription', success_url: `${APP}/ok`, cancel_url: 'http://localhost:3000/no', url: data!.createCheckoutSession.url });
    const customer = await gw.stripe.customers.retrieve(session.customer as string);
    if (customer.deleted) throw new Error('deleted');
    expect(customer).toMatchObject({ email: 'erin@example.com', metadata: { external_id: 'erin' } });
  });

  it('completing Checkout starts the subscription at Stripe', async () => {
    const token = await gw.token('frank');
    const { data } = await gw.gql(CHECKOUT, { plan: 'basic_monthly', quantity: 2, successUrl: `${APP}/ok`, cancelUrl: `${APP}/no` }, token);
    const id = data!.createCheckoutSession.id;
    const res = await fetch(`${gw.emulator.url}/v1/test_helpers/checkout/sessions/${id}/complete`, { method: 'POST', headers: { authorization: 'Bearer sk_test_x' } });
    expect(res.status).toBe(200);
    const session = await gw.stripe.checkout.sessions.retrieve(id);
    const sub = await gw.stripe.subscriptions.retrieve(session.subscription as string);
    expect(sub.status).toBe('active');
    // A second checkout for the same product is refused now.
    const again = await gw.gql(CHECKOUT, { plan: 'basic_monthly', successUrl: `${APP}/ok`, cancelUrl: `${APP}/no` }, token);
    expect(code(again)).toBe('CONFLICT');
  });

  it.each([
    ['successUrl', { successUrl: 'https://evil.example.com/', cancelUrl: `${APP}/no` }],
    ['cancelUrl', { successUrl: `${APP}/ok`, cancelUrl: 'ftp://app.example.com/' }],
  ])('refuses a %s off the allow-list', async (field, urls) => {
    const r = await gw.gql(CHECKOUT, { plan: 'basic_monthly', ...urls }, alice.token);
    expect(r.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('applies the plan rules', async () => {
    const r = await gw.gql(CHECKOUT, { plan: 'enterprise', successUrl: `${APP}/ok`, cancelUrl: `${APP}/no` }, alice.token);
    expect(r.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'plan' });
    const q = await gw.gql(CHECKOUT, { plan: 'pro_monthly', quantity: 0, successUrl: `${APP}/ok`, cancelUrl: `${APP}/no` }, alice.token);
    expect(q.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
  });

  it('subscribe without a card defaults its Checkout URLs to the first allowed origin', async () => {
    const token = await gw.token('gina');
    const { data } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly' } }, token);
    const sessions = await gw.stripe.checkout.sessions.list({ limit: 20 });
    const session = sessions.data.find((s) => s.url === data!.subscribe.checkoutUrl)!;
    expect(session.success_url).toBe(`${APP}/?checkout=success`);
    expect(session.cancel_url).toBe(`${APP}/?checkout=cancel`);
  });
});
