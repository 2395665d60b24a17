/**
 * The gateway over HTTP with the emulator behind it, for the lifecycle tests: a migrated test database
 * of its own, the emulator on a free port, the default catalog synced to it and mirrored, one test
 * clock for every customer the gateway creates (as in sandbox), HS256 tokens.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Stripe from 'stripe';
import { signDevToken, type Role } from '../../src/auth/tokens.js';
import { DEFAULT_CATALOG_PATH, loadCatalog, type Catalog } from '../../src/catalog.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Orm } from '../../src/db/orm.js';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createGatewayServer, type GatewayServer } from '../../src/http/server.js';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { createStripeClient } from '../../src/stripe/client.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import type { GqlBody } from '../http/harness.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { advanceClock } from '../support/test-clock.js';

export const SECRET = 'lifecycle-test-secret-0123456789-abcdefghij';
/** 2026-03-01T00:00:00Z: March has 31 days, so half a period is exactly 15.5 days. */
export const CLOCK_START = Date.UTC(2026, 2, 1) / 1000;

export interface LifecycleGateway {
  url: string;
  orm: Orm;
  stripe: Stripe;
  catalog: Catalog;
  config: Config;
  emulator: RunningEmulator;
  testClockId: string;
  server: GatewayServer;
  token(sub: string, opts?: { role?: Role; email?: string }): Promise<string>;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlBody>;
  /** Moves the sandbox test clock forward by `seconds`. */
  advanceClock(seconds: number): Promise<void>;
  /** POST /_emulator/faults (`{}` clears). */
  faults(spec: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

/** The default catalog plus a flat-priced (not per-seat) self-serve plan, `flat_monthly` ($20/month, product `flat`). */
export function catalogWithFlatPlan(): string {
  const catalog = JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8')) as { products: unknown[]; plans: unknown[] };
  catalog.products.push({ id: 'flat', name: 'Flat' });
  catalog.plans.push({ id: 'flat_monthly', name: 'Flat', product: 'flat', price: { amount: 2000, currency: 'usd' }, interval: 'month', perSeat: false, selfServe: true, features: ['Everything flat'] });
  const dir = mkdtempSync(join(tmpdir(), 'bg-lifecycle-catalog-'));
  const path = join(dir, 'catalog.json');
  writeFileSync(path, JSON.stringify(catalog));
  return path;
}

export interface LifecycleOptions {
  /** The API base the gateway's Stripe client uses, given the emulator's (e.g. a counting proxy in front of it). */
  stripeApiBase?: (emulatorUrl: string) => string;
}

export async function startLifecycleGateway(env: Record<string, string> = {}, opts: LifecycleOptions = {}): Promise<LifecycleGateway> {
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: SECRET, RATE_LIMIT_PER_TOKEN: '0', RATE_LIMIT_PER_ADDRESS: '0', BILLING_CATALOG: catalogWithFlatPlan(), ...env });
  const catalog = loadCatalog(config.billingCatalog);
  const emulator = await startEmulator({ port: 0 });
  let testOrm: TestOrm | undefined;
  let server: GatewayServer | undefined;
  try {
    // Two retries, as in production, with the SDK's short backoff.
    const stripe = createStripeClient({ secretKey: 'sk_test_lifecycle', apiBase: opts.stripeApiBase?.(emulator.url) ?? emulator.url, maxNetworkRetries: 2, timeoutMs: 10_000 });
    testOrm = await createTestOrm();
    const orm = testOrm.orm;
    await mirrorCatalog(orm.em.fork(), await syncCatalog(stripe, catalog));
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: CLOCK_START, name: 'lifecycle tests' });
    server = await createGatewayServer({ config, orm, catalog, stripe, testClockId: clock.id, checkStripe: async () => {} });
    const port = await server.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    let now = CLOCK_START;
    const srv = server;
    const tOrm = testOrm;
    return {
      url,
      orm,
      stripe,
      catalog,
      config,
      emulator,
      testClockId: clock.id,
      server: srv,
      token: (sub, opts = {}) => signDevToken({ sub, ...opts }, SECRET),
      async gql(query, variables, token) {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query, variables }),
        });
        return (await res.json()) as GqlBody;
      },
      async advanceClock(seconds) {
        now += seconds;
        await advanceClock(stripe, clock.id, now);
      },
      async faults(spec) {
        const res = await fetch(`${emulator.url}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
        if (!res.ok) throw new Error(`faults: ${res.status} ${await res.text()}`);
      },
      async close() {
        await srv.close();
        await tOrm.dispose();
        // A test may have stopped the emulator already (Stripe unreachable).
        await emulator.close().catch(() => undefined);
        rmSync(dirname(config.billingCatalog), { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.close();
    await testOrm?.dispose();
    await emulator.close();
    throw err;
  }
}

/** Rows of a table (for "nothing written" checks). */
export async function countRows(orm: Orm, table: string): Promise<number> {
  const rows = await orm.em.getConnection().execute<{ n: string }[]>(`select count(*) as n from "${table}"`);
  return Number(rows[0]!.n);
}

export const SUBSCRIPTION_FIELDS = /* GraphQL */ `
  id status isActive quantity cancelAtPeriodEnd canceledAt trialEnd currentPeriodStart currentPeriodEnd
  plan { id }
  customer { id externalId email }
  latestInvoice { id status total { amount currency } amountPaid { amount } lines { description amount { amount } quantity proration } }
`;

export const SUBSCRIBE = /* GraphQL */ `
  mutation ($input: SubscribeInput!) {
    subscribe(input: $input) { clientSecret checkoutUrl subscription { ${SUBSCRIPTION_FIELDS} } }
  }
`;
