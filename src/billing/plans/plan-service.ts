/**
 * Plans as the API shows them: the catalog's plans, priced from the mirrored Stripe price with the
 * plan's lookup_key when one is mirrored (so a price changed by `setup` shows at once), else from
 * the catalog. Custom-priced plans (enterprise) have no price.
 */
import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/core';
import { apiLimitsOf, type ApiLimitsOf, type Catalog, type CatalogPlan, type PlanInterval } from '../../catalog.js';
import { Price } from '../../db/entities/catalog.js';
import { placeholders, readPlainRows, type PlainReader } from '../../db/plain-rows.js';

export interface PlanPrice {
  amount: number;
  currency: string;
}

export interface PlanView {
  id: string;
  name: string;
  price: PlanPrice | null;
  currency: string;
  interval: PlanInterval;
  intervalCount: number;
  perSeat: boolean;
  selfServe: boolean;
  features: string[];
  meters: { meter: string; included: number; unitAmountDecimal: string; currency: string; hardLimit: number | null }[];
  apiLimits: ApiLimitsOf;
}

export interface PriceLoaders {
  /** The active, licensed (non-metered) mirrored price with this lookup_key; newest wins. */
  priceByLookupKey: DataLoader<string, Price | null>;
}

export function createPriceLoaders(em: PlainReader): PriceLoaders {
  return {
    priceByLookupKey: new DataLoader(async (keys: readonly string[]) => {
      const rows = await readPlainRows(
        em,
        Price,
        `select * from prices where lookup_key in (${placeholders(keys.length)}) and active = true order by created_at desc, id desc`,
        keys,
      );
      const byKey = new Map<string, Price>();
      for (const row of rows) if (row.lookupKey && row.usageType !== 'metered' && !byKey.has(row.lookupKey)) byKey.set(row.lookupKey, row);
      return keys.map((k) => byKey.get(k) ?? null);
    }),
  };
}

export class PlanService {
  constructor(
    private readonly catalog: Catalog,
    private readonly loaders: PriceLoaders,
  ) {}

  async list(): Promise<PlanView[]> {
    return Promise.all(this.catalog.plans.map((plan) => this.view(plan)));
  }

  /**
   * A catalog plan by id (also its lookup_key), or null. `mirroredPrice: false` skips the mirror
   * lookup (one statement) and prices from the catalog: for callers that use neither `price` nor the
   * meters' `currency`, e.g. a query selecting only the plan's id.
   */
  async get(id: string, options: { mirroredPrice?: boolean } = {}): Promise<PlanView | null> {
    const plan = this.catalog.plans.find((p) => p.id === id);
    return plan ? this.view(plan, options.mirroredPrice ?? true) : null;
  }

  private async view(plan: CatalogPlan, mirroredPrice = true): Promise<PlanView> {
    let price: PlanPrice | null = null;
    if (plan.price && !mirroredPrice) {
      price = { amount: plan.price.amount, currency: plan.price.currency };
    } else if (plan.price) {
      const mirrored = await this.loaders.priceByLookupKey.load(plan.id);
      price =
        mirrored && mirrored.unitAmount !== null && mirrored.unitAmount !== undefined
          ? { amount: mirrored.unitAmount, currency: mirrored.currency }
          : { amount: plan.price.amount, currency: plan.price.currency };
    }
    return {
      id: plan.id,
      name: plan.name,
      price,
      currency: price?.currency ?? plan.currency,
      interval: plan.interval,
      intervalCount: plan.intervalCount,
      perSeat: plan.perSeat,
      selfServe: plan.selfServe,
      features: [...plan.features],
      meters: plan.meters.map((m) => ({ meter: m.meter, included: m.included, unitAmountDecimal: m.unitAmountDecimal, currency: price?.currency ?? plan.currency, hardLimit: m.limit ?? null })),
      apiLimits: apiLimitsOf(plan),
    };
  }
}
