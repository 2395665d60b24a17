/**
 * Text PostgreSQL cannot hold (U+0000, lone surrogates) in client input is refused at the boundary:
 * token claims → UNAUTHENTICATED, GraphQL arguments (literals and variables) → BAD_USER_INPUT naming
 * the field. In every case nothing is created at Stripe and nothing is written to the mirror.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from '../lifecycle/harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** Customers at Stripe (the emulator), to prove a refused call created none. */
async function stripeCustomers(): Promise<number> {
  return (await gw.stripe.customers.list({ limit: 100 })).data.length;
}

describe('token claims', () => {
  it('a token whose email holds U+0000 is UNAUTHENTICATED, and nothing reaches Stripe', async () => {
    const before = await stripeCustomers();
    const token = await gw.token('user_nul_email', { email: 'ada\u0000@example.com' });
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'nul-email' } }, token);
    expect(data?.subscribe ?? null).toBeNull();
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(errors?.[0]?.message).toMatch(/U\+0000/);
    expect(await stripeCustomers()).toBe(before);
    expect(await countRows(gw.orm, 'customers')).toBe(0);
  });

  it('a token whose sub holds a lone surrogate is UNAUTHENTICATED', async () => {
    const token = await gw.token('user_\ud800', { email: 'ok@example.com' });
    const { errors } = await gw.gql(`{ customer { id } }`, {}, token);
    expect(errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('GraphQL arguments', () => {
  it('a U+0000 in a literal argument is BAD_USER_INPUT with its field; no Stripe customer is created', async () => {
    const before = await stripeCustomers();
    const token = await gw.token('user_nul_literal', { email: 'literal@example.com' });
    const { data, errors } = await gw.gql(
      `mutation { subscribe(input: { plan: "basic_monthly", paymentMethod: "pm_card_visa\\u0000", idempotencyKey: "nul-literal" }) { subscription { id } } }`,
      undefined,
      token,
    );
    expect(data?.subscribe ?? null).toBeNull();
    expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.paymentMethod' });
    expect(await stripeCustomers()).toBe(before);
    expect(await countRows(gw.orm, 'customers')).toBe(0);
  });

  it('a U+0000 or a lone surrogate in a variable is BAD_USER_INPUT with its path; no Stripe customer is created', async () => {
    const before = await stripeCustomers();
    const token = await gw.token('user_nul_variable', { email: 'variable@example.com' });
    for (const [input, field] of [
      [{ plan: 'basic_monthly', paymentMethod: 'pm_card_visa\u0000', idempotencyKey: 'nul-var' }, 'input.paymentMethod'],
      [{ plan: 'basic_monthly', paymentMethod: 'pm_card_visa', promotionCode: 'SAVE\udc00', idempotencyKey: 'surrogate-var' }, 'input.promotionCode'],
    ] as const) {
      const { data, errors } = await gw.gql(SUBSCRIBE, { input }, token);
      expect(data?.subscribe ?? null).toBeNull();
      expect(errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await stripeCustomers()).toBe(before);
    expect(await countRows(gw.orm, 'customers')).toBe(0);
    expect(await countRows(gw.orm, 'idempotency_keys')).toBe(0);
    // Refused before execution, like other bad requests: HTTP 400, never a 5xx.
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: SUBSCRIBE, variables: { input: { plan: 'basic_monthly', paymentMethod: 'pm\u0000' } } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { extensions: Record<string, unknown> }[] }).errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.paymentMethod' });
  });

  it('storable text, emoji (surrogate pairs) included, still goes through', async () => {
    const token = await gw.token('user_emoji_😀', { email: 'emoji😀@example.com' });
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'emoji' } }, token);
    expect(errors).toBeUndefined();
    expect(data!.subscribe.subscription.customer).toMatchObject({ externalId: 'user_emoji_😀', email: 'emoji😀@example.com' });
  });
});
