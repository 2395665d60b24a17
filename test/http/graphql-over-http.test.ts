/**
 * GraphQL over HTTP: what Apollo itself refuses reaches the client as Apollo says it, subscriptions
 * over POST are a 4xx, and production does not map the schema through "Did you mean" suggestions.
 */
import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { assertNoStack, startTestGateway, type TestGateway } from './harness.js';

/** The errors of `query` sent over graphql-ws. */
async function overWebSocket(gw: TestGateway, query: string): Promise<{ message: string }[]> {
  const authorization = `Bearer ${await gw.token('ops', { role: 'admin' })}`;
  const client = createClient({ url: gw.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization } });
  try {
    return await new Promise((resolve, reject) => client.subscribe({ query }, { next: () => reject(new Error('answered')), error: (e) => resolve(e as { message: string }[]), complete: () => {} }));
  } finally {
    await client.dispose();
  }
}

let db: TestOrm;
beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(async () => {
  await db?.dispose();
});

describe('GraphQL over HTTP', () => {
  it('a subscription operation sent over POST gets 400 with a clear message, token or not', async () => {
    const gw = await startTestGateway({}, { orm: db.orm });
    try {
      for (const token of [undefined, await gw.token('ops', { role: 'admin' })]) {
        const { status, body } = await gw.gql('subscription { billingEvents { type } }', {}, token);
        expect(status).toBe(400);
        expect(body.data ?? null).toBeNull();
        expect(body.errors).toEqual([
          {
            message: 'Subscription operations are served over WebSocket (graphql-ws, the graphql-transport-ws protocol) at this path, not over HTTP',
            extensions: { code: 'BAD_REQUEST' },
          },
        ]);
      }
    } finally {
      await gw.close();
    }
  });

  it("an APQ hash that does not match its query gets Apollo's own message", async () => {
    const gw = await startTestGateway({}, { orm: db.orm });
    try {
      const query = '{ plans { id } }';
      const post = (sha256Hash: string) =>
        fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
        });
      const wrong = await post('0'.repeat(64));
      expect(wrong.status).toBe(400);
      const body = await wrong.json();
      expect(body).toEqual({ errors: [{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }] });
      assertNoStack(body);
      // The right hash registers and answers.
      const right = await post(createHash('sha256').update(query).digest('hex'));
      expect(right.status).toBe(200);
      expect(((await right.json()) as { data: { plans: unknown[] } }).data.plans).toHaveLength(4);
    } finally {
      await gw.close();
    }
  });

  it('production hides schema suggestions ("Did you mean …"); development keeps them', async () => {
    const typo = '{ plan { id } }';
    const dev = await startTestGateway({}, { orm: db.orm });
    try {
      const { body } = await dev.gql(typo);
      expect(body.errors![0]!.message).toMatch(/Did you mean "plans"\?/);
      expect((await overWebSocket(dev, typo))[0]!.message).toMatch(/Did you mean "plans"\?/);
    } finally {
      await dev.close();
    }
    const prod = await startTestGateway({ NODE_ENV: 'production' }, { orm: db.orm });
    try {
      const { status, body } = await prod.gql(typo);
      expect(status).toBe(400);
      expect(body.errors![0]!.message).toBe('Cannot query field "plan" on type "Query".');
      expect(JSON.stringify(body)).not.toMatch(/Did you mean/);
      const badArg = await prod.gql('{ plans(firs: 1) { id } }');
      expect(JSON.stringify(badArg.body)).not.toMatch(/Did you mean/);
      // The same over WebSocket.
      expect(await overWebSocket(prod, typo)).toEqual([expect.objectContaining({ message: 'Cannot query field "plan" on type "Query".' })]);
    } finally {
      await prod.close();
    }
  });
});
