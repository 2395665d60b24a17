// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { Customer } from '../types/customer.js';
import { AccessState } from '../types/enums.js';

/** `Customer.accessState` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerAccessStateResolver {
  @FieldResolver(() => AccessState, {
    description:
      "What the customer may do now: from its subscription (ACTIVE, TRIALING, NONE), or, while a failed payment is dunned, GRACE → SOFT_SUSPENDED → SUSPENDED on the customer's clock.",
  })
  async accessState(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<AccessState> {
    return AccessState[await ctx.loaders.accessStateByCustomerId.load(customer.id)];
  }
}
