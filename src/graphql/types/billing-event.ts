// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, ObjectType } from 'type-graphql';
import { BillingEventType } from './enums.js';
import { Money } from './money.js';

@ObjectType({ description: 'A live billing signal derived from Stripe events.' })
export class BillingEvent {
  @Field(() => ID, { description: 'Stable id: the same event is never delivered under two ids.' })
  id!: string;

  @Field(() => BillingEventType, { description: 'What happened.' })
  type!: BillingEventType;

  @Field(() => Date, { description: 'When it happened at Stripe.' })
  occurredAt!: Date;

  @Field(() => ID, { nullable: true, description: 'The customer concerned (cus_…), if any.' })
  customerId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The subscription concerned (sub_…), if any.' })
  subscriptionId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The invoice concerned (in_…), if any.' })
  invoiceId!: string | null;

  @Field(() => Money, { nullable: true, description: 'Payment amount, new MRR, or the milestone threshold, by type.' })
  amount!: Money | null;

  @Field({ description: 'A line for logs, e.g. payment_received customer=cus_x amount=$100.00' })
  message!: string;
}

@ObjectType({ description: "A currency's MRR reached a threshold of MRR_MILESTONES for the first time." })
export class Milestone {
  @Field(() => Money, { description: 'The milestone.' })
  threshold!: Money;

  @Field(() => Money, { description: "The currency's MRR when the milestone was reached." })
  mrr!: Money;

  @Field(() => Date, { description: 'When it was reached.' })
  reachedAt!: Date;
}
