// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { defineEnum, type ValueOf } from './define-enum.js';

@InputType({ description: 'One usage record of a meter.' })
export class ReportUsageInput {
  @Field({ description: 'Catalog meter id (e.g. api_calls), on the customer\'s plan.' })
  meter!: string;

  @Field(() => Int, { description: 'Units, a whole number from 1 to 1,000,000.' })
  quantity!: number;

  @Field(() => Date, { nullable: true, description: 'Defaults to now; must fall in the current or previous billing period.' })
  timestamp?: Date | null;

  @Field(() => ID, { nullable: true, description: 'Admins only: report for this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field({ description: 'Required: the same key is counted once, forever.' })
  idempotencyKey!: string;
}

@ObjectType({ description: 'One recorded usage of a meter.' })
export class UsageRecord {
  @Field(() => ID, { description: 'Ledger id; also the Stripe meter event identifier.' })
  id!: string;

  @Field({ description: 'The meter.' })
  meter!: string;

  @Field(() => Int, { description: 'Units recorded.' })
  quantity!: number;

  @Field(() => Date, { description: 'When the usage happened.' })
  timestamp!: Date;

  @Field({ description: 'The key the record was reported with.' })
  idempotencyKey!: string;

  @Field({ description: 'True when this key had already been recorded; nothing was added.' })
  duplicate!: boolean;
}

@ObjectType({ description: "A meter's usage in one billing period." })
export class UsageSummary {
  @Field(() => ID, { description: 'Stable for the same customer, meter and period.' })
  id!: string;

  @Field({ description: 'The meter.' })
  meter!: string;

  @Field(() => Date, { description: 'Start of the billing period.' })
  periodStart!: Date;

  @Field(() => Date, { description: 'Exclusive: usage at exactly periodEnd belongs to the next period.' })
  periodEnd!: Date;

  @Field(() => Int, { description: 'Units recorded in the period (duplicates by idempotency key counted once).' })
  quantity!: number;

  @Field(() => Int, { description: 'Units included in the plan for the period.' })
  included!: number;

  @Field(() => Int, { description: 'Units over the included ones, max(0, quantity − included): the units the renewal invoice charges.' })
  overage!: number;
}

export const EntitlementReason = defineEnum('EntitlementReason', 'Why an entitlement is allowed or denied.', {
  INCLUDED: ['INCLUDED', 'A feature of the plan.'],
  WITHIN_INCLUDED: ['WITHIN_INCLUDED', 'A meter below its included units.'],
  OVERAGE_BILLED: ['OVERAGE_BILLED', 'A meter at or over its included units: allowed, the overage is billed.'],
  LIMIT_REACHED: ['LIMIT_REACHED', "A meter at its plan's hard cap for the period: denied."],
  NOT_IN_PLAN: ['NOT_IN_PLAN', "Neither a feature nor a meter of the customer's plan: denied."],
  NO_SUBSCRIPTION: ['NO_SUBSCRIPTION', 'No subscription grants access (access state NONE): denied.'],
  SOFT_SUSPENDED: ['SOFT_SUSPENDED', 'Payment overdue, dunning escalated: paid usage (meters) denied, plan features allowed.'],
  SUSPENDED: ['SUSPENDED', 'Suspended by dunning: everything denied.'],
});
export type EntitlementReason = ValueOf<typeof EntitlementReason>;

@ObjectType({ description: 'Whether the customer may use a feature or a meter now (check before work, report usage after).' })
export class Entitlement {
  @Field(() => ID, { description: 'Stable for the same customer and feature.' })
  id!: string;

  @Field({ description: 'A plan feature (e.g. "Priority support") or a meter id (e.g. api_calls).' })
  feature!: string;

  @Field({ description: 'True when the customer may use the feature now.' })
  allowed!: boolean;

  @Field(() => Int, { nullable: true, description: 'Meters: units included per period. Null for plan features.' })
  limit!: number | null;

  @Field(() => Int, { nullable: true, description: 'Meters: units recorded in the current period.' })
  used!: number | null;

  @Field(() => Int, { nullable: true, description: 'Meters: max(0, limit − used), the included units left.' })
  remaining!: number | null;

  @Field(() => Int, { nullable: true, description: "Meters: the plan's hard cap per period, when it has one (at or over it: denied)." })
  hardLimit!: number | null;

  @Field(() => EntitlementReason, { description: 'Why not, when allowed is false.' })
  reason!: EntitlementReason;
}
