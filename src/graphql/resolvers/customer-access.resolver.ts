// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import DataLoader from 'dataloader';
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { accessStatesOf, type AccessStateValue } from '../../billing/access/access-state.js';
import type { GraphQLContext } from '../context.js';
import { Customer } from '../types/customer.js';
import { AccessState } from '../types/enums.js';

/** One loader per request (keyed by its context): every Customer of a response in one batch. */
const loaders = new WeakMap<object, DataLoader<string, AccessStateValue>>();

function accessLoader(ctx: GraphQLContext): DataLoader<string, AccessStateValue> {
  let loader = loaders.get(ctx);
  if (!loader) {
    loader = new DataLoader(async (ids: readonly string[]) => {
      const states = await accessStatesOf(ctx.em, ids);
      return ids.map((id) => states.get(id) ?? 'NONE');
    });
    loaders.set(ctx, loader);
  }
  return loader;
}

/** `Customer.accessState` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerAccessStateResolver {
  @FieldResolver(() => AccessState, {
    description:
      "What the customer may do now: from its subscription (ACTIVE, TRIALING, NONE), or, while a failed payment is dunned, GRACE → SOFT_SUSPENDED → SUSPENDED on the customer's clock.",
  })
  async accessState(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<AccessState> {
    return AccessState[await accessLoader(ctx).load(customer.id)];
  }
}
