/**
 * Writers of the Stripe mirror (customers, subscriptions + items, invoices + lines). Each family has a
 * pure mapper (Stripe object → row data) and an idempotent `em`-based upsert that stores `raw` and
 * `synced_at`. Products, prices and meters are the catalog mirror's `../mirror-catalog.ts` (reached via mirrorObject).
 */
export { MirrorInputError, at, atOrNull, idOf, plain, type MirrorWriteOptions } from './common.js';
export { EXTERNAL_ID_METADATA_KEY, customerRaw, customerRow, externalIdOf, upsertCustomer, type CustomerWriteOptions } from './customers.js';
export {
  SUBSCRIPTION_MIRROR_EXPAND,
  discountsExpanded,
  licensedItem,
  loadPriceFacts,
  planIdOf,
  priceFactsOf,
  MRR_POINT_ON_CONFLICT,
  MRR_POINT_RANK_NOW,
  mrrPointRank,
  recordEventMrrPoint,
  canValue,
  subscriptionPointValue,
  subscriptionDiscount,
  subscriptionItemRows,
  subscriptionRaw,
  subscriptionRow,
  unexpandedPriceIds,
  COUNTED_MRR_COLUMNS,
  countedOf,
  rememberCountedMrr,
  type CountedMrrColumns,
  upsertSubscription,
  type PlanCatalog,
  type PriceFacts,
} from './subscriptions.js';
export {
  deleteInvoice,
  fetchAllLines,
  invoiceLineRows,
  invoiceRaw,
  invoiceRow,
  invoiceSubscriptionId,
  isMirrorableInvoice,
  upsertInvoice,
  type InvoiceWriteOptions,
} from './invoices.js';
export {
  mirrorObject,
  withMirrorExpansions,
  type MirrorContext,
  type MirrorResult,
  type MirrorableObject,
  type MirroredKind,
} from './dispatch.js';
export { deferredChildRows, withDeferredChildRows, DeferredChildRows } from './deferred-rows.js';
export { mirrorTestClock, type TestClockPayload } from './test-clocks.js';
export { beforeCustomerWrite, flushMirrorRows, mirrorBatch, withMirrorBatch, MirrorBatch, type CountedMrr, type MrrDelta } from './batch.js';
