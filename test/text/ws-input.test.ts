/**
 * Over graphql-ws too, text PostgreSQL cannot hold is refused before anything runs: BAD_USER_INPUT
 * naming the argument (literal) or the variable path, and a token claim holding it closes the socket
 * as unauthenticated.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestGateway, type TestGateway } from '../http/harness.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** The errors the server answers a subscribe with (or the close event when the socket closes first). */
async function subscribeErrors(token: string, query: string, variables?: Record<string, unknown>): Promise<unknown> {
  const client = createClient({ url: gw.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  try {
    return await new Promise((resolve) => {
      client.subscribe({ query, variables }, { next: () => {}, error: resolve, complete: () => resolve('complete') });
    });
  } finally {
    await client.dispose();
  }
}

describe('graphql-ws input', () => {
  it('a U+0000 in a literal argument or a lone surrogate in a variable is BAD_USER_INPUT with its field', async () => {
    const admin = await gw.token('admin', { role: 'admin' });
    const literal = (await subscribeErrors(admin, 'subscription { billingEvents(customerId: "cus_\\u0000x") { id } }')) as { extensions?: Record<string, unknown> }[];
    expect(literal[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'customerId' });
    const variable = (await subscribeErrors(admin, 'subscription ($c: ID) { billingEvents(customerId: $c) { id } }', { c: 'user_\ud800' })) as {
      extensions?: Record<string, unknown>;
    }[];
    expect(variable[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'c' });
  });

  it('a token whose email holds U+0000 closes the socket as unauthenticated (4401)', async () => {
    const token = await gw.token('user_ws', { email: 'ws\u0000@example.com' });
    const closed = (await subscribeErrors(token, 'subscription { billingEvents { id } }')) as { code?: number };
    expect(closed.code).toBe(4401);
  });
});
