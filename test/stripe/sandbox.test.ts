import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG_PATH, loadCatalog } from '../../src/catalog.js';
import { Meter, Price, Product, SyncState } from '../../src/db/entities/index.js';
import { startEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog } from '../../src/stripe/catalog-sync.js';
import { createStripeClient } from '../../src/stripe/client.js';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import {
  checkStripe,
  prepareStripe,
  SANDBOX_TEST_CLOCK_NAME,
  STATE_TEST_CLOCK,
  storedWebhookSecret,
  type PreparedStripe,
  type StripeConfig,
} from '../../src/stripe/sandbox.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
let dataDir: string;
const opened: PreparedStripe[] = [];

function config(over: Partial<StripeConfig['stripe']> = {}): StripeConfig {
  return {
    // Port 0: a free port per start; the state persists under dataDir/emulator across "restarts".
    stripe: { emulatorPort: 0, ...over },
    dataDir,
    publicUrl: 'http://127.0.0.1:4999',
    billingCatalog: DEFAULT_CATALOG_PATH,
  };
}

async function prepare(over: Partial<StripeConfig['stripe']> = {}): Promise<PreparedStripe> {
  const s = await prepareStripe(config(over), db.orm);
  opened.push(s);
  return s;
}

beforeAll(async () => {
  db = await createTestOrm();
});

afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  const em = db.orm.em.fork();
  await em.nativeDelete(SyncState, {});
  await em.nativeDelete(Price, {});
  await em.nativeDelete(Meter, {});
  await em.nativeDelete(Product, {});
});

afterAll(async () => {
  await db?.dispose();
});

describe('prepareStripe in sandbox mode', () => {
  it('starts the emulator, syncs and mirrors the catalog, registers one webhook endpoint and one test clock, even across a restart', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bg-sandbox-'));
    const first = await prepare();
    expect(first.mode).toBe('sandbox');
    expect(first.emulatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.webhookSecret).toMatch(/^whsec_/);
    expect(first.testClockId).toMatch(/^clock_/);
    expect(first.catalogReport.created).toBe(10);
    expect(await checkStripe(first.stripe)).toEqual({ ok: true });

    const em = db.orm.em.fork();
    expect((await em.find(Product, {})).map((p) => p.id).sort()).toEqual(['basic', 'enterprise', 'pro']);
    expect(await em.count(Meter, {})).toBe(1);
    const basic = await em.findOneOrFail(Price, { lookupKey: 'basic_monthly' });
    expect(basic).toMatchObject({ unitAmount: 100, currency: 'usd', recurringInterval: 'month', usageType: 'licensed', active: true });
    const overage = await em.findOneOrFail(Price, { lookupKey: 'basic_monthly__api_calls' });
    expect(overage).toMatchObject({ billingScheme: 'tiered', tiersMode: 'graduated', usageType: 'metered' });
    expect(overage.tiers).toEqual([
      expect.objectContaining({ up_to: 1000, unit_amount: 0 }),
      expect.objectContaining({ up_to: null, unit_amount_decimal: '0.2' }),
    ]);
    expect((await em.findOneOrFail(SyncState, { key: STATE_TEST_CLOCK })).value).toBe(first.testClockId);
    await first.close();
    opened.length = 0;

    // Restart: the same data dir and database.
    const second = await prepare();
    expect(second.catalogReport.changed).toBe(0);
    expect(second.testClockId).toBe(first.testClockId);
    expect(second.webhookSecret).toBe(first.webhookSecret);
    expect(second.webhookEndpointId).toBe(first.webhookEndpointId);
    // What a `webhook` sidecar sharing this database reads when STRIPE_WEBHOOK_SECRET is not set.
    expect(await storedWebhookSecret(db.orm.em.fork())).toBe(second.webhookSecret);

    const endpoints = await second.stripe.webhookEndpoints.list({ limit: 100 });
    expect(endpoints.data.filter((e) => e.url === 'http://127.0.0.1:4999/webhooks/stripe')).toHaveLength(1);
    expect(endpoints.data[0]!.enabled_events).toEqual(['*']);
    const clocks = await second.stripe.testHelpers.testClocks.list({ limit: 100 });
    expect(clocks.data.filter((c) => c.name === SANDBOX_TEST_CLOCK_NAME)).toHaveLength(1);

    // The endpoint's secret really signs: a delivery signed with it verifies.
    const payload = JSON.stringify({ id: 'evt_test', object: 'event' });
    const header = second.stripe.webhooks.generateTestHeaderString({ payload, secret: second.webhookSecret! });
    expect(second.stripe.webhooks.constructEvent(payload, header, second.webhookSecret!).id).toBe('evt_test');
  });

  it('registers the endpoint with STRIPE_WEBHOOK_SECRET when it is set, replacing one with another secret', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bg-sandbox-'));
    const first = await prepare();
    await first.close();
    opened.length = 0;

    const secret = 'whsec_configured_for_the_sandbox_0123456789';
    const second = await prepare({ webhookSecret: secret });
    expect(second.webhookSecret).toBe(secret);
    expect(second.webhookEndpointId).not.toBe(first.webhookEndpointId);
    const endpoints = await second.stripe.webhookEndpoints.list({ limit: 100 });
    expect(endpoints.data).toHaveLength(1);
    expect(endpoints.data[0]!.id).toBe(second.webhookEndpointId);
  });

  it('names STRIPE_EMULATOR_PORT when the port is taken', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bg-sandbox-'));
    const squatter = await startEmulator({ port: 0 });
    try {
      await expect(prepare({ emulatorPort: squatter.port })).rejects.toThrow(
        `STRIPE_EMULATOR_PORT: port ${squatter.port} is in use`,
      );
    } finally {
      await squatter.close();
    }
  });

  it('uses an emulator elsewhere when STRIPE_API_BASE is set', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bg-sandbox-'));
    const external = await startEmulator({ port: 0 });
    try {
      const s = await prepare({ apiBase: external.url });
      expect(s.emulatorUrl).toBe(external.url);
      const direct = createStripeClient({ secretKey: 'sk_test_direct', apiBase: external.url });
      expect((await direct.products.retrieve('pro')).name).toBe('Pro');
    } finally {
      await external.close();
    }
  });
});

describe('prepareStripe in live mode', () => {
  it('reads the catalog without writing it, registers nothing, and mirrors what exists', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bg-live-'));
    const account = await startEmulator({ port: 0 }); // stands in for api.stripe.com
    try {
      const secret = 'whsec_live_configured_0123456789';
      const empty = await prepare({ secretKey: 'sk_test_live_mode', apiBase: account.url, webhookSecret: secret });
      expect(empty).toMatchObject({ mode: 'live', webhookSecret: secret });
      expect(empty.testClockId).toBeUndefined();
      expect(empty.emulatorUrl).toBeUndefined();
      expect(empty.catalogReport).toMatchObject({ dryRun: true, created: 10 });
      const direct = createStripeClient({ secretKey: 'sk_test_direct', apiBase: account.url });
      expect((await direct.products.list()).data).toHaveLength(0);
      expect((await direct.webhookEndpoints.list()).data).toHaveLength(0);
      expect((await direct.testHelpers.testClocks.list()).data).toHaveLength(0);

      await syncCatalog(direct, loadCatalog()); // what `billing-gateway setup` does
      const synced = await prepare({ secretKey: 'sk_test_live_mode', apiBase: account.url });
      expect(synced.catalogReport.changed).toBe(0);
      expect(await db.orm.em.fork().count(Price, { active: true })).toBe(6);
    } finally {
      await account.close();
    }
  });
});

describe('checkStripe', () => {
  it('reports an unreachable Stripe without throwing or leaking the key', async () => {
    const emulator = await startEmulator({ port: 0 });
    const url = emulator.url;
    await emulator.close();
    const stripe = createStripeClient({ secretKey: 'sk_test_never_printed', apiBase: url });
    const result = await checkStripe(stripe);
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('sk_test');
  });
});

describe('mirrorCatalog', () => {
  it('upserts products, meters and prices, and records an archived price as inactive', async () => {
    const emulator = await startEmulator({ port: 0 });
    try {
      const stripe = createStripeClient({ secretKey: 'sk_test_mirror', apiBase: emulator.url });
      const catalog = loadCatalog();
      await mirrorCatalog(db.orm.em.fork(), await syncCatalog(stripe, catalog));
      const changed = structuredClone(catalog);
      changed.plans.find((p) => p.id === 'pro_monthly')!.price!.amount = 700;
      const report = await syncCatalog(stripe, changed);
      await mirrorCatalog(db.orm.em.fork(), report);

      const em = db.orm.em.fork();
      const rows = await em.find(Price, { productId: 'pro', usageType: 'licensed', recurringInterval: 'month' });
      expect(rows.map((r) => [r.unitAmount, r.active, r.lookupKey]).sort()).toEqual([
        [500, false, null],
        [700, true, 'pro_monthly'],
      ]);
      const raw = rows.find((r) => r.active)!.raw as Stripe.Price;
      expect(raw.id).toBe(report.prices.find((p) => p.lookup_key === 'pro_monthly')!.id);
    } finally {
      await emulator.close();
    }
  });

  it('takes a lookup key away from a stale mirror row (e.g. the emulator state was reset)', async () => {
    const catalog = loadCatalog();
    const before = await startEmulator({ port: 0 });
    let staleId: string;
    try {
      const stripe = createStripeClient({ secretKey: 'sk_test_mirror', apiBase: before.url });
      const report = await syncCatalog(stripe, catalog);
      staleId = report.prices.find((p) => p.lookup_key === 'basic_monthly')!.id;
      await mirrorCatalog(db.orm.em.fork(), report);
    } finally {
      await before.close();
    }
    const after = await startEmulator({ port: 0 });
    try {
      const stripe = createStripeClient({ secretKey: 'sk_test_mirror', apiBase: after.url });
      await mirrorCatalog(db.orm.em.fork(), await syncCatalog(stripe, catalog));
    } finally {
      await after.close();
    }
    const holders = await db.orm.em.fork().find(Price, { lookupKey: 'basic_monthly' });
    expect(holders).toHaveLength(1);
    expect(holders[0]!.id).not.toBe(staleId);
  });
});
