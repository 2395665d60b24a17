// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { registerEnumType } from 'type-graphql';

/**
 * The contract's enums. GraphQL values are upper case; the values are Stripe's lower-case
 * strings, so a Stripe status maps by value (`SubscriptionStatus.ACTIVE === 'active'`).
 */
export enum BillingInterval {
  DAY = 'day',
  WEEK = 'week',
  MONTH = 'month',
  YEAR = 'year',
}

export enum SubscriptionStatus {
  INCOMPLETE = 'incomplete',
  INCOMPLETE_EXPIRED = 'incomplete_expired',
  TRIALING = 'trialing',
  ACTIVE = 'active',
  PAST_DUE = 'past_due',
  CANCELED = 'canceled',
  UNPAID = 'unpaid',
  PAUSED = 'paused',
}

export enum AccessState {
  NONE = 'none',
  ACTIVE = 'active',
  TRIALING = 'trialing',
  GRACE = 'grace',
  SOFT_SUSPENDED = 'soft_suspended',
  SUSPENDED = 'suspended',
}

export enum InvoiceStatus {
  DRAFT = 'draft',
  OPEN = 'open',
  PAID = 'paid',
  UNCOLLECTIBLE = 'uncollectible',
  VOID = 'void',
}

export enum BillingEventType {
  CUSTOMER_CREATED = 'customer_created',
  SUBSCRIPTION_STARTED = 'subscription_started',
  SUBSCRIPTION_UPDATED = 'subscription_updated',
  SUBSCRIPTION_CANCELED = 'subscription_canceled',
  PAYMENT_RECEIVED = 'payment_received',
  PAYMENT_FAILED = 'payment_failed',
  INVOICE_CREATED = 'invoice_created',
  MRR_UPDATED = 'mrr_updated',
  MILESTONE_REACHED = 'milestone_reached',
  API_KEY_LIMIT_REACHED = 'api_key_limit_reached',
}

registerEnumType(BillingInterval, { name: 'BillingInterval' });
registerEnumType(SubscriptionStatus, { name: 'SubscriptionStatus' });
registerEnumType(AccessState, {
  name: 'AccessState',
  valuesConfig: {
    NONE: { description: 'No subscription that grants access.' },
    GRACE: { description: 'A payment failed; access continues while dunning runs.' },
    SOFT_SUSPENDED: { description: 'Dunning escalated: paid features restricted.' },
  },
});
registerEnumType(InvoiceStatus, { name: 'InvoiceStatus' });
registerEnumType(BillingEventType, { name: 'BillingEventType' });
