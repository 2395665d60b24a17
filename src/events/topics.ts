/**
 * The live-signal topics and their payloads. Payloads cross Redis as JSON, so they hold only
 * JSON values (dates as ISO strings); the GraphQL resolvers turn them into the schema's types.
 */
import type { BillingEventTypeValue } from '../db/entities/billing-event.js';

export const TOPICS = {
  billingEvents: 'billing-events',
  mrrUpdated: 'mrr-updated',
  milestoneReached: 'milestone-reached',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

export interface AmountPayload {
  /** Minor units. */
  amount: number;
  currency: string;
}

/** A stored BillingEvent as published (the schema's fields plus who it belongs to). */
export interface BillingEventPayload {
  id: string;
  type: BillingEventTypeValue;
  /** ISO-8601. */
  occurredAt: string;
  customerId: string | null;
  /** The customer's externalId (JWT sub) when known: customer subscribers receive only their own. */
  customerExternalId: string | null;
  subscriptionId: string | null;
  invoiceId: string | null;
  amount: AmountPayload | null;
  message: string;
}

export interface MrrByPlanPayload {
  planId: string;
  amount: number;
  currency: string;
  subscriptions: number;
}

/** The MRR report (the schema's MrrReport, with plan ids). */
export interface MrrReportPayload {
  /** ISO-8601. */
  asOf: string;
  /** Largest first. */
  totals: AmountPayload[];
  activeSubscriptions: number;
  byPlan: MrrByPlanPayload[];
  /** This calendar month (UTC) of `asOf`, per currency (src/billing/metrics/mrr-totals.ts); absent: not computed (read as none). */
  newThisMonth?: AmountPayload[];
  churnedThisMonth?: AmountPayload[];
  netNewThisMonth?: AmountPayload[];
}

export interface MilestonePayload {
  threshold: AmountPayload;
  mrr: AmountPayload;
  /** ISO-8601. */
  reachedAt: string;
}

/** The PubSub's topic map (`@graphql-yoga/subscription` shape): topic → [payload]. */
export type SignalTopics = {
  [TOPICS.billingEvents]: [BillingEventPayload];
  [TOPICS.mrrUpdated]: [MrrReportPayload];
  [TOPICS.milestoneReached]: [MilestonePayload];
};
