/**
 * POST /graphql is answered ahead of express (src/http/graphql-fast-path.ts) unless the request needs
 * something only express does (CORS, other content types, query strings, compression). Each case here
 * sends the same request both ways (a query string sends it through express) over real HTTP and
 * expects the same status, headers that matter and body, and checks which way it went by counting
 * the calls into the express app.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/customer.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { startTestGateway, type TestGateway } from './harness.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request, so that headers (and their absence) and chunked bodies are exactly as written. */
function send(url: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; chunks?: string[] }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (opts.chunks) for (const c of opts.chunks) req.write(c);
    req.end(opts.body);
  });
}

/** Counts requests that reach the express app (the server's handler calls `app.handle`). */
function countExpress(gw: TestGateway): { readonly calls: number } {
  const app = gw.server.app as unknown as { handle: (...args: unknown[]) => unknown };
  const handle = app.handle.bind(app);
  const counter = { calls: 0 };
  app.handle = (...args: unknown[]) => {
    counter.calls++;
    return handle(...args);
  };
  return counter;
}

const json = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...extra });
const PLANS = JSON.stringify({ query: '{ plans { id } }' });

/** What a client can tell apart: status, the headers below, body. */
const visible = (a: Answer) => ({
  status: a.status,
  contentType: a.headers['content-type'],
  retryAfter: a.headers['retry-after'],
  vary: a.headers['vary'],
  allowOrigin: a.headers['access-control-allow-origin'],
  body: a.body,
});

let db: TestOrm;
let gw: TestGateway;
let viaExpress: { readonly calls: number };

beforeAll(async () => {
  db = await createTestOrm();
  gw = await startTestGateway({ BODY_LIMIT_BYTES: '4096', CORS_ORIGINS: 'https://app.example.com' }, { orm: db.orm });
  viaExpress = countExpress(gw);
  const em = gw.orm.em.fork();
  em.create(Customer, { id: 'cus_fast', externalId: 'user_fast', email: 'fast@example.com', createdAt: new Date('2026-01-01T00:00:00Z'), raw: {} as never });
  await em.flush();
});
afterAll(async () => {
  await gw?.close();
  await db?.dispose();
});

/** The request through the fast path, then through express; both answers, and that each went its way. */
async function bothWays(opts: Parameters<typeof send>[2]): Promise<{ fast: Answer; express: Answer }> {
  const before = viaExpress.calls;
  const fast = await send(gw.url, '/graphql', opts);
  expect(viaExpress.calls, 'the fast path answered').toBe(before);
  const express = await send(gw.url, '/graphql?via=express', opts);
  expect(viaExpress.calls, 'express answered').toBe(before + 1);
  return { fast, express };
}

describe('POST /graphql ahead of express', () => {
  it('answers a query with its viewer as express does', async () => {
    const token = await gw.token('user_fast');
    const { fast, express } = await bothWays({ headers: json({ authorization: `Bearer ${token}` }), body: JSON.stringify({ query: '{ customer { id email } plans { id } }' }) });
    expect(fast.status).toBe(200);
    expect(JSON.parse(fast.body).data.customer).toEqual({ id: 'cus_fast', email: 'fast@example.com' });
    expect(visible(fast)).toEqual(visible(express));
    expect(fast.headers['content-length']).toBe(String(Buffer.byteLength(fast.body)));
    // CORS is configured: express's cors middleware marks every answer, the fast path too.
    expect(fast.headers['vary']).toBe('Origin');
  });

  it('a body over the limit → 413, with a Content-Length or chunked', async () => {
    const big = JSON.stringify({ query: `{ plans { id } } # ${'x'.repeat(5000)}` });
    const { fast, express } = await bothWays({ headers: json(), body: big });
    expect(fast.status).toBe(413);
    expect(JSON.parse(fast.body)).toEqual({ errors: [{ message: 'Request body too large: the limit is 4096 bytes', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    expect(visible(fast)).toEqual(visible(express));
    // Chunked (no Content-Length): the limit applies as the body arrives.
    const chunked = await send(gw.url, '/graphql', { headers: json(), chunks: [big.slice(0, 3000), big.slice(3000)] });
    expect(visible(chunked)).toEqual(visible(fast));
  });

  it('a chunked body within the limit is read whole', async () => {
    const before = viaExpress.calls;
    const a = await send(gw.url, '/graphql', { headers: json(), chunks: [PLANS.slice(0, 5), PLANS.slice(5)] });
    expect(viaExpress.calls).toBe(before);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body).data.plans.length).toBeGreaterThan(0);
  });

  it('malformed JSON → 400 with the same body as express', async () => {
    for (const body of ['{"query": ', 'nope', '"a string"', '  42']) {
      const { fast, express } = await bothWays({ headers: json(), body });
      expect(fast.status, body).toBe(400);
      expect(JSON.parse(fast.body)).toEqual({ errors: [{ message: 'Malformed JSON request body', extensions: { code: 'BAD_REQUEST' } }] });
      expect(visible(fast)).toEqual(visible(express));
    }
  });

  it("an empty JSON body and a body without a query get Apollo's own 400, as through express", async () => {
    for (const body of ['', '{}', '[]', JSON.stringify({ query: '{ plans { id } }', variables: 'x' })]) {
      const { fast, express } = await bothWays({ headers: json({ 'content-length': String(Buffer.byteLength(body)) }), body });
      expect(fast.status, body).toBe(400);
      expect(visible(fast)).toEqual(visible(express));
    }
  });

  it('no token, or one that does not verify: no viewer, and the same errors as through express', async () => {
    const query = JSON.stringify({ query: '{ customer { id } plans { id } }' });
    for (const headers of [json(), json({ authorization: 'Bearer not-a-jwt' }), json({ authorization: 'Basic abc' })]) {
      const { fast, express } = await bothWays({ headers, body: query });
      expect(fast.status).toBe(200);
      const body = JSON.parse(fast.body);
      expect(body.data.plans.length).toBeGreaterThan(0);
      expect(body.data.customer).toBeNull();
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(visible(fast)).toEqual(visible(express));
    }
  });

  it('leaves to express what only express does: an Origin (CORS headers), other content types (CSRF prevention), GET', async () => {
    let before = viaExpress.calls;
    const cors = await send(gw.url, '/graphql', { headers: json({ origin: 'https://app.example.com' }), body: PLANS });
    expect(viaExpress.calls).toBe(before + 1);
    expect(cors.status).toBe(200);
    expect(cors.headers['access-control-allow-origin']).toBe('https://app.example.com');

    before = viaExpress.calls;
    const preflight = await send(gw.url, '/graphql', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
    expect(viaExpress.calls).toBe(before + 1);
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');

    // A "simple" request a browser sends cross-site without a preflight: Apollo's CSRF prevention refuses it.
    before = viaExpress.calls;
    const csrf = await send(gw.url, '/graphql', { headers: { 'content-type': 'text/plain' }, body: PLANS });
    expect(viaExpress.calls).toBe(before + 1);
    expect(csrf.status).toBe(400);
    expect(csrf.body).toMatch(/CSRF/);

    before = viaExpress.calls;
    const landing = await send(gw.url, '/graphql', { method: 'GET', headers: { accept: 'text/html' } });
    expect(viaExpress.calls).toBe(before + 1);
    expect(landing.status).toBe(200);
    expect(landing.headers['content-type']).toMatch(/text\/html/);

    // A charset other than UTF-8: body-parser decodes it.
    before = viaExpress.calls;
    const latin = await send(gw.url, '/graphql', { headers: { 'content-type': 'application/json; charset=utf-16le' }, body: Buffer.from(PLANS, 'utf16le').toString('latin1') });
    expect(viaExpress.calls).toBe(before + 1);
    expect(latin.status).toBeLessThan(500);
  });

  it('counts its requests in http_requests_total under the same labels', async () => {
    const metrics = async () => {
      const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${await gw.token('ops', { role: 'admin' })}` } })).text();
      const count = (status: number) => Number(new RegExp(`^http_requests_total\\{method="POST",route="/graphql",status="${status}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { ok: count(200), malformed: count(400) };
    };
    const before = await metrics();
    await send(gw.url, '/graphql', { headers: json(), body: PLANS });
    await send(gw.url, '/graphql', { headers: json(), body: '{' });
    const after = await metrics();
    expect(after.ok - before.ok).toBe(1);
    expect(after.malformed - before.malformed).toBe(1);
  });
});

describe('POST /graphql ahead of express, rate limited', () => {
  it('429 with Retry-After and the RATE_LIMITED body, per address and per token, whatever the body', async () => {
    const limited = await startTestGateway({ RATE_LIMIT_PER_ADDRESS: '2', RATE_LIMIT_PER_TOKEN: '1', RATE_LIMIT_WINDOW_SECONDS: '60' }, { orm: db.orm });
    try {
      const calls = countExpress(limited);
      for (let i = 0; i < 2; i++) expect((await send(limited.url, '/graphql', { headers: json(), body: PLANS })).status).toBe(200);
      const fast = await send(limited.url, '/graphql', { headers: json(), body: PLANS });
      // Through express (the address's budget is spent either way).
      const express = await send(limited.url, '/graphql?via=express', { headers: json(), body: PLANS });
      expect(calls.calls).toBe(1);
      expect(fast.status).toBe(429);
      const body = JSON.parse(fast.body);
      expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(fast.headers['retry-after']).toBe(String(body.errors[0].extensions.retryAfter));
      expect({ ...visible(fast), body: undefined, retryAfter: undefined }).toEqual({ ...visible(express), body: undefined, retryAfter: undefined });
      expect(JSON.parse(express.body).errors[0].extensions.code).toBe('RATE_LIMITED');
      // Limited before the body is looked at: malformed or oversized, still 429.
      expect((await send(limited.url, '/graphql', { headers: json(), body: '{' })).status).toBe(429);

      // A token has its own budget.
      const token = await limited.token('user_fast');
      expect((await send(limited.url, '/graphql', { headers: json({ authorization: `Bearer ${token}` }), body: PLANS })).status).toBe(200);
      expect((await send(limited.url, '/graphql', { headers: json({ authorization: `Bearer ${token}` }), body: PLANS })).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
