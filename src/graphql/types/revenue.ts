// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { defineEnum, type ValueOf } from './define-enum.js';
import { Money } from './money.js';

export const MetricInterval = defineEnum('MetricInterval', 'The width of one revenue point, aligned to UTC day, week (Monday) or month starts.', {
  DAY: ['DAY', 'UTC days.'],
  WEEK: ['WEEK', 'UTC weeks starting on Monday.'],
  MONTH: ['MONTH', 'UTC calendar months.'],
});
export type MetricInterval = ValueOf<typeof MetricInterval>;

@ObjectType({ description: 'MRR and its movements over one interval, in one currency. Every amount is exact, rounded half-up once.' })
export class RevenuePoint {
  /** Derived: one point per currency and interval. */
  @Field(() => ID, { description: 'Stable for the same currency and interval: currency, periodStart and periodEnd.' })
  get id(): string {
    return `RevenuePoint:${this.currency}:${this.periodStart.toISOString()}:${this.periodEnd.toISOString()}`;
  }

  @Field(() => Date, { description: 'Start of the interval, UTC (weeks start on Monday).' })
  periodStart!: Date;

  @Field(() => Date, { description: "The next point's periodStart." })
  periodEnd!: Date;

  @Field({ description: 'The currency of every amount in this point.' })
  currency!: string;

  @Field(() => Money, { description: 'MRR at the end of the interval.' })
  mrr!: Money;

  @Field(() => Money, { description: 'MRR added by new customers.' })
  newMrr!: Money;

  @Field(() => Money, { description: 'MRR added by expansions.' })
  expansionMrr!: Money;

  @Field(() => Money, { description: 'A positive amount.' })
  contractionMrr!: Money;

  @Field(() => Money, { description: 'A positive amount.' })
  churnedMrr!: Money;

  @Field(() => Money, { description: 'MRR added by reactivations.' })
  reactivationMrr!: Money;

  @Field(() => Money, { description: 'The MRR at the end minus the MRR at the start (rounded figures); may be negative.' })
  netNewMrr!: Money;

  @Field(() => Int, { description: 'Customers with MRR above zero at the end of the interval.' })
  customers!: number;

  @Field(() => Int, { description: 'Customers with a new movement in the interval.' })
  newCustomers!: number;

  @Field(() => Int, { description: 'Customers with a churn movement in the interval.' })
  churnedCustomers!: number;

  @Field(() => Int, { description: 'Customers with a reactivation movement in the interval.' })
  reactivatedCustomers!: number;

  @Field(() => Money, { description: 'Average revenue per account: mrr ÷ customers, rounded once; zero when there are none.' })
  arpa!: Money;

  @Field(() => Float, { nullable: true, description: 'Customer churn rate: churnedCustomers ÷ customers at the start of the interval; null when there were none.' })
  customerChurnRate!: number | null;

  @Field(() => Float, { nullable: true, description: '(churned + contraction) ÷ MRR at the start of the interval; null when it was zero.' })
  grossMrrChurnRate!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'MRR at the end from customers who had MRR at the start ÷ MRR at the start; null when it was zero.',
  })
  netRevenueRetention!: number | null;
}
