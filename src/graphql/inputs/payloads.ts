// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, ObjectType } from 'type-graphql';
import { BillingSubscription } from '../types/subscription.js';

@ObjectType()
export class SubscribePayload {
  @Field(() => BillingSubscription, { nullable: true, description: 'Null when a checkoutUrl is returned (the subscription starts when Checkout is paid).' })
  subscription!: BillingSubscription | null;

  @Field(() => String, { nullable: true, description: 'paymentFlow CLIENT_SECRET: confirm the first invoice payment with Stripe Elements.' })
  clientSecret!: string | null;

  @Field(() => String, { nullable: true, description: 'paymentFlow CHECKOUT: send the customer here.' })
  checkoutUrl!: string | null;
}

@ObjectType()
export class PortalSession {
  @Field()
  url!: string;
}

@ObjectType()
export class CheckoutSession {
  @Field(() => ID, { description: 'Stripe Checkout Session id (cs_…).' })
  id!: string;

  @Field()
  url!: string;
}
