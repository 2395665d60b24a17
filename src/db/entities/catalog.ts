import { defineEntity, p } from '@mikro-orm/core';
import type Stripe from 'stripe';

/** Mirror of a Stripe product. */
export const ProductSchema = defineEntity({
  name: 'Product',
  tableName: 'products',
  properties: {
    /** prod_… */
    id: p.text().primary(),
    name: p.text(),
    description: p.text().nullable(),
    active: p.boolean().default(true),
    metadata: p.json<Record<string, string>>().default('{}'),
    defaultPriceId: p.text().nullable(),
    createdAt: p.datetime(),
    raw: p.json<Stripe.Product>(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
});

export class Product extends ProductSchema.class {}
ProductSchema.setClass(Product);

/** One tier as stored: Stripe's shape, with its decimals as strings (how they serialise to JSON). */
export type StoredPriceTier = {
  up_to: number | null;
  unit_amount: number | null;
  unit_amount_decimal: string | null;
  flat_amount: number | null;
  flat_amount_decimal: string | null;
};

/** Mirror of a Stripe price. The catalog plan id is the licensed price's `lookup_key`. */
export const PriceSchema = defineEntity({
  name: 'Price',
  tableName: 'prices',
  properties: {
    /** price_… */
    id: p.text().primary(),
    productId: p.text().index('prices_product_id_index'),
    lookupKey: p.text().nullable().index('prices_lookup_key_index'),
    active: p.boolean().default(true),
    currency: p.text(),
    /** Minor units; null for tiered or custom prices. */
    unitAmount: p.integer().nullable(),
    /** Minor units as a decimal string ("0.1" = $0.001). */
    unitAmountDecimal: p.text().nullable(),
    /** 'per_unit' | 'tiered' */
    billingScheme: p.text().$type<Stripe.Price.BillingScheme>().default('per_unit'),
    /** 'graduated' | 'volume' when tiered. */
    tiersMode: p.text().$type<Stripe.Price.TiersMode>().nullable(),
    /** Stripe's tiers in order (write `String(decimal)` for the decimal fields). */
    tiers: p.json<StoredPriceTier[]>().nullable(),
    /** 'one_time' | 'recurring' */
    type: p.text().$type<Stripe.Price.Type>().default('recurring'),
    /** 'day' | 'week' | 'month' | 'year' */
    recurringInterval: p.text().$type<Stripe.Price.Recurring.Interval>().nullable(),
    recurringIntervalCount: p.integer().nullable(),
    /** 'licensed' | 'metered' */
    usageType: p.text().$type<Stripe.Price.Recurring.UsageType>().nullable(),
    /** Billing meter (mtr_…) of a metered price. */
    meterId: p.text().nullable(),
    nickname: p.text().nullable(),
    metadata: p.json<Record<string, string>>().default('{}'),
    createdAt: p.datetime(),
    raw: p.json<Stripe.Price>(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
});

export class Price extends PriceSchema.class {}
PriceSchema.setClass(Price);

/** Mirror of a Stripe billing meter. */
export const MeterSchema = defineEntity({
  name: 'Meter',
  tableName: 'meters',
  properties: {
    /** mtr_… */
    id: p.text().primary(),
    eventName: p.text().index('meters_event_name_index'),
    displayName: p.text(),
    /** 'active' | 'inactive' */
    status: p.text().$type<Stripe.Billing.Meter.Status>().default('active'),
    createdAt: p.datetime(),
    raw: p.json<Stripe.Billing.Meter>(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
});

export class Meter extends MeterSchema.class {}
MeterSchema.setClass(Meter);
