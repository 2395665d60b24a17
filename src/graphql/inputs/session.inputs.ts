// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

@InputType({ description: 'Open the Stripe billing portal.' })
export class CreatePortalSessionInput {
  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  returnUrl!: string;

  @Field(() => ID, { nullable: true, description: 'Admins only.' })
  customerId?: string | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.' })
  idempotencyKey?: string | null;
}

@ArgsType()
export class CreateCheckoutSessionArgs {
  @Field(() => ID, { description: 'A self-serve plan id.' })
  plan!: string;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: 'Seats.' })
  quantity?: number | null;

  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  successUrl!: string;

  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  cancelUrl!: string;

  @Field(() => Int, { nullable: true, description: 'Days of free trial.' })
  trialDays?: number | null;

  @Field(() => String, { nullable: true, description: 'A Stripe promotion code to apply.' })
  promotionCode?: string | null;

  @Field(() => ID, { nullable: true, description: 'Admins only: for this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.' })
  idempotencyKey?: string | null;
}
