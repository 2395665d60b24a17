// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { CreateCheckoutSessionInput, USE_INPUT } from './mutation-inputs.js';

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
  @Field(() => CreateCheckoutSessionInput, { nullable: true, description: 'The plan, the pages to return to, and the options; the other arguments are ignored when it is given.' })
  input?: CreateCheckoutSessionInput | null;

  @Field(() => ID, { nullable: true, description: 'A self-serve plan id.', deprecationReason: USE_INPUT })
  plan?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: 'Seats.', deprecationReason: USE_INPUT })
  quantity?: number | null;

  @Field(() => String, { nullable: true, description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.', deprecationReason: USE_INPUT })
  successUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.', deprecationReason: USE_INPUT })
  cancelUrl?: string | null;

  @Field(() => Int, { nullable: true, description: 'Days of free trial.', deprecationReason: USE_INPUT })
  trialDays?: number | null;

  @Field(() => String, { nullable: true, description: 'A Stripe promotion code to apply.', deprecationReason: USE_INPUT })
  promotionCode?: string | null;

  @Field(() => ID, { nullable: true, description: 'Admins only: for this customer (cus_… or externalId).', deprecationReason: USE_INPUT })
  customerId?: string | null;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.', deprecationReason: USE_INPUT })
  idempotencyKey?: string | null;
}
