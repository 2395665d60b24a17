/** Query.node resolves every type with a Stripe id, for its owner and admins only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;
let owner: string;
let ids: { customer: string; subscription: string; invoice: string };

const NODE = /* GraphQL */ `
  query ($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Customer { externalId }
      ... on BillingSubscription { status plan { id } }
      ... on Invoice { invoiceStatus: status total { amount } }
    }
  }
`;

beforeAll(async () => {
  gw = await startLifecycleGateway();
  owner = await gw.token('node_owner', { email: 'node@example.com' });
  const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, owner);
  expect(errors).toBeUndefined();
  const sub = data!.subscribe.subscription;
  ids = { customer: sub.customer.id, subscription: sub.id, invoice: sub.latestInvoice.id };
});
afterAll(async () => {
  await gw?.close();
});

describe('Query.node', () => {
  it('resolves a customer, a subscription and an invoice by id, for the owner and for an admin', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    for (const token of [owner, admin]) {
      const c = await gw.gql(NODE, { id: ids.customer }, token);
      expect(c.errors).toBeUndefined();
      expect(c.data!.node).toEqual({ __typename: 'Customer', id: ids.customer, externalId: 'node_owner' });
      const s = await gw.gql(NODE, { id: ids.subscription }, token);
      expect(s.errors).toBeUndefined();
      expect(s.data!.node).toEqual({ __typename: 'BillingSubscription', id: ids.subscription, status: 'ACTIVE', plan: { id: 'basic_monthly' } });
      const i = await gw.gql(NODE, { id: ids.invoice }, token);
      expect(i.errors).toBeUndefined();
      expect(i.data!.node).toEqual({ __typename: 'Invoice', id: ids.invoice, invoiceStatus: 'PAID', total: { amount: 100 } });
    }
  });

  it("answers null for an unknown id and FORBIDDEN for another customer's objects", async () => {
    const other = await gw.token('node_stranger');
    const unknown = await gw.gql(NODE, { id: 'sub_unknown' }, owner);
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data!.node).toBeNull();
    for (const id of [ids.customer, ids.subscription, ids.invoice]) {
      const r = await gw.gql(NODE, { id }, other);
      expect(r.data!.node).toBeNull();
      expect(r.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    }
    const anonymous = await gw.gql(NODE, { id: ids.subscription });
    expect(anonymous.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});
