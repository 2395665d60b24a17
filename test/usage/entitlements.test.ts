/**
 * entitlement / Customer.entitlements over HTTP: a plan feature, a feature outside the plan, a meter
 * under and over its included units and at its hard cap, no subscription, access states, and one
 * statement per kind for a list of customers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessStatesOf, type AccessStateValue } from '../../src/billing/access/access-state.js';
import { countStatements } from '../support/db.js';
import { startLifecycleGateway, type LifecycleGateway } from '../lifecycle/harness.js';
import { catalogWithCappedPlan, day, ENTITLEMENT, ENTITLEMENTS, errorOf, REPORT, customerBook } from './support.js';

let gw: LifecycleGateway;
let admin: string;
const { tokens, customers, subscribe } = customerBook(() => gw);

let keys = 0;
async function use(sub: string, meter: string, quantity: number): Promise<void> {
  const r = await gw.gql(REPORT, { input: { meter, quantity, timestamp: day(1), idempotencyKey: `use-${keys++}` } }, tokens[sub]);
  expect(r.errors).toBeUndefined();
}

async function entitlement(sub: string, feature: string) {
  const r = await gw.gql(ENTITLEMENT, { feature }, tokens[sub]);
  expect(r.errors).toBeUndefined();
  return r.data!.entitlement;
}

beforeAll(async () => {
  gw = await startLifecycleGateway({ BILLING_CATALOG: catalogWithCappedPlan() });
  admin = await gw.token('ops', { role: 'admin' });
  await subscribe('pat', 'pro_monthly');
  await subscribe('cap', 'capped_monthly');
  await subscribe('gina', 'pro_monthly');
  await subscribe('hank', 'basic_monthly');
  await gw.advanceClock(5 * 86_400);
});
afterAll(async () => {
  await gw?.close();
});

describe('entitlement', () => {
  it('a plan feature is allowed, a feature outside the plan is denied', async () => {
    expect(await entitlement('pat', 'Priority support')).toEqual({
      feature: 'Priority support',
      allowed: true,
      limit: null,
      used: null,
      remaining: null,
      hardLimit: null,
      reason: 'INCLUDED',
    });
    // Basic's feature, not Pro's; and something no plan has.
    expect(await entitlement('pat', '1 workspace')).toMatchObject({ allowed: false, reason: 'NOT_IN_PLAN' });
    expect(await entitlement('pat', 'Teleportation')).toMatchObject({ allowed: false, reason: 'NOT_IN_PLAN', limit: null });
    // A meter of another plan (storage_gb is on capped_monthly only).
    expect(await entitlement('pat', 'storage_gb')).toMatchObject({ allowed: false, reason: 'NOT_IN_PLAN' });
    expect(errorOf(await gw.gql(ENTITLEMENT, { feature: '' }, tokens.pat))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'feature' });
  });

  it('a meter under its included units, then over them (overage billed, still allowed)', async () => {
    expect(await entitlement('pat', 'api_calls')).toEqual({ feature: 'api_calls', allowed: true, limit: 10_000, used: 0, remaining: 10_000, hardLimit: null, reason: 'WITHIN_INCLUDED' });
    await use('pat', 'api_calls', 9_000);
    expect(await entitlement('pat', 'api_calls')).toMatchObject({ allowed: true, used: 9_000, remaining: 1_000, reason: 'WITHIN_INCLUDED' });
    await use('pat', 'api_calls', 1_500);
    expect(await entitlement('pat', 'api_calls')).toMatchObject({ allowed: true, limit: 10_000, used: 10_500, remaining: 0, reason: 'OVERAGE_BILLED' });
  });

  it('a meter with a hard cap: allowed up to the cap, denied at it', async () => {
    await use('cap', 'api_calls', 3);
    expect(await entitlement('cap', 'api_calls')).toEqual({ feature: 'api_calls', allowed: true, limit: 5, used: 3, remaining: 2, hardLimit: 8, reason: 'WITHIN_INCLUDED' });
    await use('cap', 'api_calls', 4);
    expect(await entitlement('cap', 'api_calls')).toMatchObject({ allowed: true, used: 7, remaining: 0, reason: 'OVERAGE_BILLED' });
    await use('cap', 'api_calls', 1);
    expect(await entitlement('cap', 'api_calls')).toMatchObject({ allowed: false, used: 8, remaining: 0, hardLimit: 8, reason: 'LIMIT_REACHED' });
    // Plans show the cap.
    const plans = (await gw.gql(`{ plans { id meters { meter included hardLimit } } }`)).data!.plans as { id: string; meters: { meter: string; hardLimit: number | null }[] }[];
    expect(plans.find((p) => p.id === 'capped_monthly')!.meters).toEqual([
      { meter: 'api_calls', included: 5, hardLimit: 8 },
      { meter: 'storage_gb', included: 100, hardLimit: null },
    ]);
    expect(plans.find((p) => p.id === 'pro_monthly')!.meters[0]!.hardLimit).toBeNull();
    // The other meter and the features are unaffected.
    expect(await entitlement('cap', 'storage_gb')).toMatchObject({ allowed: true, reason: 'WITHIN_INCLUDED', limit: 100 });
    const list = (await gw.gql(ENTITLEMENTS, {}, tokens.cap)).data!.customer.entitlements;
    expect(list.map((e: { feature: string; allowed: boolean }) => [e.feature, e.allowed])).toEqual([
      ['API access', true],
      ['Capped support', true],
      ['api_calls', false],
      ['storage_gb', true],
    ]);
  });

  it('without a subscription nothing is allowed; admins name the customer, others are FORBIDDEN', async () => {
    const nobody = await gw.token('nobody');
    const r = await gw.gql(ENTITLEMENT, { feature: 'API access' }, nobody);
    expect(r.data!.entitlement).toMatchObject({ allowed: false, reason: 'NO_SUBSCRIPTION' });
    expect((await gw.gql(ENTITLEMENT, { feature: 'api_calls', customerId: 'cap' }, admin)).data!.entitlement).toMatchObject({ allowed: false, reason: 'LIMIT_REACHED' });
    expect((await gw.gql(ENTITLEMENT, { feature: 'api_calls', customerId: customers.cap }, admin)).data!.entitlement).toMatchObject({ used: 8 });
    expect(errorOf(await gw.gql(ENTITLEMENT, { feature: 'api_calls', customerId: 'cus_doesnotexist' }, admin))?.code).toBe('NOT_FOUND');
    expect(errorOf(await gw.gql(ENTITLEMENT, { feature: 'api_calls', customerId: 'cap' }, tokens.pat))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(ENTITLEMENT, { feature: 'api_calls', customerId: customers.cap }, tokens.pat))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(ENTITLEMENT, { feature: 'api_calls' }))?.code).toBe('UNAUTHENTICATED');
  });
});

describe('access states', () => {
  /** The rule (src/billing/usage/README.md), written out independently of the implementation. */
  function expectedAllowed(state: AccessStateValue, kind: 'feature' | 'meter'): boolean {
    if (state === 'NONE' || state === 'SUSPENDED') return false;
    if (state === 'SOFT_SUSPENDED') return kind === 'feature';
    return true;
  }

  /** Mirror states without a dunning case: unpaid → NONE, past_due (case not processed yet) → GRACE. */
  it('entitlements follow the access state of the mirrored subscription', async () => {
    const em = gw.orm.em.fork();
    await em.getConnection().execute(`update subscriptions set status = 'unpaid' where customer_id = ?`, [customers.gina]);
    await em.getConnection().execute(`update subscriptions set status = 'past_due' where customer_id = ?`, [customers.hank]);
    const states = await accessStatesOf(em, [customers.gina!, customers.hank!]);
    // No dunning case for either: unpaid grants nothing (NONE); past_due is a failure whose case is not
    // processed yet (GRACE): everything still allowed (src/billing/access/access-state.ts).
    expect(states.get(customers.gina!)).toBe('NONE');
    expect(states.get(customers.hank!)).toBe('GRACE');
    // Hank (Basic: 1,000 api_calls included) has reported no usage.
    const expectedReason = (sub: string, kind: 'feature' | 'meter') => (sub === 'gina' ? 'NO_SUBSCRIPTION' : kind === 'meter' ? 'WITHIN_INCLUDED' : 'INCLUDED');
    for (const sub of ['gina', 'hank']) {
      const state = states.get(customers[sub]!)!;
      const list = (await gw.gql(ENTITLEMENTS, {}, tokens[sub])).data!.customer.entitlements as { feature: string; allowed: boolean; reason: string }[];
      expect(list.length).toBeGreaterThan(1);
      expect(list.some((e) => e.feature === 'api_calls'), `${sub} lists its meter`).toBe(true);
      for (const e of list) {
        const kind = e.feature === 'api_calls' ? 'meter' : 'feature';
        expect(e.allowed, `${sub} (${state}) ${e.feature}`).toBe(expectedAllowed(state, kind));
        expect(e.reason, `${sub} (${state}) ${e.feature}`).toBe(expectedReason(sub, kind));
      }
      expect((await entitlement(sub, 'API access')).allowed).toBe(expectedAllowed(state, 'feature'));
    }
  });

  // SOFT_SUSPENDED and SUSPENDED, driven by dunning on the test clock: test/usage/entitlements-dunning.test.ts.
});

describe('lists of customers', () => {
  it('usage and entitlements of many customers cost the same statements as of one', async () => {
    const query = /* GraphQL */ `query ($first: Int) { customers(first: $first) { edges { node { id usage { quantity } entitlements { feature allowed } } } } }`;
    const one = await countStatements(gw.orm, () => gw.gql(query, { first: 1 }, admin));
    const all = await countStatements(gw.orm, () => gw.gql(query, { first: 50 }, admin));
    expect(one.result.errors).toBeUndefined();
    expect(all.result.errors).toBeUndefined();
    expect(all.result.data!.customers.edges.length).toBeGreaterThanOrEqual(4);
    expect(all.count).toBe(one.count);
  });
});
