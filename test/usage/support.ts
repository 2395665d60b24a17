/** What the usage tests share: a catalog with a hard-capped plan, and the GraphQL documents. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_PATH } from '../../src/catalog.js';
import { expect } from 'vitest';
import { CLOCK_START, SUBSCRIBE, type LifecycleGateway } from '../lifecycle/harness.js';

/**
 * The default catalog plus `capped_monthly` ($3/month, product `capped`): api_calls with 5 included
 * and a hard cap of 8, and a second meter `storage_gb` (100 included, no cap) that no other plan has.
 * Written to a temp dir of its own (the lifecycle harness removes that dir on close).
 */
export function catalogWithCappedPlan(): string {
  const catalog = JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8')) as { products: unknown[]; meters: unknown[]; plans: unknown[] };
  catalog.products.push({ id: 'capped', name: 'Capped' });
  catalog.meters.push({ id: 'storage_gb', displayName: 'Storage (GB)', eventName: 'storage_gb', aggregation: 'sum' });
  catalog.plans.push({
    id: 'capped_monthly',
    name: 'Capped',
    product: 'capped',
    price: { amount: 300, currency: 'usd' },
    interval: 'month',
    perSeat: false,
    selfServe: true,
    features: ['API access', 'Capped support'],
    meters: [
      { meter: 'api_calls', included: 5, unitAmountDecimal: '0.5', limit: 8 },
      { meter: 'storage_gb', included: 100, unitAmountDecimal: '1' },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'bg-usage-catalog-'));
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

/** An ISO time `days` after the lifecycle clock's start (2026-03-01T00:00:00Z). */
export const day = (days: number) => new Date((CLOCK_START + days * 86_400) * 1000).toISOString();

export const REPORT = /* GraphQL */ `
  mutation ($input: ReportUsageInput!) { reportUsage(input: $input) { id meter quantity timestamp idempotencyKey duplicate } }
`;
export const REPORT_BATCH = /* GraphQL */ `
  mutation ($input: [ReportUsageInput!]!) { reportUsageBatch(input: $input) { id meter quantity timestamp idempotencyKey duplicate } }
`;
export const USAGE = /* GraphQL */ `
  query ($id: ID, $meter: String) { customer(id: $id) { id usage(meter: $meter) { meter periodStart periodEnd quantity included overage } } }
`;
export const ENTITLEMENT = /* GraphQL */ `
  query ($feature: String!, $customerId: ID) { entitlement(feature: $feature, customerId: $customerId) { feature allowed limit used remaining hardLimit reason } }
`;
export const ENTITLEMENTS = /* GraphQL */ `
  query ($id: ID) { customer(id: $id) { id entitlements { feature allowed limit used remaining hardLimit reason } } }
`;

export const errorOf = (r: { errors?: { extensions?: Record<string, any> }[] }) => r.errors?.[0]?.extensions ?? null;

/** A customer token for `sub` and its subscription to `plan` with the test card. */
export async function subscribeCustomer(gw: LifecycleGateway, sub: string, plan: string): Promise<{ token: string; customerId: string }> {
  const token = await gw.token(sub, { email: `${sub}@example.com` });
  const r = await gw.gql(SUBSCRIBE, { input: { plan, paymentMethod: 'pm_card_visa' } }, token);
  expect(r.errors).toBeUndefined();
  return { token, customerId: r.data!.subscribe.subscription.customer.id };
}

/** The customers a test subscribes, by name: each one's token and Stripe customer id once subscribed. */
export function customerBook(gw: () => LifecycleGateway) {
  const tokens: Record<string, string> = {};
  const customers: Record<string, string> = {};
  return {
    tokens,
    customers,
    async subscribe(sub: string, plan: string): Promise<void> {
      const subscribed = await subscribeCustomer(gw(), sub, plan);
      tokens[sub] = subscribed.token;
      customers[sub] = subscribed.customerId;
    },
  };
}
