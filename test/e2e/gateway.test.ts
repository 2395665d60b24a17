import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/tokens.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

/**
 * The gateway as a user runs it: the compiled entry point in its own process, sandbox mode,
 * nothing configured but ports, a database and a data dir.
 */
let db: TestDatabase;
let gw: GatewayProcess;
let dataDir: string;
let adminToken: string;
let customerToken: string;

async function gql(query: string, opts: { token?: string; variables?: Record<string, unknown> } = {}) {
  const res = await fetch(`${gw.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: JSON.stringify({ query, variables: opts.variables }),
  });
  const text = await res.text();
  expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/); // never a stack trace
  return { status: res.status, body: JSON.parse(text) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] } };
}

function bannerToken(output: string): string {
  const m = /Admin token[^\n]*\n\s*(\S+\.\S+\.\S+)/.exec(output);
  if (!m) throw new Error(`no admin token in the banner:\n${output}`);
  return m[1]!;
}

beforeAll(async () => {
  db = await createTestDatabase();
  // PGlite: the data dir holds the migrated database; PostgreSQL: a data dir of its own (dev secret, emulator state).
  dataDir = db.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'gw-e2e-data-'));
  gw = await startGatewayProcess({ ...(db.env.DATABASE_URL ? { DATABASE_URL: db.env.DATABASE_URL } : {}) }, { dataDir });
  adminToken = bannerToken(gw.output());
  const secret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
  customerToken = await signDevToken({ sub: 'user-e2e', email: 'e2e@example.com' }, secret);
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  await db?.dispose();
  if (!db?.env.DATA_DIR && dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the gateway process', () => {
  it('prints the URLs of the contract in its banner', () => {
    const out = gw.output();
    expect(out).toContain(`/graphql`);
    expect(out).toMatch(/WebSocket\s+ws:\/\//);
    expect(out).toContain('/webhooks/stripe');
    expect(out).toContain(gw.emulatorUrl);
  });

  it('serves plans without a token', async () => {
    const { status, body } = await gql('{ plans { id name price { amount currency formatted } interval perSeat selfServe } }');
    expect(status).toBe(200);
    expect(body.data?.plans).toEqual([
      { id: 'basic_monthly', name: 'Basic', price: { amount: 100, currency: 'usd', formatted: '$1.00' }, interval: 'MONTH', perSeat: true, selfServe: true },
      { id: 'pro_monthly', name: 'Pro', price: { amount: 500, currency: 'usd', formatted: '$5.00' }, interval: 'MONTH', perSeat: true, selfServe: true },
      { id: 'pro_yearly', name: 'Pro (annual)', price: { amount: 5000, currency: 'usd', formatted: '$50.00' }, interval: 'YEAR', perSeat: true, selfServe: true },
      { id: 'enterprise', name: 'Enterprise', price: null, interval: 'MONTH', perSeat: false, selfServe: false },
    ]);
  });

  it('accepts the banner admin token and a customer token; rejects none, forged and expired', async () => {
    const admin = await gql('{ customers(first: 5) { totalCount } customer(id: "nobody") { id } }', { token: adminToken });
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data).toEqual({ customers: { totalCount: 0 }, customer: null });

    const own = await gql('{ customer { id externalId } }', { token: customerToken });
    expect(own.body.errors).toBeUndefined();
    expect(own.body.data).toEqual({ customer: null }); // no customer before the first subscribe

    const forbidden = await gql('{ customers { totalCount } }', { token: customerToken });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const forged = await signDevToken({ sub: 'admin', role: 'admin' }, 'x'.repeat(40));
    const expired = await signDevToken({ sub: 'user-e2e', expiresIn: -60 }, readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim());
    for (const token of [undefined, forged, expired, 'not-a-jwt']) {
      const r = await gql('{ customer { id } }', { token });
      expect(r.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('accepts graphql-ws with a good token and closes 4401 without one', async () => {
    const wsUrl = gw.url.replace(/^http/, 'ws') + '/graphql';
    const connect = (authorization?: string) =>
      new Promise<{ acked: boolean; code?: number }>((resolve) => {
        const client = createClient({
          url: wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: false,
          connectionParams: authorization ? { authorization } : {},
          on: {
            connected: () => {
              resolve({ acked: true });
              void client.dispose();
            },
            closed: (event) => resolve({ acked: false, code: (event as { code: number }).code }),
          },
        });
      });
    expect(await connect(`Bearer ${adminToken}`)).toEqual({ acked: true });
    expect(await connect()).toEqual({ acked: false, code: 4401 });
    expect(await connect('Bearer forged.token.value')).toEqual({ acked: false, code: 4401 });
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/# TYPE \w+ (counter|histogram|gauge)/);
  });

  it('turns bad input into clear errors: malformed GraphQL 400, oversized body 413', async () => {
    const malformed = await gql('{ plans { id ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors?.[0]?.message).toMatch(/Syntax Error/);

    const big = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ plans { id } } #${'x'.repeat(2 * 1024 * 1024)}` }),
    });
    expect(big.status).toBe(413);
    // Depth and cost limits are covered in-process by test/http (they need deeper types).
  });

  it('keeps its sandbox state across a restart', async () => {
    const stripe = new Stripe('sk_test_e2e', { host: '127.0.0.1', port: Number(new URL(gw.emulatorUrl).port), protocol: 'http' });
    const created = await stripe.customers.create({ email: 'kept@example.com' });
    const clockBefore = /test clock (clock_\w+)/.exec(gw.output())?.[1];
    await gw.stop();
    gw = await startGatewayProcess({ ...(db.env.DATABASE_URL ? { DATABASE_URL: db.env.DATABASE_URL } : {}) }, { dataDir });
    const stripeAgain = new Stripe('sk_test_e2e', { host: '127.0.0.1', port: Number(new URL(gw.emulatorUrl).port), protocol: 'http' });
    expect((await stripeAgain.customers.retrieve(created.id)).id).toBe(created.id);
    expect(/test clock (clock_\w+)/.exec(gw.output())?.[1]).toBe(clockBefore);
    // The dev secret survived too: the first banner's token still works.
    const r = await gql('{ customers { totalCount } }', { token: adminToken });
    expect(r.body.errors).toBeUndefined();
  }, 90_000);
});

describe('configuration errors', () => {
  it('exits 1 naming the variable when a value is invalid', async () => {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
      env: { PATH: process.env.PATH, PORT: 'abc' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT/);
    expect(err).not.toMatch(/\bat .+:\d+:\d+/);
  });
});
