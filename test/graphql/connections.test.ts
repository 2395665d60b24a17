/**
 * Every list that can grow pages both ways over HTTP: forward with first/after and backward with
 * last/before, with an exact pageInfo at every step, the same cursors both ways, totalCount and
 * nodes. Also Query.node for each type read from the mirror, the derived ids, and the cost rule
 * counting `last`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice, PRICES, subscription } from '../reads/fixtures.js';

let gw: TestGateway;
let admin: string;
let alice: string;

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: { cursor: string; node: { id: string } }[];
  nodes: { id: string }[];
}

const PAGE_FIELDS = 'totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id }';

/** A query whose connection sits at `path` in the answer, with $first/$after/$last/$before. */
interface ListCase {
  name: string;
  query: string;
  path: string[];
  token: () => string;
  expected: string[];
  variables?: Record<string, unknown>;
}

const VARS = '$first: Int, $after: String, $last: Int, $before: String';
const ARGS = 'first: $first, after: $after, last: $last, before: $before';

async function page(c: ListCase, args: Record<string, unknown>): Promise<Page> {
  const { status, body } = await gw.gql(c.query, { ...c.variables, ...args }, c.token());
  expect(body.errors, `${c.name} ${JSON.stringify(args)}`).toBeUndefined();
  expect(status).toBe(200);
  let value: any = body.data;
  for (const key of c.path) value = value[key];
  return value as Page;
}

const ids = (p: Page) => p.edges.map((e) => e.node.id);

/** Walks the whole list forward by 2, then backward by 2 from the end, checking every pageInfo. */
async function walkBothWays(c: ListCase): Promise<void> {
  const n = c.expected.length;
  const forward: Page[] = [];
  let after: string | null = null;
  do {
    const p = await page(c, { first: 2, after });
    forward.push(p);
    after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
  } while (after && forward.length <= n);
  expect(forward.flatMap(ids), c.name).toEqual(c.expected);
  forward.forEach((p, i) => {
    expect(p.totalCount).toBe(n);
    expect(p.nodes.map((x) => x.id)).toEqual(ids(p));
    expect(p.pageInfo, `${c.name} forward page ${i}`).toEqual({
      hasNextPage: i < forward.length - 1,
      hasPreviousPage: i > 0,
      startCursor: p.edges[0]!.cursor,
      endCursor: p.edges.at(-1)!.cursor,
    });
  });

  const backward: Page[] = [];
  let before: string | null = null;
  do {
    const p = await page(c, { last: 2, before });
    backward.unshift(p);
    before = p.pageInfo.hasPreviousPage ? p.pageInfo.startCursor : null;
  } while (before && backward.length <= n);
  expect(backward.flatMap(ids), c.name).toEqual(c.expected);
  backward.forEach((p, i) => {
    expect(p.pageInfo, `${c.name} backward page ${i}`).toEqual({
      hasNextPage: i < backward.length - 1,
      hasPreviousPage: i > 0,
      startCursor: p.edges[0]!.cursor,
      endCursor: p.edges.at(-1)!.cursor,
    });
  });
  // A cursor names the same position whichever way it was handed out.
  const cursorsForward = forward.flatMap((p) => p.edges.map((e) => e.cursor));
  expect(backward.flatMap((p) => p.edges.map((e) => e.cursor))).toEqual(cursorsForward);

  // Backward from a cursor in the middle, and forward up to one.
  const mid = cursorsForward[3]!;
  const back = await page(c, { last: 2, before: mid });
  expect(ids(back)).toEqual(c.expected.slice(1, 3));
  expect(back.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
  const upTo = await page(c, { first: 10, before: mid });
  expect(ids(upTo)).toEqual(c.expected.slice(0, 3));
  expect(upTo.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  // Backward within a range opened by after: what precedes after still counts as previous.
  const within = await page(c, { last: 10, after: cursorsForward[0] });
  expect(ids(within)).toEqual(c.expected.slice(1));
  expect(within.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
  const beyond = await page(c, { first: 10, after: cursorsForward.at(-1) });
  expect(beyond.edges).toEqual([]);
  expect(beyond.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
}

const SUBS_ALICE = ['sub_a5', 'sub_a4b', 'sub_a4a', 'sub_a2', 'sub_a1'];
const SUBS_ALL = ['sub_b2', 'sub_b1', ...SUBS_ALICE];
const INVOICES_ALICE = ['in_5', 'in_4', 'in_3', 'in_2', 'in_1'];
const CUSTOMERS = ['cus_e', 'cus_d', 'cus_c', 'cus_bob', 'cus_alice'];
const KEYS = ['key_1', 'key_2', 'key_3', 'key_4', 'key_5'];
const PARKED = ['evt_p5', 'evt_p4', 'evt_p3', 'evt_p2', 'evt_p1'];

beforeAll(async () => {
  gw = await startTestGateway();
  admin = await gw.token('ops', { role: 'admin' });
  alice = await gw.token('user_alice');
  const em = gw.orm.em.fork();
  customer(em, 'cus_alice', 'user_alice', at(1));
  customer(em, 'cus_bob', 'user_bob', at(2));
  customer(em, 'cus_c', 'user_c', at(3));
  customer(em, 'cus_d', 'user_d', at(4));
  customer(em, 'cus_e', 'user_e', at(5));
  const sub = (id: string, customerId: string, seconds: number) =>
    subscription(em, { id, customerId, status: 'active', planId: 'basic_monthly', price: PRICES.basic, quantity: 1, createdAt: at(seconds) });
  sub('sub_a1', 'cus_alice', 10);
  sub('sub_a2', 'cus_alice', 20);
  // Same createdAt: the id breaks the tie.
  sub('sub_a4a', 'cus_alice', 40);
  sub('sub_a4b', 'cus_alice', 40);
  sub('sub_a5', 'cus_alice', 50);
  sub('sub_b1', 'cus_bob', 60);
  sub('sub_b2', 'cus_bob', 70);
  for (let i = 1; i <= 5; i++) {
    invoice(em, {
      id: `in_${i}`,
      customerId: 'cus_alice',
      total: 100 * i,
      createdAt: at(100 + i),
      lines: i === 1 ? [1, 2, 3, 4, 5].map((n) => ({ description: `line ${n}`, amount: n })) : [],
    });
  }
  await em.flush();
  const sql = (text: string) => gw.orm.em.getConnection().execute(text);
  // Within one millisecond: cursors carry PostgreSQL's microseconds, so the order survives paging.
  await sql(`insert into api_keys (id, customer_id, name, prefix, hash, created_at) values
    ${KEYS.map((k, i) => `('${k}', 'cus_alice', 'Key ${i + 1}', 'bg_${i}', 'hash_${k}', '2026-03-01 00:00:00.00010${i}+00')`).join(', ')}`);
  await sql(`insert into webhook_events (id, type, stripe_created_at, object_id, payload, status, attempts, last_error, received_at) values
    ${PARKED.map((e, i) => `('${e}', 'invoice.paid', now(), 'in_1', '{}'::jsonb, 'parked', 8, 'Error: boom', '2026-03-01 00:00:01.00000${5 - i}+00')`).join(', ')},
    ('evt_done', 'invoice.paid', now(), 'in_1', '{}'::jsonb, 'processed', 1, null, '2026-03-01 00:00:02+00')`);
});
afterAll(async () => {
  await gw?.close();
});

describe('connections page forward and backward with an exact pageInfo', () => {
  const cases: ListCase[] = [
    { name: 'Query.customers', query: `query (${VARS}) { customers(${ARGS}) { ${PAGE_FIELDS} } }`, path: ['customers'], token: () => admin, expected: CUSTOMERS },
    {
      name: 'Query.invoices (customer)',
      query: `query (${VARS}) { invoices(${ARGS}) { ${PAGE_FIELDS} } }`,
      path: ['invoices'],
      token: () => alice,
      expected: INVOICES_ALICE,
    },
    {
      name: 'Query.invoices (admin, every customer)',
      query: `query (${VARS}) { invoices(${ARGS}) { ${PAGE_FIELDS} } }`,
      path: ['invoices'],
      token: () => admin,
      expected: INVOICES_ALICE,
    },
    {
      name: 'Customer.invoices',
      query: `query (${VARS}) { customer { invoices(${ARGS}) { ${PAGE_FIELDS} } } }`,
      path: ['customer', 'invoices'],
      token: () => alice,
      expected: INVOICES_ALICE,
    },
    {
      name: 'Query.subscriptionsConnection (admin, every customer)',
      query: `query (${VARS}) { subscriptionsConnection(${ARGS}) { ${PAGE_FIELDS} } }`,
      path: ['subscriptionsConnection'],
      token: () => admin,
      expected: SUBS_ALL,
    },
    {
      name: 'Query.subscriptionsConnection (customer: its own)',
      query: `query (${VARS}) { subscriptionsConnection(${ARGS}) { ${PAGE_FIELDS} } }`,
      path: ['subscriptionsConnection'],
      token: () => alice,
      expected: SUBS_ALICE,
    },
    {
      name: 'Customer.subscriptionsConnection',
      query: `query ($id: ID, ${VARS}) { customer(id: $id) { subscriptionsConnection(${ARGS}) { ${PAGE_FIELDS} } } }`,
      path: ['customer', 'subscriptionsConnection'],
      token: () => admin,
      variables: { id: 'cus_alice' },
      expected: SUBS_ALICE,
    },
    {
      name: 'Invoice.linesConnection',
      query: `query ($id: ID!, ${VARS}) { node(id: $id) { ... on Invoice { linesConnection(${ARGS}) { ${PAGE_FIELDS} } } } }`,
      path: ['node', 'linesConnection'],
      token: () => alice,
      variables: { id: 'in_1' },
      expected: [0, 1, 2, 3, 4].map((i) => `il_in_1_${i}`),
    },
    {
      name: 'Customer.apiKeysConnection',
      query: `query (${VARS}) { customer { apiKeysConnection(${ARGS}) { ${PAGE_FIELDS} } } }`,
      path: ['customer', 'apiKeysConnection'],
      token: () => alice,
      expected: KEYS,
    },
    {
      name: 'Query.parkedWebhookEventsConnection',
      query: `query (${VARS}) { parkedWebhookEventsConnection(${ARGS}) { ${PAGE_FIELDS} } }`,
      path: ['parkedWebhookEventsConnection'],
      token: () => admin,
      expected: PARKED,
    },
  ];
  for (const c of cases) it(c.name, () => walkBothWays(c));

  it('keeps the plain lists beside the connections, in the same order', async () => {
    const { body } = await gw.gql(`{ customer { subscriptions { id } apiKeys { id } invoices(first: 2) { nodes { id } edges { node { lines { id } } } } } }`, {}, alice);
    expect(body.errors).toBeUndefined();
    expect(body.data!.customer.subscriptions.map((s: { id: string }) => s.id)).toEqual(SUBS_ALICE);
    expect(body.data!.customer.apiKeys.map((k: { id: string }) => k.id)).toEqual(KEYS);
    expect(body.data!.customer.invoices.nodes).toEqual([{ id: 'in_5' }, { id: 'in_4' }]);
    const all = await gw.gql(`{ subscriptions(first: 3) { id } }`, {}, admin);
    expect(all.body.data!.subscriptions.map((s: { id: string }) => s.id)).toEqual(SUBS_ALL.slice(0, 3));
    // The plain lists are bounded by first, which the cost rule counts.
    const bounded = await gw.gql(`{ customer { subscriptions(first: 2) { id } invoices(last: 1) { nodes { lines(first: 2) { id } } } } }`, {}, alice);
    expect(bounded.body.errors).toBeUndefined();
    expect(bounded.body.data!.customer.subscriptions).toEqual([{ id: 'sub_a5' }, { id: 'sub_a4b' }]);
    expect(bounded.body.data!.customer.invoices.nodes).toEqual([{ lines: [{ id: 'il_in_1_0' }, { id: 'il_in_1_1' }] }]);
    const tooMany = await gw.gql(`{ customer { subscriptions(first: 101) { id } } }`, {}, alice);
    expect(tooMany.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('filters subscriptionsConnection by status and customer', async () => {
    const { body } = await gw.gql(`{ subscriptionsConnection(customerId: "cus_bob", status: [ACTIVE]) { totalCount nodes { id } } }`, {}, admin);
    expect(body.errors).toBeUndefined();
    expect(body.data!.subscriptionsConnection).toEqual({ totalCount: 2, nodes: [{ id: 'sub_b2' }, { id: 'sub_b1' }] });
    const none = await gw.gql(`{ subscriptionsConnection(status: [CANCELED]) { totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, {}, admin);
    expect(none.body.data!.subscriptionsConnection).toEqual({ totalCount: 0, nodes: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it('refuses bad page arguments with BAD_USER_INPUT naming the argument, and keeps the sibling fields', async () => {
    const bad = async (args: string, field: string) => {
      const { body } = await gw.gql(`{ plans { id } subscriptionsConnection(${args}) { totalCount } }`, {}, admin);
      assertNoStack(body);
      expect(body.data!.plans.length).toBeGreaterThan(0);
      expect(body.data!.subscriptionsConnection).toBeNull();
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    };
    await bad('first: 0', 'first');
    await bad('last: 101', 'last');
    await bad('after: "nope"', 'after');
    await bad('before: "bm9wZQ"', 'before');
    // An integer-keyed list's cursor is not a cursor of a time-ordered one.
    const line = await gw.gql(`{ node(id: "in_1") { ... on Invoice { linesConnection(first: 1) { pageInfo { endCursor } } } } }`, {}, alice);
    await bad(`after: "${line.body.data!.node.linesConnection.pageInfo.endCursor}"`, 'after');
  });

  it('keeps the lists to their readers', async () => {
    const forbidden = async (query: string, token: string) => {
      const { body } = await gw.gql(query, {}, token);
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    };
    await forbidden('{ parkedWebhookEventsConnection { totalCount } }', alice);
    await forbidden('{ subscriptionsConnection(customerId: "cus_bob") { totalCount } }', alice);
    const anonymous = await gw.gql('{ subscriptionsConnection { totalCount } }');
    expect(anonymous.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});

describe('Query.node and ids', () => {
  const NODE = /* GraphQL */ `
    query ($id: ID!) {
      node(id: $id) {
        __typename
        id
        ... on InvoiceLine { description amount { amount } }
        ... on ApiKey { name customer { id } }
        ... on ParkedWebhookEvent { type attempts }
        ... on Plan { name }
        ... on BillingSubscription { status }
        ... on Customer { externalId }
        ... on Invoice { total { amount } }
      }
    }
  `;

  it('resolves every type by its id', async () => {
    const expectNode = async (id: string, token: string, expected: Record<string, unknown>) => {
      const { body } = await gw.gql(NODE, { id }, token);
      expect(body.errors, id).toBeUndefined();
      expect(body.data!.node).toEqual({ id, ...expected });
    };
    await expectNode('cus_alice', alice, { __typename: 'Customer', externalId: 'user_alice' });
    await expectNode('sub_a1', alice, { __typename: 'BillingSubscription', status: 'ACTIVE' });
    await expectNode('in_2', alice, { __typename: 'Invoice', total: { amount: 200 } });
    await expectNode('il_in_1_2', alice, { __typename: 'InvoiceLine', description: 'line 3', amount: { amount: 3 } });
    await expectNode('key_3', alice, { __typename: 'ApiKey', name: 'Key 3', customer: { id: 'cus_alice' } });
    await expectNode('evt_p2', admin, { __typename: 'ParkedWebhookEvent', type: 'invoice.paid', attempts: 8 });
    await expectNode('pro_monthly', alice, { __typename: 'Plan', name: 'Pro' });
    // node(id:) needs a token, whatever the id; anonymous callers read plans through `plans`.
    const anonymous = await gw.gql(NODE, { id: 'basic_monthly' });
    expect(anonymous.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });

  it("answers null for unknown ids and FORBIDDEN for another customer's objects", async () => {
    const bob = await gw.token('user_bob');
    for (const id of ['il_in_1_0', 'key_1']) {
      const { body } = await gw.gql(NODE, { id }, bob);
      expect(body.data!.node, id).toBeNull();
      expect(body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    }
    const parked = await gw.gql(NODE, { id: 'evt_p1' }, alice);
    expect(parked.body.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    for (const id of ['il_unknown', 'key_unknown', 'evt_done', 'no_such_plan']) {
      const { body } = await gw.gql(NODE, { id }, admin);
      expect(body.errors, id).toBeUndefined();
      expect(body.data!.node, id).toBeNull();
    }
  });

  it('gives cacheable objects stable ids derived from what they describe', async () => {
    const q = `{ customer { entitlements { id feature } } entitlement(feature: "API access") { id } }`;
    const first = await gw.gql(q, {}, alice);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data!.entitlement.id).toBe('Entitlement:cus_alice:API access');
    for (const e of first.body.data!.customer.entitlements) expect(e.id).toBe(`Entitlement:cus_alice:${e.feature}`);
    expect((await gw.gql(q, {}, alice)).body.data).toEqual(first.body.data);
    const mrr = await gw.gql(`{ mrr { id } }`, {}, admin);
    expect(mrr.body.data!.mrr).toEqual({ id: 'MrrReport' });
    const revenue = await gw.gql(`{ revenue(from: "2026-03-01T00:00:00Z", to: "2026-03-02T00:00:00Z", interval: DAY) { id currency } }`, {}, admin);
    expect(revenue.body.errors).toBeUndefined();
    for (const p of revenue.body.data!.revenue) expect(p.id).toBe(`RevenuePoint:${p.currency}:2026-03-01T00:00:00.000Z:2026-03-02T00:00:00.000Z`);
  });
});

describe('the cost rule counts what a page can return', () => {
  const nested = (arg: 'first' | 'last') =>
    `{ customers(${arg}: 100) { nodes { subscriptionsConnection(${arg}: 100) { nodes { id status quantity currency createdAt } } } } }`;

  it('refuses a nested page by last as it does by first', async () => {
    for (const arg of ['first', 'last'] as const) {
      const { status, body } = await gw.gql(nested(arg), {}, admin);
      expect(status, arg).toBe(400);
      expect(body.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
    }
    const small = await gw.gql(`{ customers(last: 5) { nodes { subscriptionsConnection(last: 5) { nodes { id } } } } }`, {}, admin);
    expect(small.body.errors).toBeUndefined();
  });
});
