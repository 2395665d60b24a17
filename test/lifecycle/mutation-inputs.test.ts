/**
 * One input object per mutation, over HTTP against the emulator: the input forms of
 * createCheckoutSession, resume, reportUsageRecords, rollApiKey, revokeApiKey and
 * retryParkedWebhookEvent work, their deprecated argument forms still work, neither given answers
 * BAD_USER_INPUT naming `input`, and a real invoice's line resolves through Query.node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { day, subscribeCustomer } from '../usage/support.js';
import { startLifecycleGateway, type LifecycleGateway } from './harness.js';

const APP = 'https://app.example.com';
let gw: LifecycleGateway;
let admin: string;
let alice: { token: string; customerId: string };

const errorOf = (r: { errors?: { extensions?: Record<string, any> }[] }) => r.errors?.[0]?.extensions ?? null;

beforeAll(async () => {
  gw = await startLifecycleGateway({ PORTAL_RETURN_URL_ALLOWLIST: APP });
  admin = await gw.token('ops', { role: 'admin' });
  alice = await subscribeCustomer(gw, 'inputs_alice', 'pro_monthly');
  await gw.advanceClock(2 * 86_400);
});
afterAll(async () => {
  await gw?.close();
});

describe('mutations take one input object; the old arguments still work', () => {
  it('createCheckoutSession(input) and its deprecated arguments', async () => {
    const token = await gw.token('inputs_erin', { email: 'erin@example.com' });
    const byInput = await gw.gql(
      `mutation ($input: CreateCheckoutSessionInput!) { createCheckoutSession(input: $input) { id url } }`,
      { input: { plan: 'basic_monthly', quantity: 3, successUrl: `${APP}/ok`, cancelUrl: `${APP}/no` } },
      token,
    );
    expect(byInput.errors).toBeUndefined();
    const session = await gw.stripe.checkout.sessions.retrieve(byInput.data!.createCheckoutSession.id, { expand: ['line_items'] });
    expect(session).toMatchObject({ mode: 'subscription', success_url: `${APP}/ok`, cancel_url: `${APP}/no` });

    const byArgs = await gw.gql(`mutation { createCheckoutSession(plan: "basic_monthly", successUrl: "${APP}/a", cancelUrl: "${APP}/b") { id url } }`, {}, token);
    expect(byArgs.errors).toBeUndefined();
    expect((await gw.stripe.checkout.sessions.retrieve(byArgs.data!.createCheckoutSession.id)).success_url).toBe(`${APP}/a`);

    const neither = await gw.gql(`mutation { createCheckoutSession(successUrl: "${APP}/a") { id } }`, {}, token);
    expect(errorOf(neither)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
  });

  it('resume(input) and resume(subscriptionId)', async () => {
    const sub = (await gw.gql(`{ customer { subscriptions { id } } }`, {}, alice.token)).data!.customer.subscriptions[0].id as string;
    const cancel = `mutation ($id: ID!) { cancel(input: { subscriptionId: $id, atPeriodEnd: true }) { cancelAtPeriodEnd } }`;
    expect((await gw.gql(cancel, { id: sub }, alice.token)).data!.cancel.cancelAtPeriodEnd).toBe(true);
    const byInput = await gw.gql(`mutation ($input: ResumeInput!) { resume(input: $input) { id cancelAtPeriodEnd } }`, { input: { subscriptionId: sub, idempotencyKey: 'resume-in-1' } }, alice.token);
    expect(byInput.errors).toBeUndefined();
    expect(byInput.data!.resume).toEqual({ id: sub, cancelAtPeriodEnd: false });

    expect((await gw.gql(cancel, { id: sub }, alice.token)).data!.cancel.cancelAtPeriodEnd).toBe(true);
    const byArgs = await gw.gql(`mutation ($id: ID!) { resume(subscriptionId: $id) { id cancelAtPeriodEnd } }`, { id: sub }, alice.token);
    expect(byArgs.errors).toBeUndefined();
    expect(byArgs.data!.resume).toEqual({ id: sub, cancelAtPeriodEnd: false });

    expect(errorOf(await gw.gql(`mutation { resume { id } }`, {}, alice.token))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
  });

  it('reportUsageRecords(input) answers a payload; the deprecated reportUsageBatch still records', async () => {
    const records = [1, 2, 3].map((q) => ({ meter: 'api_calls', quantity: q, timestamp: day(1), idempotencyKey: `rec-${q}` }));
    const byInput = await gw.gql(
      `mutation ($input: ReportUsageRecordsInput!) { reportUsageRecords(input: $input) { records { quantity idempotencyKey duplicate } } }`,
      { input: { records } },
      alice.token,
    );
    expect(byInput.errors).toBeUndefined();
    expect(byInput.data!.reportUsageRecords.records).toEqual(records.map((r) => ({ quantity: r.quantity, idempotencyKey: r.idempotencyKey, duplicate: false })));
    const old = await gw.gql(
      `mutation ($input: [ReportUsageInput!]!) { reportUsageBatch(input: $input) { idempotencyKey duplicate } }`,
      { input: [...records.slice(0, 1), { meter: 'api_calls', quantity: 4, timestamp: day(1), idempotencyKey: 'rec-4' }] },
      alice.token,
    );
    expect(old.errors).toBeUndefined();
    expect(old.data!.reportUsageBatch).toEqual([
      { idempotencyKey: 'rec-1', duplicate: true },
      { idempotencyKey: 'rec-4', duplicate: false },
    ]);
    const usage = await gw.gql(`{ customer { usage(meter: "api_calls") { id quantity periodStart } } }`, {}, alice.token);
    const summary = usage.data!.customer.usage[0];
    expect(summary.quantity).toBe(10);
    expect(summary.id).toBe(`UsageSummary:${alice.customerId}:api_calls:${summary.periodStart}`);
  });

  it('rollApiKey and revokeApiKey take an input; their id arguments still work', async () => {
    const create = `mutation ($name: String!) { createApiKey(input: { name: $name }) { apiKey { id } secret } }`;
    const key = async (name: string) => (await gw.gql(create, { name }, alice.token)).data!.createApiKey as { apiKey: { id: string }; secret: string };
    const a = await key('a');
    const rolled = await gw.gql(`mutation ($input: RollApiKeyInput!) { rollApiKey(input: $input) { apiKey { id } secret } }`, { input: { id: a.apiKey.id, idempotencyKey: 'roll-a' } }, alice.token);
    expect(rolled.errors).toBeUndefined();
    expect(rolled.data!.rollApiKey.apiKey.id).toBe(a.apiKey.id);
    expect(rolled.data!.rollApiKey.secret).not.toBe(a.secret);
    const rolledOld = await gw.gql(`mutation ($id: ID!) { rollApiKey(id: $id) { apiKey { id } } }`, { id: a.apiKey.id }, alice.token);
    expect(rolledOld.errors).toBeUndefined();

    const revoked = await gw.gql(`mutation ($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { id revokedAt } }`, { input: { id: a.apiKey.id } }, alice.token);
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
    const b = await key('b');
    const revokedOld = await gw.gql(`mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`, { id: b.apiKey.id }, alice.token);
    expect(revokedOld.errors).toBeUndefined();
    expect(revokedOld.data!.revokeApiKey.revokedAt).not.toBeNull();

    expect(errorOf(await gw.gql(`mutation { revokeApiKey { id } }`, {}, alice.token))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
  });

  it('retryParkedWebhookEvent(input) and retryParkedWebhookEvent(id)', async () => {
    await gw.orm.em.fork().getConnection().execute(
      `insert into webhook_events (id, type, stripe_created_at, object_id, payload, status, attempts, last_error)
       values ('evt_in_1', 'test.unhandled', now(), null, '{}'::jsonb, 'parked', 8, 'Error: boom'), ('evt_in_2', 'test.unhandled', now(), null, '{}'::jsonb, 'parked', 8, 'Error: boom')`,
    );
    const byInput = await gw.gql(`mutation { retryParkedWebhookEvent(input: { id: "evt_in_1" }) }`, {}, admin);
    expect(byInput.errors).toBeUndefined();
    expect(byInput.data).toEqual({ retryParkedWebhookEvent: true });
    const byArg = await gw.gql(`mutation { retryParkedWebhookEvent(id: "evt_in_2") }`, {}, admin);
    expect(byArg.data).toEqual({ retryParkedWebhookEvent: true });
    const again = await gw.gql(`mutation { retryParkedWebhookEvent(input: { id: "evt_in_1" }) }`, {}, admin);
    expect(errorOf(again)).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('Query.node for a line of a real invoice', () => {
  it('resolves the line of the first invoice by its Stripe id, for its owner only', async () => {
    const q = await gw.gql(`{ customer { invoices(first: 1) { nodes { id linesConnection(first: 1) { totalCount nodes { id description } } } } } }`, {}, alice.token);
    expect(q.errors).toBeUndefined();
    const line = q.data!.customer.invoices.nodes[0].linesConnection.nodes[0] as { id: string; description: string };
    expect(line.id).toMatch(/^il_/);
    const node = await gw.gql(`query ($id: ID!) { node(id: $id) { __typename id ... on InvoiceLine { description } } }`, { id: line.id }, alice.token);
    expect(node.errors).toBeUndefined();
    expect(node.data!.node).toEqual({ __typename: 'InvoiceLine', ...line });
    const stranger = await gw.gql(`query ($id: ID!) { node(id: $id) { id } }`, { id: line.id }, await gw.token('inputs_stranger'));
    expect(errorOf(stranger)).toMatchObject({ code: 'FORBIDDEN' });
  });
});
