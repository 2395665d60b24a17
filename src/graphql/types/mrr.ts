// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Money } from './money.js';
import { Plan } from './plan.js';

@ObjectType({ description: 'MRR of one plan in one currency.' })
export class MoneyByPlan {
  @Field(() => Plan, { description: 'The plan.' })
  plan!: Plan;

  @Field(() => Money, { description: "The plan's MRR in this currency." })
  mrr!: Money;

  @Field(() => Int, { description: 'Subscriptions counted in it.' })
  subscriptions!: number;
}

@ObjectType({ description: 'Monthly recurring revenue: ACTIVE and PAST_DUE subscriptions, summed exactly, rounded once per currency.' })
export class MrrReport {
  /** One report: the live mrrUpdated event updates the one a client cached from Query.mrr. */
  @Field(() => ID, { description: 'Always "MrrReport": there is one report, which mrrUpdated replaces (a client cache keeps one entry).' })
  get id(): string {
    return 'MrrReport';
  }

  @Field(() => Date, { description: 'When the figures were computed.' })
  asOf!: Date;

  @Field(() => [Money], { description: 'One entry per currency, largest first.' })
  totals!: Money[];

  @Field(() => Int, { description: 'Subscriptions counted in the totals (ACTIVE and PAST_DUE).' })
  activeSubscriptions!: number;

  @Field(() => [MoneyByPlan], { description: 'Per catalog plan and currency, largest first.' })
  byPlan!: MoneyByPlan[];

  @Field(() => [Money], {
    description: "New MRR in the calendar month (UTC) of asOf: customers whose MRR went from zero to above zero for the first time; per currency. The month's revenue point's newMrr.",
  })
  newThisMonth!: Money[];

  @Field(() => [Money], {
    description: "Churned MRR in the calendar month (UTC) of asOf: customers whose MRR went to zero, at what it was; per currency. The month's revenue point's churnedMrr.",
  })
  churnedThisMonth!: Money[];

  @Field(() => [Money], { description: "MRR now minus MRR at the start of the month (expansion, contraction and reactivation included), per currency with new or churned MRR: the month's revenue point's netNewMrr." })
  netNewThisMonth!: Money[];
}
