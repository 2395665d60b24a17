// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Args, Authorized, Ctx, Extensions, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { STRIPE_CALLS } from '../limits.js';
import { CancelInput, ChangePlanInput, PaymentFlow, ResumeArgs, SubscribeInput, UpcomingInvoiceArgs } from '../inputs/subscription.inputs.js';
import { SubscribePayload } from '../inputs/payloads.js';
import { Invoice, toUnstoredInvoice } from '../types/invoice.js';
import { BillingSubscription, toBillingSubscription } from '../types/subscription.js';
import { errorsDoc } from '../types/error-code.js';
import { inputOrLegacy } from '../inputs/mutation-inputs.js';

/** The write side of the subscription lifecycle: parse, authorise, call the service, shape the answer. */
@Resolver()
export class SubscriptionMutationsResolver {
  // The most Stripe calls one resolution makes (customer, live-subscription check, prices, promotion code, card attach,
  // create and its 3-D Secure retry, default card, invoice secret, write-through): checked by the query limits.
  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 10 })
  @Mutation(() => SubscribePayload, {
    nullable: true,
    description:
      'Subscribe the caller (admins: customerId) to a self-serve plan. With paymentMethod: charged now (CARD_DECLINED / PAYMENT_ACTION_REQUIRED). ' +
      'Without: a trial or a card on file starts it at once; otherwise a checkoutUrl (default) or, with paymentFlow CLIENT_SECRET, an INCOMPLETE subscription and its clientSecret.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CARD_DECLINED', 'PAYMENT_ACTION_REQUIRED', 'CONFLICT', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE'),
  })
  async subscribe(@Arg('input', () => SubscribeInput, { description: 'The plan and how to pay.' }) input: SubscribeInput, @Ctx() ctx: GraphQLContext): Promise<SubscribePayload> {
    const outcome = await ctx.services.lifecycle.subscribe(ctx.auth, {
      ...input,
      paymentFlow: input.paymentFlow === PaymentFlow.CLIENT_SECRET ? 'client_secret' : 'checkout',
    });
    const subscription = outcome.subscriptionId ? toBillingSubscription(await ctx.services.lifecycle.subscriptionRow(outcome.subscriptionId)) : null;
    return { subscription, clientSecret: outcome.clientSecret, checkoutUrl: outcome.checkoutUrl };
  }

  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 6 })
  @Mutation(() => BillingSubscription, {
    nullable: true,
    description: 'Move to another plan and/or seat count. prorate: upgrades invoiced now for the rest of the period, downgrades credited on the next invoice.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CARD_DECLINED', 'PAYMENT_ACTION_REQUIRED', 'CONFLICT', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE'),
  })
  async changePlan(@Arg('input', () => ChangePlanInput, { description: 'The subscription and its new plan.' }) input: ChangePlanInput, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription> {
    const { subscriptionId } = await ctx.services.lifecycle.changePlan(ctx.auth, input);
    return toBillingSubscription(await ctx.services.lifecycle.subscriptionRow(subscriptionId));
  }

  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 4 })
  @Mutation(() => BillingSubscription, { nullable: true, description: 'Cancel a subscription (customers: their own). atPeriodEnd true: cancelAtPeriodEnd (undo with resume); false: ends now.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE') })
  async cancel(@Arg('input', () => CancelInput, { description: 'What to cancel and when.' }) input: CancelInput, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription> {
    const { subscriptionId } = await ctx.services.lifecycle.cancel(ctx.auth, input);
    return toBillingSubscription(await ctx.services.lifecycle.subscriptionRow(subscriptionId));
  }

  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 4 })
  @Mutation(() => BillingSubscription, { nullable: true, description: 'Undo a pending cancellation (cancel with atPeriodEnd: true) before the period ends.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED', 'UPSTREAM_UNAVAILABLE') })
  async resume(@Args(() => ResumeArgs) args: ResumeArgs, @Ctx() ctx: GraphQLContext): Promise<BillingSubscription> {
    const { input, ...legacy } = args;
    const { subscriptionId } = await ctx.services.lifecycle.resume(ctx.auth, inputOrLegacy(input, legacy, ['subscriptionId']));
    return toBillingSubscription(await ctx.services.lifecycle.subscriptionRow(subscriptionId));
  }

  @Authorized('customer', 'admin')
  @Extensions({ [STRIPE_CALLS]: 3 })
  @Query(() => Invoice, { nullable: true, description: 'Preview of the next invoice, with proration for a plan change when plan is given.' })
  async upcomingInvoice(@Args(() => UpcomingInvoiceArgs) args: UpcomingInvoiceArgs, @Ctx() ctx: GraphQLContext): Promise<Invoice | null> {
    return toUnstoredInvoice(await ctx.services.lifecycle.previewUpcomingInvoice(ctx.auth, args));
  }
}
