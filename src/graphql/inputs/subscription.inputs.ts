// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ArgsType, Field, ID, InputType, Int, registerEnumType } from 'type-graphql';
import { ResumeInput, USE_INPUT } from './mutation-inputs.js';

/** How `subscribe` collects a card when none is given and none is on file. */
export enum PaymentFlow {
  CHECKOUT = 'checkout',
  CLIENT_SECRET = 'client_secret',
}

registerEnumType(PaymentFlow, {
  name: 'PaymentFlow',
  description: 'How subscribe collects a card when the input has none and the customer has no default card.',
  valuesConfig: {
    CHECKOUT: { description: 'Return a checkoutUrl (Stripe Checkout, mode subscription); the subscription starts when paid.' },
    CLIENT_SECRET: { description: 'Create the subscription INCOMPLETE and return its first invoice clientSecret (Stripe Elements).' },
  },
});

@InputType({ description: 'Subscribe a customer to a plan.' })
export class SubscribeInput {
  @Field(() => ID, { description: 'Catalog plan id (a self-serve plan).' })
  plan!: string;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: 'Seats; above 1 only on per-seat plans.' })
  quantity?: number | null;

  @Field(() => String, { nullable: true, description: 'A PaymentMethod id (pm_…). Omitted: the payload carries a clientSecret or checkoutUrl to collect one.' })
  paymentMethod?: string | null;

  @Field(() => Int, { nullable: true, description: 'Free trial days (1-730); no card needed to start.' })
  trialDays?: number | null;

  @Field(() => String, { nullable: true, description: 'A customer-facing promotion code (e.g. LAUNCH20).' })
  promotionCode?: string | null;

  @Field(() => ID, { nullable: true, description: 'Admins only: subscribe this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field(() => String, { nullable: true, description: 'Same key + same input: the same result, nothing created twice. Kept 24 h.' })
  idempotencyKey?: string | null;

  @Field(() => PaymentFlow, { nullable: true, defaultValue: PaymentFlow.CHECKOUT, description: 'Without paymentMethod, trial or card on file: how to collect the card.' })
  paymentFlow?: PaymentFlow | null;

  @Field(() => String, { nullable: true, description: 'Checkout flow: where Stripe sends the customer after paying (default: the first allowed origin).' })
  successUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'Checkout flow: where Stripe sends the customer on cancel (default: the first allowed origin).' })
  cancelUrl?: string | null;
}

@InputType({ description: 'Move a subscription to another plan and/or seat count.' })
export class ChangePlanInput {
  @Field(() => ID, { description: 'The subscription (sub_…); customers: their own only.' })
  subscriptionId!: string;

  @Field(() => ID, { description: 'The new catalog plan (may be the current one, to change the quantity only).' })
  plan!: string;

  @Field(() => Int, { nullable: true, description: 'Seats; omitted: kept on a per-seat plan, 1 otherwise.' })
  quantity?: number | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: 'true: upgrades are invoiced now for the rest of the period, downgrades credited on the next invoice; false: no proration.',
  })
  prorate?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.' })
  idempotencyKey?: string | null;

  @Field(() => Date, {
    nullable: true,
    description: 'Prorate as of this instant (within the current period) instead of now: pass the same value to upcomingInvoice to bill exactly what it previewed.',
  })
  prorationDate?: Date | null;
}

@InputType({ description: 'Cancel a subscription.' })
export class CancelInput {
  @Field(() => ID, { description: 'The subscription (sub_…); customers: their own only.' })
  subscriptionId!: string;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: 'true: stays active until the period ends; false: ends now (usage so far invoiced, unused time credited to the balance).',
  })
  atPeriodEnd?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.' })
  idempotencyKey?: string | null;
}

@ArgsType()
export class ResumeArgs {
  @Field(() => ResumeInput, { nullable: true, description: 'The subscription to resume; the other arguments are ignored when it is given.' })
  input?: ResumeInput | null;

  @Field(() => ID, { nullable: true, description: 'The subscription (sub_…); customers: their own only.', deprecationReason: USE_INPUT })
  subscriptionId?: string | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.', deprecationReason: USE_INPUT })
  idempotencyKey?: string | null;
}

@ArgsType()
export class UpcomingInvoiceArgs {
  @Field(() => ID, { description: 'The subscription (sub_…); customers: their own only.' })
  subscriptionId!: string;

  @Field(() => ID, { nullable: true, description: 'Preview a change to this plan (the proration lines included).' })
  plan?: string | null;

  @Field(() => Int, { nullable: true, description: 'Seats after the change; omitted: unchanged.' })
  quantity?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: true, description: 'As changePlan(prorate).' })
  prorate?: boolean | null;

  @Field(() => Date, { nullable: true, description: 'As changePlan(prorationDate).' })
  prorationDate?: Date | null;
}
