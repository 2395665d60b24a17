// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, ObjectType } from 'type-graphql';
import { BillingSubscription } from '../types/subscription.js';

@ObjectType({ description: 'The result of subscribe: a subscription, or what is needed to collect a payment method.' })
export class SubscribePayload {
  @Field(() => BillingSubscription, { nullable: true, description: 'Null when a checkoutUrl is returned (the subscription starts when Checkout is paid).' })
  subscription!: BillingSubscription | null;

  @Field(() => String, { nullable: true, description: 'With paymentFlow CLIENT_SECRET: confirm the first invoice payment with Stripe Elements.' })
  clientSecret!: string | null;

  @Field(() => String, { nullable: true, description: 'With paymentFlow CHECKOUT: send the customer here.' })
  checkoutUrl!: string | null;
}

@ObjectType({ description: 'A Stripe billing portal session.' })
export class PortalSession {
  @Field({ description: 'Where to send the customer.' })
  url!: string;
}

@ObjectType({ description: 'A Stripe Checkout page.' })
export class CheckoutSession {
  @Field(() => ID, { description: 'Stripe Checkout Session id (cs_…).' })
  id!: string;

  @Field({ description: 'Where to send the customer.' })
  url!: string;
}
