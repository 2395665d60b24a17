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

registerEnumType(BillingInterval, {
  name: 'BillingInterval',
  description: 'How often a plan bills.',
  valuesConfig: {
    DAY: { description: 'Daily.' },
    MONTH: { description: 'Monthly.' },
    WEEK: { description: 'Weekly.' },
    YEAR: { description: 'Yearly.' },
  },
});
registerEnumType(SubscriptionStatus, {
  name: 'SubscriptionStatus',
  description: "A Stripe subscription's status.",
  valuesConfig: {
    ACTIVE: { description: 'Paid and running.' },
    CANCELED: { description: 'Ended.' },
    INCOMPLETE_EXPIRED: { description: 'The first payment never succeeded; expired.' },
    INCOMPLETE: { description: 'Waiting for the first payment.' },
    PAST_DUE: { description: 'A renewal payment failed; retries are running.' },
    PAUSED: { description: 'Paused (a trial ended without a payment method).' },
    TRIALING: { description: 'In a free trial.' },
    UNPAID: { description: 'Retries exhausted; invoices stay open.' },
  },
});
registerEnumType(AccessState, {
  name: 'AccessState',
  description: 'What a customer may use now, from its subscriptions and dunning.',
  valuesConfig: {
    ACTIVE: { description: 'An active subscription grants access.' },
    SUSPENDED: { description: 'Access ended for non-payment.' },
    TRIALING: { description: 'A trial grants access.' },
    NONE: { description: 'No subscription that grants access.' },
    GRACE: { description: 'A payment failed; access continues while dunning runs.' },
    SOFT_SUSPENDED: { description: 'Dunning escalated: paid features restricted.' },
  },
});
registerEnumType(InvoiceStatus, {
  name: 'InvoiceStatus',
  description: "A Stripe invoice's status.",
  valuesConfig: {
    DRAFT: { description: 'Not finalised yet.' },
    OPEN: { description: 'Finalised and awaiting payment.' },
    PAID: { description: 'Paid.' },
    UNCOLLECTIBLE: { description: 'Marked as not collectible.' },
    VOID: { description: 'Voided.' },
  },
});
registerEnumType(BillingEventType, {
  name: 'BillingEventType',
  description: 'What happened, in a BillingEvent.',
  valuesConfig: {
    API_KEY_LIMIT_REACHED: { description: 'An API key reached its rate limit or quota.' },
    CUSTOMER_CREATED: { description: 'A customer was created.' },
    INVOICE_CREATED: { description: 'An invoice was created.' },
    MILESTONE_REACHED: { description: "A currency's MRR reached a milestone." },
    MRR_UPDATED: { description: 'MRR changed.' },
    PAYMENT_FAILED: { description: 'A payment failed.' },
    PAYMENT_RECEIVED: { description: 'A payment succeeded.' },
    SUBSCRIPTION_CANCELED: { description: 'A subscription ended.' },
    SUBSCRIPTION_STARTED: { description: 'A subscription started.' },
    SUBSCRIPTION_UPDATED: { description: 'A subscription changed (plan, seats, status, cancellation).' },
  },
});
