import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from './paths.js';

/**
 * The declarative plan catalog. A plan's id is also the lookup_key of its Stripe price;
 * a metered allowance becomes a second, metered price with graduated tiers
 * (`included` units free, then `unitAmountDecimal` per unit), looked up by `meteredLookupKey`.
 */
const interval = z.enum(['day', 'week', 'month', 'year']);
const currency = z.string().regex(/^[a-z]{3}$/, 'a lower-case ISO 4217 code such as "usd"');

const meterSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]*$/),
  displayName: z.string().min(1),
  /** Stripe meter `event_name`. */
  eventName: z.string().min(1),
  aggregation: z.enum(['sum', 'count', 'last']).default('sum'),
});

const planMeterSchema = z.object({
  meter: z.string(),
  included: z.number().int().nonnegative(),
  /** Overage per unit in minor units, as a decimal string: "0.1" is a tenth of a cent. */
  unitAmountDecimal: z.string().regex(/^\d+(\.\d{1,12})?$/),
  /**
   * Optional hard cap per billing period (entitlements): at or above it the meter's
   * entitlement is denied. Absent: no cap, overage is billed. Never below `included`.
   */
  limit: z.number().int().positive().optional(),
}).refine((m) => m.limit === undefined || m.limit >= m.included, { message: 'limit (hard cap) must be at least included', path: ['limit'] });

const planSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9_]*$/),
    name: z.string().min(1),
    product: z.string(),
    /** Null: custom-priced (sales-led), no Stripe price. */
    price: z.object({ amount: z.number().int().nonnegative(), currency }).nullable(),
    /** Currency of a custom-priced plan (its meters, its reports). */
    currency: currency.optional(),
    interval,
    intervalCount: z.number().int().positive().default(1),
    perSeat: z.boolean(),
    selfServe: z.boolean(),
    features: z.array(z.string()),
    meters: z.array(planMeterSchema).default([]),
    /** API keys of this plan's customers: requests per minute per key; null or absent = unlimited. */
    apiRateLimitPerMinute: z.number().int().positive().nullable().default(null),
    /** The meter each verified API key call counts against (default: the plan's first meter; none = not metered). */
    apiMeter: z.string().optional(),
  })
  .transform((p) => ({ ...p, currency: p.price?.currency ?? p.currency ?? 'usd' }));

export const catalogSchema = z
  .object({
    products: z.array(z.object({ id: z.string().regex(/^[a-z][a-z0-9_]*$/), name: z.string().min(1) })),
    meters: z.array(meterSchema).default([]),
    plans: z.array(planSchema).min(1),
  })
  .superRefine((c, ctx) => {
    const products = new Set(c.products.map((p) => p.id));
    const meters = new Set(c.meters.map((m) => m.id));
    const seen = new Set<string>();
    c.plans.forEach((plan, i) => {
      if (seen.has(plan.id)) ctx.addIssue({ code: 'custom', path: ['plans', i, 'id'], message: `duplicate plan id ${plan.id}` });
      seen.add(plan.id);
      if (!products.has(plan.product))
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'product'], message: `unknown product ${plan.product}` });
      if (plan.apiMeter !== undefined && !plan.meters.some((m) => m.meter === plan.apiMeter))
        ctx.addIssue({ code: 'custom', path: ['plans', i, 'apiMeter'], message: `apiMeter ${plan.apiMeter} is not one of the plan's meters` });
      plan.meters.forEach((m, j) => {
        if (!meters.has(m.meter))
          ctx.addIssue({ code: 'custom', path: ['plans', i, 'meters', j, 'meter'], message: `unknown meter ${m.meter}` });
      });
    });
  });

export type Catalog = z.infer<typeof catalogSchema>;
export type CatalogPlan = Catalog['plans'][number];
export type CatalogMeter = Catalog['meters'][number];
export type CatalogProduct = Catalog['products'][number];
export type PlanInterval = z.infer<typeof interval>;

export const DEFAULT_CATALOG_PATH = join(PROJECT_ROOT, 'catalog', 'default.json');

/** What API keys of a plan's customers may do: rate limit, quota (the API meter's `limit`) and meter. */
export interface ApiLimitsOf {
  rateLimitPerMinute: number | null;
  quota: number | null;
  meter: string | null;
}

export function apiLimitsOf(plan: CatalogPlan): ApiLimitsOf {
  const meter = plan.apiMeter ? plan.meters.find((m) => m.meter === plan.apiMeter) : plan.meters[0];
  return { rateLimitPerMinute: plan.apiRateLimitPerMinute, quota: meter?.limit ?? null, meter: meter?.meter ?? null };
}

/** Lookup key of the metered (overage) price of a plan's meter. */
export function meteredLookupKey(planId: string, meterId: string): string {
  return `${planId}__${meterId}`;
}

export function parseCatalog(raw: unknown, source = 'catalog'): Catalog {
  const result = catalogSchema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0]!;
    throw new Error(`${source}: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return result.data;
}

export function loadCatalog(path: string = DEFAULT_CATALOG_PATH): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`BILLING_CATALOG: cannot read ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`BILLING_CATALOG: ${path} is not valid JSON (${(err as Error).message})`);
  }
  return parseCatalog(json, path);
}
