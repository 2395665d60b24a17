// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { errorsDoc } from '../types/error-code.js';
import { Node } from '../types/node.js';
import { inputOrLegacy, RetryParkedWebhookEventInput, USE_INPUT } from '../inputs/mutation-inputs.js';

@ObjectType({ implements: Node, description: 'A Stripe webhook event the gateway gave up processing after repeated failures (admin).' })
export class ParkedWebhookEvent implements Node {
  @Field(() => ID, { description: 'The Stripe event id (evt_…).' })
  id!: string;

  @Field({ description: 'The Stripe event type, e.g. invoice.paid.' })
  type!: string;

  @Field(() => String, { nullable: true, description: 'The id of the object the event is about.' })
  objectId!: string | null;

  @Field(() => Int, { description: 'Processing attempts before it was parked.' })
  attempts!: number;

  @Field(() => String, { nullable: true, description: 'Why the last attempt failed.' })
  lastError!: string | null;

  @Field(() => Date, { description: "The event's `created` at Stripe." })
  stripeCreatedAt!: Date;

  @Field(() => Date, { description: 'When the webhook arrived.' })
  receivedAt!: Date;
}

/** Admin view of the webhook inbox's parked events, and a way to put one back in the queue. */
@Resolver()
export class ParkedWebhookEventsResolver {
  @Authorized('admin')
  @Query(() => [ParkedWebhookEvent], { nullable: true, description: 'Admins only: webhook events parked after repeated processing failures, newest first.' })
  async parkedWebhookEvents(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 50, description: 'At most this many, newest first.' }) first: number,
  ): Promise<ParkedWebhookEvent[]> {
    return (await ctx.services.parkedWebhookEvents.list(first)).map((e) => Object.assign(new ParkedWebhookEvent(), e));
  }

  @Authorized('admin')
  @Mutation(() => Boolean, { nullable: true, description: 'Admins only: queue a parked webhook event for processing again.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND') })
  async retryParkedWebhookEvent(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID, { nullable: true, description: "The parked event's id (evt_…).", deprecationReason: USE_INPUT }) legacyId: string | null | undefined,
    @Arg('input', () => RetryParkedWebhookEventInput, { nullable: true, description: 'The event to retry.' }) input: RetryParkedWebhookEventInput | null | undefined,
  ): Promise<boolean> {
    const { id } = inputOrLegacy(input, { id: legacyId }, ['id']);
    await ctx.services.parkedWebhookEvents.retry(id);
    return true;
  }
}
