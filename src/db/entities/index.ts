import { ApiKey } from './api-key.js';
import { ApiKeyChange } from './api-key-change.js';
import { BillingEvent } from './billing-event.js';
import { Meter, Price, Product } from './catalog.js';
import { Customer } from './customer.js';
import { DunningCase } from './dunning-case.js';
import { IdempotencyKey } from './idempotency-key.js';
import { Invoice, InvoiceLine } from './invoice.js';
import { Milestone } from './milestone.js';
import { MrrTotal } from './mrr-total.js';
import { MrrMovement, RevenueRollup, SubscriptionMrrPoint } from './revenue.js';
import { Subscription, SubscriptionItem } from './subscription.js';
import { SyncState } from './sync-state.js';
import { TestClock } from './test-clock.js';
import { UsageRecord } from './usage-record.js';
import { WebhookEvent } from './webhook-event.js';

export * from './api-key.js';
export * from './api-key-change.js';
export * from './billing-event.js';
export * from './catalog.js';
export * from './customer.js';
export * from './dunning-case.js';
export * from './idempotency-key.js';
export * from './invoice.js';
export * from './milestone.js';
export * from './mrr-total.js';
export * from './revenue.js';
export * from './subscription.js';
export * from './sync-state.js';
export * from './test-clock.js';
export * from './usage-record.js';
export * from './webhook-event.js';

/** The database functions the ORM knows (besides the triggers'); the migrations are generated from these too. */
export { REVENUE_ROUTINES as ROUTINES } from './revenue.js';

/** Every entity the ORM knows; the migrations are generated from these. */
export const ENTITIES = [
  Customer,
  Product,
  Price,
  Meter,
  Subscription,
  SubscriptionItem,
  Invoice,
  InvoiceLine,
  WebhookEvent,
  IdempotencyKey,
  UsageRecord,
  BillingEvent,
  Milestone,
  SyncState,
  DunningCase,
  TestClock,
  MrrTotal,
  ApiKey,
  SubscriptionMrrPoint,
  MrrMovement,
  RevenueRollup,
  ApiKeyChange,
] as const;
