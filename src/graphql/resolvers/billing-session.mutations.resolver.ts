// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Args, Authorized, Ctx, Extensions, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { STRIPE_CALLS } from '../limits.js';
import { CheckoutSession, PortalSession } from '../inputs/payloads.js';
import { CreateCheckoutSessionArgs, CreatePortalSessionInput } from '../inputs/session.inputs.js';
import { errorsDoc } from '../types/error-code.js';
import { inputOrLegacy } from '../inputs/mutation-inputs.js';

/** Stripe-hosted pages: the billing portal and Checkout. */
@Resolver()
export class BillingSessionMutationsResolver {
  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 1 })
  @Mutation(() => PortalSession, { nullable: true, description: "The Stripe billing portal for the caller's customer (admins: any customer)." + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE') })
  async createPortalSession(@Arg('input', () => CreatePortalSessionInput, { description: 'Where the portal returns to.' }) input: CreatePortalSessionInput, @Ctx() ctx: GraphQLContext): Promise<PortalSession> {
    return ctx.services.lifecycle.createPortalSession(ctx.auth, input);
  }

  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 5 })
  @Mutation(() => CheckoutSession, { nullable: true, description: 'A Stripe Checkout page (mode subscription) for a self-serve plan; the subscription starts when it is paid.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE') })
  async createCheckoutSession(@Args(() => CreateCheckoutSessionArgs) args: CreateCheckoutSessionArgs, @Ctx() ctx: GraphQLContext): Promise<CheckoutSession> {
    const { input, ...legacy } = args;
    return ctx.services.lifecycle.createCheckoutSession(ctx.auth, inputOrLegacy(input, legacy, ['plan', 'successUrl', 'cancelUrl']));
  }
}
