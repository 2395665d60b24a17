import { getIntrospectionQuery } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Customer } from '../../src/db/entities/customer.js';
import { connectEagerly } from '../support/ws-client.js';
import { assertNoStack, startTestGateway, type TestGateway } from './harness.js';

let gw: TestGateway;
const dbUp = { value: true };

beforeAll(async () => {
  gw = await startTestGateway(
    { BODY_LIMIT_BYTES: '4096', GRAPHQL_MAX_DEPTH: '3', GRAPHQL_MAX_COST: '200' },
    {
      checkDatabase: async () => {
        if (!dbUp.value) throw new Error('db down');
      },
    },
  );
  const em = gw.orm.em.fork();
  em.create(Customer, { id: 'cus_ws', externalId: 'user_ws', email: 'ws@example.com', createdAt: new Date('2026-01-01T00:00:00Z'), raw: {} as never });
  await em.flush();
});
afterAll(async () => {
  await gw?.close();
});

describe('probes and metrics', () => {
  it('/healthz answers ok', async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 200 when the database and Stripe answer, else 503 naming the failure', async () => {
    const ok = await fetch(`${gw.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready', checks: { database: 'ok', migrations: 'ok', sync: 'ok', stripe: 'ok' } });

    gw.stripeUp.value = false;
    const stripeDown = await fetch(`${gw.url}/readyz`);
    expect(stripeDown.status).toBe(503);
    expect(await stripeDown.json()).toMatchObject({ failed: ['stripe'], checks: { database: 'ok', stripe: 'failed' } });
    gw.stripeUp.value = true;

    dbUp.value = false;
    const dbDown = await fetch(`${gw.url}/readyz`);
    expect(dbDown.status).toBe(503);
    expect(await dbDown.json()).toMatchObject({ failed: ['database'] });
    dbUp.value = true;
  });

  it('/metrics serves request counts, latencies and the live subscriber gauge', async () => {
    await gw.gql('{ plans { id } }');
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/graphql",status="200"\} \d+/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0\.1",method="POST",route="\/graphql",status="200"\} \d+/);
    expect(text).toMatch(/graphql_ws_live_subscribers \d+/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
  });
});

describe('bad input over HTTP', () => {
  it('malformed GraphQL → 400 with a GraphQL error', async () => {
    const { status, body } = await gw.gql('{ plans { id }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('GRAPHQL_PARSE_FAILED');
    assertNoStack(body);
  });

  it('malformed JSON → 400 with a GraphQL-shaped error', async () => {
    const res = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    assertNoStack(body);
  });

  it('an unknown field → 400 validation error', async () => {
    const { status, body } = await gw.gql('{ nope }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('an oversized body → 413', async () => {
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ plans { id } } # ${'x'.repeat(5000)}` }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toBe('Request body too large: the limit is 4096 bytes');
    assertNoStack(body);
  });

  it('too deep a query → a clear validation error', async () => {
    const admin = await gw.token('ops', { role: 'admin' });
    const { status, body } = await gw.gql('{ customers(first: 1) { pageInfo { endCursor } edges { cursor } } plans { price { currency } } }', {}, admin);
    expect(status).toBe(200);
    const deep = await gw.gql('query Deep { customers(first: 1) { pageInfo { endCursor } edges { node { id } } } }', {}, admin);
    expect(deep.status).toBe(400);
    expect(deep.body.errors![0]!.message).toBe('Query "Deep" is too deep: depth 4 exceeds the maximum of 3');
    expect(deep.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors).toBeUndefined();
    // Fragments count too.
    const viaFragment = await gw.gql('{ customers { ...C } } fragment C on CustomerConnection { edges { node { id } } }', {}, admin);
    expect(viaFragment.status).toBe(400);
    expect(viaFragment.body.errors![0]!.message).toMatch(/too deep/);
  });

  it('too expensive a query → a clear validation error', async () => {
    const { status, body } = await gw.gql('{ customers(first: 100) { edges { cursor } } }');
    expect(status).toBe(400);
    expect(body.errors![0]!.message).toMatch(/^Query is too expensive: estimated cost 201 exceeds the maximum of 200/);
    // Page sizes given as variables are priced with their values.
    const admin = await gw.token('ops', { role: 'admin' });
    const q = 'query ($n: Int) { customers(first: $n) { edges { cursor } } }';
    expect((await gw.gql(q, { n: 10 }, admin)).status).toBe(200);
    const big = await gw.gql(q, { n: 100 }, admin);
    expect(big.status).toBe(400);
    expect(big.body.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'cost', cost: 201 });
  });

  it("applies Apollo's CSRF prevention to simple requests", async () => {
    const res = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ plans { id } }')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/);
    const allowed = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ plans { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(allowed.status).toBe(200);
  });

  it('unknown routes → 404 JSON', async () => {
    const res = await fetch(`${gw.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
  });

  it('serves introspection and the Sandbox landing page outside production', async () => {
    const { status, body } = await gw.gql(getIntrospectionQuery());
    expect(status).toBe(200);
    expect(body.data!.__schema.queryType.name).toBe('Query');
    const page = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });
});

function wsClient(connectionParams: Record<string, unknown> | undefined, onClosed: (code: number) => void = () => {}): Client {
  return createClient({
    url: gw.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    on: { closed: (e) => onClosed((e as { code: number }).code) },
  });
}

/** The first result of a query (the server completes it), or the close code when the socket closes first. */
function firstResult(client: Client, query: string): Promise<unknown> {
  return new Promise((resolve) => {
    client.subscribe(
      { query },
      {
        next: resolve,
        error: (e) => resolve(Array.isArray(e) ? { errors: e } : { closed: (e as { code?: number }).code }),
        complete: () => {},
      },
    );
  });
}

describe('graphql-ws', () => {
  it('accepts a good token and puts its viewer in the context', async () => {
    const codes: number[] = [];
    const client = wsClient({ authorization: `Bearer ${await gw.token('user_ws')}` }, (c) => codes.push(c));
    try {
      expect(await firstResult(client, '{ customer { id externalId } }')).toEqual({ data: { customer: { id: 'cus_ws', externalId: 'user_ws' } } });
      const forbidden = (await firstResult(client, '{ customer(id: "cus_other") { id } }')) as { errors: { extensions: unknown }[] };
      expect(forbidden.errors[0]!.extensions).toEqual({ code: 'FORBIDDEN' });
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/graphql_ws_live_subscribers [1-9]/);
    } finally {
      await client.dispose();
    }
  });

  it.each([
    ['no connection params', undefined],
    ['no token', {}],
    ['a forged token', { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
  ])('closes with 4401 for %s', async (_name, params) => {
    const client = wsClient(params);
    expect(await firstResult(client, '{ plans { id } }')).toEqual({ closed: 4401 });
    await client.dispose();
  });

  it('closes with 4419 (retried by graphql-ws clients) for an expired token', async () => {
    const client = wsClient({ authorization: `Bearer ${await gw.token('user_ws', { expiresIn: -60 })}` });
    expect(await firstResult(client, '{ plans { id } }')).toEqual({ closed: 4419 });
    await client.dispose();
  });

  it('closes with 4419 when the token expires on an open socket', async () => {
    const token = await gw.token('user_ws', { expiresIn: 2 });
    const { client, connected, closed } = connectEagerly(gw.wsUrl, token);
    await connected;
    expect(await closed).toEqual({ code: 4419, reason: 'Token expired' });
    await client.dispose();
  });

  it('applies the depth limit to operations over WebSocket', async () => {
    const client = wsClient({ authorization: `Bearer ${await gw.token('ops', { role: 'admin' })}` }, () => {});
    try {
      const result = (await firstResult(client, '{ customers { edges { node { id } } } }')) as { errors: { message: string }[] };
      expect(result.errors[0]!.message).toBe('Query is too deep: depth 4 exceeds the maximum of 3');
    } finally {
      await client.dispose();
    }
  });
});
