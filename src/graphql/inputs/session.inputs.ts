// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class CreatePortalSessionInput {
  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  returnUrl!: string;

  @Field(() => ID, { nullable: true, description: 'Admins only.' })
  customerId?: string | null;

  @Field(() => String, { nullable: true })
  idempotencyKey?: string | null;
}

@ArgsType()
export class CreateCheckoutSessionArgs {
  @Field(() => ID)
  plan!: string;

  @Field(() => Int, { nullable: true, defaultValue: 1 })
  quantity?: number | null;

  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  successUrl!: string;

  @Field({ description: 'Absolute http(s) URL, on PORTAL_RETURN_URL_ALLOWLIST when configured.' })
  cancelUrl!: string;

  @Field(() => Int, { nullable: true })
  trialDays?: number | null;

  @Field(() => String, { nullable: true })
  promotionCode?: string | null;

  @Field(() => ID, { nullable: true, description: 'Admins only: for this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field(() => String, { nullable: true })
  idempotencyKey?: string | null;
}
