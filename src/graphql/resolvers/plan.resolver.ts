// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { PlanView } from '../../billing/plans/plan-service.js';
import { toMoney } from '../../money.js';
import type { GraphQLContext } from '../context.js';
import { BillingInterval } from '../types/enums.js';
import { Plan } from '../types/plan.js';

export function toPlanNode(plan: PlanView): Plan {
  return Object.assign(new Plan(), {
    id: plan.id,
    name: plan.name,
    price: plan.price ? toMoney(plan.price.amount, plan.price.currency) : null,
    interval: plan.interval as BillingInterval,
    intervalCount: plan.intervalCount,
    perSeat: plan.perSeat,
    selfServe: plan.selfServe,
    features: plan.features,
    meters: plan.meters,
    apiLimits: plan.apiLimits,
  });
}

@Resolver(() => Plan)
export class PlanResolver {
  @Authorized('anonymous', 'customer', 'admin')
  @Query(() => [Plan], { description: 'The plan catalog. Public: no token needed.' })
  async plans(@Ctx() ctx: GraphQLContext): Promise<Plan[]> {
    return (await ctx.services.plans.list()).map(toPlanNode);
  }
}
