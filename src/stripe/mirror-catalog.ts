import type { EntityManager } from '@mikro-orm/core';
import type Stripe from 'stripe';
import { Meter, Price, Product, type StoredPriceTier } from '../db/entities/catalog.js';
import type { SyncReport } from './catalog-sync.js';

/**
 * Writes the Stripe catalog objects of a sync (products, meters, current and archived prices)
 * into the mirror tables. Upserts by Stripe id, so it is safe to run on every start.
 */

const at = (unixSeconds: number): Date => new Date(unixSeconds * 1000);
const dec = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** Stripe objects hold `Decimal` instances; the JSON columns get them as strings. */
const plain = <T>(obj: T): T => JSON.parse(JSON.stringify(obj)) as T;

export function productRow(p: Stripe.Product, now = new Date()) {
  return {
    id: p.id,
    name: p.name,
    description: p.description ?? null,
    active: p.active,
    metadata: { ...(p.metadata ?? {}) },
    defaultPriceId: typeof p.default_price === 'string' ? p.default_price : (p.default_price?.id ?? null),
    createdAt: at(p.created),
    raw: plain(p),
    syncedAt: now,
  };
}

export function priceRow(p: Stripe.Price, now = new Date()) {
  // Stripe sends `tiers` only when expanded (webhook payloads lack it): absent → leave the stored tiers alone.
  const tiers: StoredPriceTier[] | null | undefined = p.tiers === undefined
    ? undefined
    : p.tiers
    ? p.tiers.map((t) => ({
        up_to: t.up_to,
        unit_amount: t.unit_amount,
        unit_amount_decimal: dec(t.unit_amount_decimal),
        flat_amount: t.flat_amount,
        flat_amount_decimal: dec(t.flat_amount_decimal),
      }))
    : null;
  return {
    id: p.id,
    productId: typeof p.product === 'string' ? p.product : p.product.id,
    lookupKey: p.lookup_key,
    active: p.active,
    currency: p.currency,
    unitAmount: p.unit_amount,
    unitAmountDecimal: dec(p.unit_amount_decimal),
    billingScheme: p.billing_scheme,
    tiersMode: p.tiers_mode,
    ...(tiers === undefined ? {} : { tiers }),
    type: p.type,
    recurringInterval: p.recurring?.interval ?? null,
    recurringIntervalCount: p.recurring?.interval_count ?? null,
    usageType: p.recurring?.usage_type ?? null,
    meterId: p.recurring?.meter ?? null,
    nickname: p.nickname,
    metadata: { ...(p.metadata ?? {}) },
    createdAt: at(p.created),
    raw: plain(p),
    syncedAt: now,
  };
}

export function meterRow(m: Stripe.Billing.Meter, now = new Date()) {
  return {
    id: m.id,
    eventName: m.event_name,
    displayName: m.display_name,
    status: m.status,
    createdAt: at(m.created),
    raw: plain(m),
    syncedAt: now,
  };
}

export interface MirrorCounts {
  products: number;
  meters: number;
  prices: number;
}

export async function mirrorCatalog(
  em: EntityManager,
  objects: Pick<SyncReport, 'products' | 'meters' | 'prices'> & Partial<Pick<SyncReport, 'archivedPrices'>>,
): Promise<MirrorCounts> {
  const now = new Date();
  const prices = [...(objects.archivedPrices ?? []), ...objects.prices];
  // A price may appear twice (archived, then re-read); the last state wins.
  const priceById = new Map(prices.map((p) => [p.id, p]));
  await em.transactional(async (tx) => {
    if (objects.products.length) await tx.upsertMany(Product, objects.products.map((p) => productRow(p, now)));
    if (objects.meters.length) await tx.upsertMany(Meter, objects.meters.map((m) => meterRow(m, now)));
    if (priceById.size) await tx.upsertMany(Price, [...priceById.values()].map((p) => priceRow(p, now)));
    // A lookup key belongs to one price at Stripe: any other mirror row still holding it is stale
    // (transferred while we were not listening, or from a Stripe account/emulator state since reset).
    for (const p of objects.prices) {
      if (p.lookup_key) await tx.nativeUpdate(Price, { lookupKey: p.lookup_key, id: { $ne: p.id } }, { lookupKey: null });
    }
  });
  return { products: objects.products.length, meters: objects.meters.length, prices: priceById.size };
}
