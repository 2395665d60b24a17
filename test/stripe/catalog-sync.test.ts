import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { loadCatalog, meteredLookupKey, type Catalog } from '../../src/catalog.js';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { syncCatalog, type SyncProgress } from '../../src/stripe/catalog-sync.js';
import { createStripeClient } from '../../src/stripe/client.js';

const catalog = loadCatalog();
const clone = (): Catalog => structuredClone(catalog);

async function byLookupKey(stripe: Stripe, key: string): Promise<Stripe.Price> {
  const list = await stripe.prices.list({ lookup_keys: [key], expand: ['data.tiers'] });
  expect(list.data, `one price holds ${key}`).toHaveLength(1);
  return list.data[0]!;
}

// A fresh emulator per test: each starts from an empty Stripe account.
let emulator: RunningEmulator | null = null;
let stripe: Stripe;

beforeEach(async () => {
  await emulator?.close();
  emulator = await startEmulator({ port: 0 });
  stripe = createStripeClient({ secretKey: 'sk_test_catalog_sync', apiBase: emulator.url, maxNetworkRetries: 0 });
});

afterAll(async () => {
  await emulator?.close();
});

describe('syncCatalog', () => {
  it('creates the products, the meter and every price on the first run', async () => {
    const progress: SyncProgress[] = [];
    const report = await syncCatalog(stripe, catalog, { onProgress: (p) => progress.push(p) });

    // 3 products, 1 meter, 3 licensed + 3 metered prices; enterprise (custom-priced) has no price.
    expect(report).toMatchObject({ created: 10, updated: 0, replaced: 0, unchanged: 0, changed: 10, warnings: [] });
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(progress.every((p) => p.total === 10)).toBe(true);

    for (const product of catalog.products) {
      const p = await stripe.products.retrieve(product.id);
      expect(p).toMatchObject({ id: product.id, name: product.name, active: true });
    }

    const meters = await stripe.billing.meters.list();
    expect(meters.data).toHaveLength(1);
    const meter = meters.data[0]!;
    expect(meter).toMatchObject({
      event_name: 'api_calls',
      display_name: 'API calls',
      default_aggregation: { formula: 'sum' },
      customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
      value_settings: { event_payload_key: 'value' },
      status: 'active',
    });

    const basic = await byLookupKey(stripe, 'basic_monthly');
    expect(basic).toMatchObject({
      product: 'basic',
      currency: 'usd',
      unit_amount: 100,
      billing_scheme: 'per_unit',
      active: true,
      recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' },
      metadata: { plan_id: 'basic_monthly', per_seat: 'true' },
    });
    expect(await byLookupKey(stripe, 'pro_monthly')).toMatchObject({ product: 'pro', unit_amount: 500, recurring: { interval: 'month' } });
    expect(await byLookupKey(stripe, 'pro_yearly')).toMatchObject({ product: 'pro', unit_amount: 5000, recurring: { interval: 'year' } });

    const overage = await byLookupKey(stripe, meteredLookupKey('basic_monthly', 'api_calls'));
    expect(overage).toMatchObject({
      product: 'basic',
      currency: 'usd',
      billing_scheme: 'tiered',
      tiers_mode: 'graduated',
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      metadata: { plan_id: 'basic_monthly', meter_id: 'api_calls' },
    });
    expect(overage.tiers).toHaveLength(2);
    expect(overage.tiers![0]).toMatchObject({ up_to: 1000, unit_amount: 0 });
    expect(overage.tiers![1]!.up_to).toBeNull();
    expect(String(overage.tiers![1]!.unit_amount_decimal)).toBe('0.2');

    const proYearlyOverage = await byLookupKey(stripe, meteredLookupKey('pro_yearly', 'api_calls'));
    expect(proYearlyOverage.tiers![0]!.up_to).toBe(120000);
    expect(String(proYearlyOverage.tiers![1]!.unit_amount_decimal)).toBe('0.1');
    expect(proYearlyOverage.recurring).toMatchObject({ interval: 'year', usage_type: 'metered' });

    const enterprise = await stripe.prices.list({ lookup_keys: ['enterprise'] });
    expect(enterprise.data).toHaveLength(0);
    expect(report.prices.map((p) => p.lookup_key).sort()).toEqual(
      ['basic_monthly', 'basic_monthly__api_calls', 'pro_monthly', 'pro_monthly__api_calls', 'pro_yearly', 'pro_yearly__api_calls'].sort(),
    );
  });

  it('changes nothing on a second run', async () => {
    const first = await syncCatalog(stripe, catalog);
    const pricesBefore = (await stripe.prices.list({ limit: 100 })).data.length;

    const second = await syncCatalog(stripe, catalog);
    expect(second).toMatchObject({ created: 0, updated: 0, replaced: 0, unchanged: 10, changed: 0 });
    expect(second.items.every((i) => i.action === 'unchanged')).toBe(true);
    expect((await stripe.prices.list({ limit: 100 })).data).toHaveLength(pricesBefore);
    expect((await stripe.billing.meters.list()).data).toHaveLength(1);
    expect(second.prices.map((p) => p.id).sort()).toEqual(first.prices.map((p) => p.id).sort());
  });

  it('replaces a price whose amount changed: new price takes the lookup key, the old one is archived', async () => {
    await syncCatalog(stripe, catalog);
    const old = await byLookupKey(stripe, 'basic_monthly');

    const changed = clone();
    changed.plans.find((p) => p.id === 'basic_monthly')!.price!.amount = 150;
    const report = await syncCatalog(stripe, changed);
    expect(report).toMatchObject({ created: 0, updated: 0, replaced: 1, unchanged: 9 });
    const item = report.items.find((i) => i.action === 'replaced')!;
    expect(item).toMatchObject({ kind: 'price', key: 'basic_monthly', previousId: old.id, changes: ['unit_amount'] });

    const current = await byLookupKey(stripe, 'basic_monthly');
    expect(current.id).not.toBe(old.id);
    expect(current).toMatchObject({ unit_amount: 150, active: true, product: 'basic' });
    const archived = await stripe.prices.retrieve(old.id);
    expect(archived.active).toBe(false);
    expect(archived.lookup_key).toBeNull();
    expect(report.archivedPrices.map((p) => p.id)).toEqual([old.id]);

    // Settled: the next run with the same catalog changes nothing.
    expect((await syncCatalog(stripe, changed)).changed).toBe(0);

    // Going back to the first amount makes a third price (not a replay of the archived first one).
    const back = await syncCatalog(stripe, catalog);
    expect(back.replaced).toBe(1);
    const third = await byLookupKey(stripe, 'basic_monthly');
    expect(third.id).not.toBe(old.id);
    expect(third.id).not.toBe(current.id);
    expect(third).toMatchObject({ unit_amount: 100, active: true });
  });

  it('replaces a metered price whose overage tiers changed, and updates a renamed product in place', async () => {
    await syncCatalog(stripe, catalog);
    const key = meteredLookupKey('pro_monthly', 'api_calls');
    const old = await byLookupKey(stripe, key);

    const changed = clone();
    changed.plans.find((p) => p.id === 'pro_monthly')!.meters[0]!.included = 20000;
    changed.products.find((p) => p.id === 'pro')!.name = 'Pro (2027)';
    const report = await syncCatalog(stripe, changed);
    expect(report).toMatchObject({ created: 0, updated: 1, replaced: 1 });
    expect(report.items.find((i) => i.kind === 'product' && i.key === 'pro')).toMatchObject({ action: 'updated', changes: ['name'] });
    expect(report.items.find((i) => i.key === key)).toMatchObject({ action: 'replaced', changes: ['tiers'] });

    const current = await byLookupKey(stripe, key);
    expect(current.tiers![0]!.up_to).toBe(20000);
    expect((await stripe.prices.retrieve(old.id)).active).toBe(false);
    expect((await stripe.products.retrieve('pro')).name).toBe('Pro (2027)');
  });

  it('reports without writing in a dry run', async () => {
    const dry = await syncCatalog(stripe, catalog, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, created: 10, changed: 10 });
    expect(dry.items.every((i) => i.id === null)).toBe(true);
    expect((await stripe.products.list()).data).toHaveLength(0);
    expect((await stripe.prices.list()).data).toHaveLength(0);
    expect((await stripe.billing.meters.list()).data).toHaveLength(0);

    await syncCatalog(stripe, catalog);
    const changed = clone();
    changed.plans.find((p) => p.id === 'pro_yearly')!.price!.amount = 4800;
    const dry2 = await syncCatalog(stripe, changed, { dryRun: true });
    expect(dry2).toMatchObject({ replaced: 1, changed: 1 });
    expect((await byLookupKey(stripe, 'pro_yearly')).unit_amount).toBe(5000);
    // A dry run still returns the objects the catalog maps to (the live gateway mirrors them).
    expect(dry2.prices).toHaveLength(5);
    expect(dry2.products).toHaveLength(3);
  });
});
