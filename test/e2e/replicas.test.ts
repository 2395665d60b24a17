import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signDevToken } from '../../src/auth/tokens.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { redisUp, REDIS_TEST_URL } from '../support/redis.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

/**
 * Two gateway processes on one PostgreSQL and one Redis: a billing event produced by either
 * reaches WebSocket subscribers on both, exactly once. (PGlite is single-process, so this needs
 * TEST_DATABASE_URL; Redis at REDIS_TEST_URL or the local default.)
 */
const redisUrl = REDIS_TEST_URL;
const secret = 'replica-test-secret-'.padEnd(40, 'x');

const enabled = Boolean(process.env.TEST_DATABASE_URL) && (await redisUp());

interface Received {
  id: string;
  type: string;
  customerId: string | null;
}

function subscribe(gw: GatewayProcess, token: string, into: Received[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = createClient({
      url: gw.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { connected: () => resolve(client), error: reject },
    });
    client.subscribe<{ billingEvents: Received }>(
      { query: 'subscription { billingEvents { id type customerId } }' },
      { next: (r) => r.data && into.push(r.data.billingEvents), error: reject, complete: () => {} },
    );
  });
}

describe.skipIf(!enabled)('two gateway replicas on one PostgreSQL and one Redis', () => {
  let db: TestDatabase;
  let a: GatewayProcess;
  let b: GatewayProcess;
  const dirs: string[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const shared = { DATABASE_URL: db.env.DATABASE_URL, REDIS_URL: redisUrl, AUTH_JWT_SECRET: secret };
    dirs.push(mkdtempSync(join(tmpdir(), 'gw-replica-a-')), mkdtempSync(join(tmpdir(), 'gw-replica-b-')));
    a = await startGatewayProcess(shared, { dataDir: dirs[0] });
    // B uses A's emulator: one Stripe, two gateways, each with its own webhook endpoint.
    b = await startGatewayProcess({ ...shared, STRIPE_API_BASE: a.emulatorUrl }, { dataDir: dirs[1] });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await b?.stop();
    await a?.stop();
    await db?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('delivers an event processed by either replica to subscribers on both, exactly once', async () => {
    const admin = await signDevToken({ sub: 'ops', role: 'admin' }, secret);
    const onA: Received[] = [];
    const onB: Received[] = [];
    clients.push(await subscribe(a, admin, onA), await subscribe(b, admin, onB));

    const customer = await signDevToken({ sub: 'replica-user', email: 'r@example.com' }, secret);
    const res = await fetch(`${a.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${customer}` },
      body: JSON.stringify({
        query: 'mutation { subscribe(input: { plan: "basic_monthly", paymentMethod: "pm_card_visa", idempotencyKey: "replica-1" }) { subscription { id customer { id } } } }',
      }),
    });
    const body = (await res.json()) as { data: { subscribe: { subscription: { id: string; customer: { id: string } } } } };
    const customerId = body.data.subscribe.subscription.customer.id;

    const paid = (list: Received[]) => list.some((e) => e.type === 'PAYMENT_RECEIVED' && e.customerId === customerId);
    await eventually('PAYMENT_RECEIVED on both replicas', () => paid(onA) && paid(onB));
    // The probe: a customer created at Stripe now travels the same path (Stripe's webhooks to both
    // replicas, one inbox, one worker, Redis, both sockets). Each socket delivers in order, so once
    // its signal is on both, anything published before it, a late duplicate included, is there too.
    const stripe = new Stripe('sk_test_replicas', { host: '127.0.0.1', port: Number(new URL(a.emulatorUrl).port), protocol: 'http' });
    const probe = await stripe.customers.create({ email: 'probe@example.com' });
    const probed = (list: Received[]) => list.some((e) => e.type === 'CUSTOMER_CREATED' && e.customerId === probe.id);
    await eventually('the probe on both replicas', () => probed(onA) && probed(onB));

    for (const list of [onA, onB]) {
      const mine = list.filter((e) => e.customerId === customerId);
      expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['CUSTOMER_CREATED', 'SUBSCRIPTION_STARTED', 'PAYMENT_RECEIVED']));
      expect(new Set(mine.map((e) => e.id)).size).toBe(mine.length);
      expect(list.filter((e) => e.customerId === probe.id)).toHaveLength(1);
    }
    // Both replicas saw the same events under the same ids.
    const ids = (list: Received[]) => list.filter((e) => e.customerId === customerId).map((e) => e.id).sort();
    expect(ids(onA)).toEqual(ids(onB));
  }, 60_000);
});
