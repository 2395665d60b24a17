/**
 * Root fields that fail on their own are nullable: one failing field answers null with its error,
 * and its siblings' data (and effects) survive in the same response.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeCustomer } from '../usage/support.js';
import { startLifecycleGateway, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('partial results', () => {
  it("a customer's { plans mrr } returns the plans plus one FORBIDDEN error", async () => {
    const token = await gw.token('partial_reader');
    const { data, errors } = await gw.gql(`{ plans { id } mrr { asOf } }`, {}, token);
    expect(data!.mrr).toBeNull();
    expect((data!.plans as { id: string }[]).map((p) => p.id)).toEqual(expect.arrayContaining(['basic_monthly', 'pro_monthly', 'pro_yearly', 'enterprise']));
    expect(errors).toHaveLength(1);
    expect(errors![0]).toMatchObject({ path: ['mrr'], extensions: { code: 'FORBIDDEN' } });
  });

  it("a mutation whose second field fails returns the first field's record with the second's error", async () => {
    const { token } = await subscribeCustomer(gw, 'partial_writer', 'pro_monthly');
    const { data, errors } = await gw.gql(
      `mutation {
        a: reportUsage(input: { meter: "api_calls", quantity: 3, idempotencyKey: "partial-1" }) { id quantity duplicate }
        b: cancel(input: { subscriptionId: "sub_does_not_exist" }) { id }
      }`,
      {},
      token,
    );
    expect(data!.a).toMatchObject({ quantity: 3, duplicate: false });
    expect(data!.a.id).toEqual(expect.any(String));
    expect(data!.b).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors![0]!.path).toEqual(['b']);
    expect(errors![0]!.extensions!.code).toMatch(/^(NOT_FOUND|FORBIDDEN)$/);
  });
});
