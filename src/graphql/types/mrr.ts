// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, Int, ObjectType } from 'type-graphql';
import { Money } from './money.js';
import { Plan } from './plan.js';

@ObjectType()
export class MoneyByPlan {
  @Field(() => Plan)
  plan!: Plan;

  @Field(() => Money)
  mrr!: Money;

  @Field(() => Int)
  subscriptions!: number;
}

@ObjectType({ description: 'Monthly recurring revenue: ACTIVE and PAST_DUE subscriptions, summed exactly, rounded once per currency.' })
export class MrrReport {
  @Field(() => Date)
  asOf!: Date;

  @Field(() => [Money], { description: 'One entry per currency, largest first.' })
  totals!: Money[];

  @Field(() => Int, { description: 'Subscriptions counted in the totals (ACTIVE and PAST_DUE).' })
  activeSubscriptions!: number;

  @Field(() => [MoneyByPlan], { description: 'Per catalog plan and currency, largest first.' })
  byPlan!: MoneyByPlan[];

  @Field(() => [Money], {
    description:
      'MRR of subscriptions that first started counting (became ACTIVE or PAST_DUE for the first time) in the calendar month (UTC) of asOf, at their current amount; per currency.',
  })
  newThisMonth!: Money[];

  @Field(() => [Money], {
    description: 'MRR of subscriptions that stopped counting (canceled, ended, unpaid) in the calendar month (UTC) of asOf and do not count now, at their last amount; per currency.',
  })
  churnedThisMonth!: Money[];

  @Field(() => [Money], { description: 'newThisMonth minus churnedThisMonth, per currency.' })
  netNewThisMonth!: Money[];
}
