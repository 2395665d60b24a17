// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { defineEnum, type ValueOf } from './define-enum.js';

/**
 * The public schema's enums (schema.graphql). GraphQL values are upper case; the values are Stripe's lower-case
 * strings, so a Stripe status maps by value (`SubscriptionStatus.ACTIVE === 'active'`).
 */

export const BillingInterval = defineEnum('BillingInterval', 'How often a plan bills.', {
  DAY: ['day', 'Daily.'],
  WEEK: ['week', 'Weekly.'],
  MONTH: ['month', 'Monthly.'],
  YEAR: ['year', 'Yearly.'],
});
export type BillingInterval = ValueOf<typeof BillingInterval>;

export const SubscriptionStatus = defineEnum('SubscriptionStatus', "A Stripe subscription's status.", {
  INCOMPLETE: ['incomplete', 'Waiting for the first payment.'],
  INCOMPLETE_EXPIRED: ['incomplete_expired', 'The first payment never succeeded; expired.'],
  TRIALING: ['trialing', 'In a free trial.'],
  ACTIVE: ['active', 'Paid and running.'],
  PAST_DUE: ['past_due', 'A renewal payment failed; retries are running.'],
  CANCELED: ['canceled', 'Ended.'],
  UNPAID: ['unpaid', 'Retries exhausted; invoices stay open.'],
  PAUSED: ['paused', 'Paused (a trial ended without a payment method).'],
});
export type SubscriptionStatus = ValueOf<typeof SubscriptionStatus>;

export const AccessState = defineEnum('AccessState', 'What a customer may use now, from its subscriptions and dunning.', {
  NONE: ['none', 'No subscription that grants access.'],
  ACTIVE: ['active', 'An active subscription grants access.'],
  TRIALING: ['trialing', 'A trial grants access.'],
  GRACE: ['grace', 'A payment failed; access continues while dunning runs.'],
  SOFT_SUSPENDED: ['soft_suspended', 'Dunning escalated: paid features restricted.'],
  SUSPENDED: ['suspended', 'Access ended for non-payment.'],
});
export type AccessState = ValueOf<typeof AccessState>;

export const InvoiceStatus = defineEnum('InvoiceStatus', "A Stripe invoice's status.", {
  DRAFT: ['draft', 'Not finalised yet.'],
  OPEN: ['open', 'Finalised and awaiting payment.'],
  PAID: ['paid', 'Paid.'],
  UNCOLLECTIBLE: ['uncollectible', 'Marked as not collectible.'],
  VOID: ['void', 'Voided.'],
});
export type InvoiceStatus = ValueOf<typeof InvoiceStatus>;

export const BillingEventType = defineEnum('BillingEventType', 'What happened, in a BillingEvent.', {
  CUSTOMER_CREATED: ['customer_created', 'A customer was created.'],
  SUBSCRIPTION_STARTED: ['subscription_started', 'A subscription started.'],
  SUBSCRIPTION_UPDATED: ['subscription_updated', 'A subscription changed (plan, seats, status, cancellation).'],
  SUBSCRIPTION_CANCELED: ['subscription_canceled', 'A subscription ended.'],
  PAYMENT_RECEIVED: ['payment_received', 'A payment succeeded.'],
  PAYMENT_FAILED: ['payment_failed', 'A payment failed.'],
  INVOICE_CREATED: ['invoice_created', 'An invoice was created.'],
  MRR_UPDATED: ['mrr_updated', 'MRR changed.'],
  MILESTONE_REACHED: ['milestone_reached', "A currency's MRR reached a milestone."],
  API_KEY_LIMIT_REACHED: ['api_key_limit_reached', 'An API key reached its rate limit or quota.'],
});
export type BillingEventType = ValueOf<typeof BillingEventType>;
