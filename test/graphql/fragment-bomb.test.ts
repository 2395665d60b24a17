/**
 * A small document whose fragments spread each other twice per level must not hold the process:
 * the limits measure each fragment once. The compiled gateway runs as its own process, so the test
 * sees from outside whether it still serves `/healthz` while the bomb is being answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

/** `{ ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment F<n> on Query { plans { id } }`: 2^n `plans` when expanded. */
function fragmentBomb(levels: number): string {
  const parts = ['{ ...F0 }'];
  for (let i = 0; i < levels; i++) parts.push(`fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${levels} on Query { plans { id } }`);
  return parts.join(' ');
}

let gw: GatewayProcess;
beforeAll(async () => {
  gw = await startGatewayProcess();
}, 60_000);
afterAll(async () => {
  // SIGKILL: a gateway stuck in the walk would never finish a graceful stop.
  await gw?.stop({ kill: true });
});

describe('fragment bomb', () => {
  it('is refused as too expensive while /healthz is still served', async () => {
    // 40 levels: 2^40 expansions, far beyond any time a walk per spread could finish in.
    const query = fragmentBomb(40);
    expect(query.length).toBeLessThan(2048);
    const bomb = fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    const res = await bomb;
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.message).toMatch(/^Query is too expensive: estimated cost \d+ exceeds the maximum of 20000/);
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost' });
    // Still answering afterwards.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('counts depth through fragments, memoised, before cost', async () => {
    const nested = `{ ...A } fragment A on Query { customer { ...B } } fragment B on Customer { subscriptions { ...C ...C } } fragment C on BillingSubscription { customer { subscriptions { customer { subscriptions { customer { subscriptions { customer { subscriptions { id } } } } } } } } }`;
    const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: nested }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toBe('Query is too deep: depth 11 exceeds the maximum of 10');
  });
});
