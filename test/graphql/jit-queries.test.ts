/**
 * Queries executed again are compiled by graphql-jit (src/graphql/jit-queries.ts). Each query here is
 * sent several times to the real gateway over HTTP: the first answer comes from graphql-js, the later
 * ones from the compiled query (an answer with errors from graphql-js again), and they must be the
 * same, byte for byte (data, errors with their path, locations and code, the HTTP status).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledAnswers, compiledOperations } from '../../src/graphql/jit-queries.js';
import { assertNoStack, startTestGateway, type TestGateway } from '../http/harness.js';
import { at, customer, invoice, PRICES, subscription } from '../reads/fixtures.js';

let gw: TestGateway;
let admin: string;

const compiledSoFar = async (outcome: 'compiled' | 'declined') =>
  (await compiledOperations.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
const answeredSoFar = async (outcome: 'answered' | 'errors') =>
  (await compiledAnswers.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

/** Sends `query` `times` times; returns the raw answers (status and body text). */
async function repeated(times: number, query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; text: string }[]> {
  const out: { status: number; text: string }[] = [];
  for (let i = 0; i < times; i++) {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    out.push({ status: res.status, text: await res.text() });
  }
  return out;
}

beforeAll(async () => {
  gw = await startTestGateway();
  const em = gw.orm.em.fork();
  customer(em, 'cus_jit', 'user_jit', at(1));
  customer(em, 'cus_other', 'user_other', at(2));
  subscription(em, { id: 'sub_jit', customerId: 'cus_jit', status: 'active', planId: 'basic_monthly', price: PRICES.basic, quantity: 2, createdAt: at(1) });
  for (let i = 0; i < 3; i++) {
    invoice(em, { id: `in_jit_${i}`, customerId: 'cus_jit', total: 100 + i, createdAt: at(100 + i), lines: [{ description: `line ${i}`, amount: 100 + i }, { description: 'free', amount: 0 }] });
  }
  await em.flush();
  admin = await gw.token('ops', { role: 'admin' });
});
afterAll(async () => {
  await gw?.close();
});

describe('operations executed again', () => {
  it('answer a nested read the same once compiled: lists, enums, money, dates, null leaves, pages', async () => {
    const query = /* GraphQL */ `
      query Read($id: ID, $first: Int) {
        customer(id: $id) {
          id externalId email createdAt metadata
          subscriptions { id status quantity plan { id interval price { amount currency formatted } } }
          invoices(first: $first) {
            totalCount
            pageInfo { hasNextPage endCursor }
            edges { cursor node { id number status dueDate paidAt createdAt total { amount currency formatted } lines { description amount { amount } } } }
          }
        }
      }
    `;
    const before = await compiledSoFar('compiled');
    const answeredBefore = await answeredSoFar('answered');
    const answers = await repeated(3, query, { id: 'cus_jit', first: 2 }, admin);
    expect(await compiledSoFar('compiled')).toBe(before + 1);
    // The second and third answers came from the compiled query.
    expect(await answeredSoFar('answered')).toBe(answeredBefore + 2);
    expect(answers[0]!.status).toBe(200);
    const body = JSON.parse(answers[0]!.text) as { data: { customer: { invoices: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } } } };
    expect(body.data.customer.invoices.edges).toHaveLength(2);
    expect(body.data.customer.invoices.pageInfo.hasNextPage).toBe(true);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('give the same errors once compiled: a refused read keeps its message, path, locations and code', async () => {
    const token = await gw.token('user_other');
    const query = /* GraphQL */ `
      query Theirs($id: ID) { customer(id: $id) { id invoices(first: 1) { totalCount } } }
    `;
    const withErrors = await answeredSoFar('errors');
    const answers = await repeated(3, query, { id: 'cus_jit' }, token);
    // Compiled, run, and answered again by graphql-js for the second and third.
    expect(await answeredSoFar('errors')).toBe(withErrors + 2);
    const body = JSON.parse(answers[0]!.text) as { errors?: { path?: string[]; extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.path).toEqual(['customer']);
    assertNoStack(body);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('refuse bad variables the same way once compiled (status and message)', async () => {
    const query = /* GraphQL */ `
      query Page($first: Int) { customers(first: $first) { totalCount } }
    `;
    const answers = await repeated(3, query, { first: 'ten' }, admin);
    expect(answers[0]!.status).toBe(400);
    expect(JSON.parse(answers[0]!.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('compile nothing for a query sent once', async () => {
    const before = (await compiledSoFar('compiled')) + (await compiledSoFar('declined'));
    const [answer] = await repeated(1, `{ plans { id name } }`);
    expect(answer!.status).toBe(200);
    expect((await compiledSoFar('compiled')) + (await compiledSoFar('declined'))).toBe(before);
  });

  it('never compile a query that changes something or calls Stripe, however often it is sent', async () => {
    const service = await gw.token('svc', { role: 'service' });
    const before = { compiled: await compiledSoFar('compiled'), declined: await compiledSoFar('declined') };
    const answered = (await answeredSoFar('answered')) + (await answeredSoFar('errors'));
    const verify = await repeated(3, `query Verify($key: String!) { verifyApiKey(key: $key) { valid code } }`, { key: 'bg_test_nosuchkey' }, service);
    expect(JSON.parse(verify[2]!.text).data.verifyApiKey).toEqual({ valid: false, code: 'NOT_FOUND' });
    await repeated(3, `query Preview($id: ID!) { upcomingInvoice(subscriptionId: $id) { id } }`, { id: 'sub_jit' }, admin);
    expect(await compiledSoFar('compiled')).toBe(before.compiled);
    expect(await compiledSoFar('declined')).toBe(before.declined + 2);
    expect((await answeredSoFar('answered')) + (await answeredSoFar('errors'))).toBe(answered);
  });

  it('never compile a mutation, however often it is sent', async () => {
    const before = (await compiledSoFar('compiled')) + (await compiledSoFar('declined'));
    const mutation = /* GraphQL */ `
      mutation Report($input: ReportUsageInput!) { reportUsage(input: $input) { quantity } }
    `;
    const answers = await repeated(3, mutation, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'jit-1' } });
    expect(JSON.parse(answers[2]!.text).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await compiledSoFar('compiled')) + (await compiledSoFar('declined'))).toBe(before);
  });
});
