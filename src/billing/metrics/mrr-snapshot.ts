/** The current MRR as read from the totals (./mrr-totals.ts) or recounted (./current-mrr.ts). */
export interface CurrencyMrr {
  currency: string;
  /** Minor units, rounded half-up once. */
  amount: number;
  /** Counting subscriptions in this currency. */
  subscriptions: number;
}

export interface PlanMrr {
  planId: string;
  currency: string;
  amount: number;
  subscriptions: number;
}

export interface MrrSnapshot {
  asOf: Date;
  /** Largest amount first (ties: currency code). */
  currencies: CurrencyMrr[];
  activeSubscriptions: number;
  /** Catalog plans with counting subscriptions, largest MRR first. Subscriptions without a catalog plan count only in the totals. */
  byPlan: PlanMrr[];
}
