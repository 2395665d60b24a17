import { getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { formatGatewayError } from '../../src/graphql/errors.js';
import { GraphQLError } from 'graphql';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { assertNoStack, startTestGateway } from './harness.js';

let db: TestOrm;
beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(async () => {
  await db?.dispose();
});

describe('rate limits', () => {
  it('limits per address without a token and per token subject, with RATE_LIMITED and a retry-after hint', async () => {
    const gw = await startTestGateway({ RATE_LIMIT_PER_ADDRESS: '3', RATE_LIMIT_PER_TOKEN: '2', RATE_LIMIT_WINDOW_SECONDS: '60' }, { orm: db.orm });
    try {
      for (let i = 0; i < 3; i++) expect((await gw.gql('{ plans { id } }')).status).toBe(200);
      const limited = await gw.gql('{ plans { id } }');
      expect(limited.status).toBe(429);
      expect(limited.body.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
      const retryAfter = limited.body.errors![0]!.extensions!.retryAfter as number;
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers.get('retry-after')).toBe(String(retryAfter));

      // A token has its own budget, apart from the address.
      const alice = await gw.token('user_alice');
      expect((await gw.gql('{ plans { id } }', {}, alice)).status).toBe(200);
      expect((await gw.gql('{ plans { id } }', {}, alice)).status).toBe(200);
      expect((await gw.gql('{ plans { id } }', {}, alice)).body.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
      expect((await gw.gql('{ plans { id } }', {}, await gw.token('user_bob'))).status).toBe(200);

      // Operations over WebSocket share the token's budget.
      const client = createClient({ url: gw.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${alice}` }, retryAttempts: 0 });
      const result = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: '{ plans { id } }' }, { next: resolve, error: resolve, complete: () => {} });
      });
      await client.dispose();
      expect(result).toEqual([expect.objectContaining({ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } })]);

      // Non-GraphQL routes: HTTP 429 with Retry-After.
      const metrics = await fetch(`${gw.url}/metrics`);
      expect(metrics.status).toBe(429);
      expect(Number(metrics.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Probes are never rate limited.
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('production mode', () => {
  it('turns introspection and the Sandbox landing page off', async () => {
    const gw = await startTestGateway({ NODE_ENV: 'production' }, { orm: db.orm });
    try {
      const { status, body } = await gw.gql(getIntrospectionQuery());
      expect(status).toBe(400);
      expect(body.errors![0]!.message).toMatch(/introspection/i);
      const page = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/sandbox|<html/i);
      expect((await gw.gql('{ plans { id } }')).body.data!.plans).toHaveLength(4);
    } finally {
      await gw.close();
    }
  });
});

describe('CORS', () => {
  const preflight = (url: string, origin: string) =>
    fetch(`${url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });

  it('lets any browser origin call /graphql outside production', async () => {
    const gw = await startTestGateway({}, { orm: db.orm });
    try {
      const res = await preflight(gw.url, 'http://localhost:3000');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    } finally {
      await gw.close();
    }
  });

  it('in production allows only CORS_ORIGINS (none by default)', async () => {
    const closed = await startTestGateway({ NODE_ENV: 'production' }, { orm: db.orm });
    const listed = await startTestGateway({ NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example.com' }, { orm: db.orm });
    try {
      expect((await preflight(closed.url, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(listed.url, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect((await preflight(listed.url, 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await closed.close();
      await listed.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, refuses new ones and closes WebSockets with 1001', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => (entered = r));
    const gw = await startTestGateway({}, {
      orm: db.orm,
      mountBeforeJson: (app) => {
        app.get('/slow', async (_req, res) => {
          entered();
          await released;
          res.json({ done: true });
        });
      },
    });
    const closeCodes: number[] = [];
    const client = createClient({
      url: gw.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${await gw.token('user_ws')}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
      on: { closed: (e) => closeCodes.push((e as { code: number }).code) },
    });
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));

    const slow = fetch(`${gw.url}/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await inFlight;
    const closing = gw.server.close();
    // The in-flight request is still answered...
    release();
    expect(await slow).toEqual({ status: 200, body: { done: true } });
    await closing;
    // ...the socket got 1001, and nothing new is accepted.
    expect(closeCodes).toEqual([1001]);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    await client.dispose();
  });
});

describe('error masking', () => {
  it('masks unexpected errors: no stack, no SQL, no secret', () => {
    const original = new Error('select * from customers where key = sk_test_123 -- syntax error');
    const wrapped = new GraphQLError(original.message, { path: ['customer'], originalError: original });
    const out = formatGatewayError({ ...wrapped.toJSON(), extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x (y.ts:1:1)'] } }, wrapped);
    expect(out).toEqual({ message: 'Internal server error', path: ['customer'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    assertNoStack(out);
  });
});
