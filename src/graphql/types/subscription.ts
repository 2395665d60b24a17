// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Node } from './node.js';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { Subscription as SubscriptionRow } from '../../db/entities/subscription.js';
import { SubscriptionStatus } from './enums.js';

// `SubscriptionStatus` lives in ./enums.ts: its values are Stripe's lower-case strings, so a
// Stripe status maps by value (`'past_due' as SubscriptionStatus === SubscriptionStatus.PAST_DUE`).
export { SubscriptionStatus } from './enums.js';

/** Statuses that grant access (`isActive`). */
export const ACTIVE_STATUSES: readonly SubscriptionStatus[] = [SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING];

/**
 * A mirrored Stripe subscription. Build it with `toBillingSubscription(row)` from a `subscriptions`
 * mirror row (e.g. the row `upsertSubscription` returns). `plan`, `mrr`, `customer` and
 * `latestInvoice` are field resolvers (SubscriptionResolver) that read `row` through the request's
 * DataLoaders, so a returned object needs nothing else.
 */
@ObjectType({ implements: Node, description: "A Stripe subscription, read from the gateway's mirror." })
export class BillingSubscription implements Node {
  @Field(() => ID, { description: 'Stripe subscription id (sub_…).' })
  id!: string;

  @Field(() => SubscriptionStatus, { description: "Stripe's status." })
  status!: SubscriptionStatus;

  @Field({ description: 'ACTIVE or TRIALING.' })
  isActive!: boolean;

  @Field(() => Int, { description: 'Seats of the licensed item (1 when Stripe leaves it unset).' })
  quantity!: number;

  @Field(() => Date, { description: 'Start of the current billing period.' })
  currentPeriodStart!: Date;

  @Field(() => Date, { description: 'End of the current billing period.' })
  currentPeriodEnd!: Date;

  @Field({ description: 'True when it ends at the end of the current period.' })
  cancelAtPeriodEnd!: boolean;

  @Field(() => Date, { nullable: true, description: 'When a scheduled cancellation takes effect.' })
  cancelAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When it was canceled, if it was.' })
  canceledAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the trial ends or ended, if there is one.' })
  trialEnd!: Date | null;

  @Field(() => Date, { description: 'Stripe `created`.' })
  createdAt!: Date;

  @Field({ description: 'Lower-case ISO 4217, as Stripe writes it.' })
  currency!: string;

  /** The mirror row behind this node (not a GraphQL field): the field resolvers read it. */
  row!: SubscriptionRow;
}

/** The GraphQL node of a `subscriptions` mirror row. */
export function toBillingSubscription(row: SubscriptionRow): BillingSubscription {
  const status = row.status as SubscriptionStatus;
  return Object.assign(new BillingSubscription(), {
    id: row.id,
    status,
    isActive: ACTIVE_STATUSES.includes(status),
    quantity: row.quantity ?? 1,
    // Stripe keeps periods on items; a subscription without items (never in practice) falls back to `created`.
    currentPeriodStart: row.currentPeriodStart ?? row.createdAt,
    currentPeriodEnd: row.currentPeriodEnd ?? row.currentPeriodStart ?? row.createdAt,
    cancelAtPeriodEnd: row.cancelAtPeriodEnd ?? false,
    cancelAt: row.cancelAt ?? null,
    canceledAt: row.canceledAt ?? null,
    trialEnd: row.trialEnd ?? null,
    createdAt: row.createdAt,
    currency: row.currency,
    row,
  });
}
