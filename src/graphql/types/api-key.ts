// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { defineEnum, type ValueOf } from './define-enum.js';
import { Customer } from './customer.js';
import { Node } from './node.js';

export const ApiKeyVerificationCode = defineEnum('ApiKeyVerificationCode', 'The outcome of verifying an API key, checked in the order listed.', {
  VALID: ['VALID', 'The key may be used; cost was counted.'],
  NOT_FOUND: ['NOT_FOUND', 'No such key.'],
  REVOKED: ['REVOKED', 'The key was revoked.'],
  EXPIRED: ['EXPIRED', 'The key passed its expiresAt.'],
  RATE_LIMITED: ['RATE_LIMITED', "The key's per-minute limit is reached."],
  QUOTA_EXCEEDED: ['QUOTA_EXCEEDED', "This cost would pass the plan's quota for the billing period."],
  SUSPENDED: ['SUSPENDED', "The customer's access is suspended."],
  NO_SUBSCRIPTION: ['NO_SUBSCRIPTION', 'The customer has no subscription that grants access.'],
});
export type ApiKeyVerificationCode = ValueOf<typeof ApiKeyVerificationCode>;

@ObjectType({ description: 'Verifications of one key with one outcome.' })
export class ApiKeyVerificationCount {
  @Field(() => ApiKeyVerificationCode, { description: 'The verification outcome.' })
  code!: ApiKeyVerificationCode;

  @Field(() => Int, { description: 'How many verifications had it.' })
  count!: number;
}

@ObjectType({ implements: Node, description: "An API key the gateway issued for the product's own API; the secret itself is never listed." })
export class ApiKey implements Node {
  @Field(() => ID, { description: "The key's id (not its secret)." })
  id!: string;

  @Field({ description: 'A label given at creation.' })
  name!: string;

  @Field({ description: 'The first characters of the secret, safe to show.' })
  prefix!: string;

  @Field(() => Date, { description: 'When the key was created.' })
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Last verification of this key (written in batches, about a second behind).' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key stops working; null: never.' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key was revoked; null while it is live.' })
  revokedAt!: Date | null;

  @Field(() => [ApiKeyVerificationCount], { description: 'Verifications of this key by outcome (written in batches, about a second behind).' })
  verifications!: ApiKeyVerificationCount[];

  /** Resolved by ApiKeyResolver.customer. */
  customerId!: string;

  @Field(() => Customer, { description: 'The customer the key belongs to.' })
  customer?: Customer;
}

@ObjectType({ description: 'A key with its whole secret, shown this once only.' })
export class ApiKeySecret {
  @Field(() => ApiKey, { description: 'The key.' })
  apiKey!: ApiKey;

  @Field({ description: 'The whole key. Returned once; only a hash of it is stored.' })
  secret!: string;
}

@InputType({ description: 'A new API key for a customer.' })
export class CreateApiKeyInput {
  @Field({ description: 'A label for the key.' })
  name!: string;

  @Field(() => ID, { nullable: true, description: 'Admins only: a key for this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field(() => Date, { nullable: true, description: 'When the key stops working; omitted: never.' })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true, description: 'A repeat answers CONFLICT (extensions.apiKeyId) and creates nothing: the secret is never shown twice.' })
  idempotencyKey?: string | null;
}

@ObjectType({ description: "A key's per-minute rate limit." })
export class RateLimitState {
  @Field(() => Int, { description: 'Requests allowed per minute.' })
  limit!: number;

  @Field(() => Int, { description: 'Requests left in the current minute.' })
  remaining!: number;

  @Field(() => Date, { description: 'When the window resets.' })
  resetAt!: Date;
}

@ObjectType({ description: "A key's usage against its plan's quota in the current billing period." })
export class QuotaState {
  @Field(() => Int, { nullable: true, description: 'Null when the plan has no hard cap.' })
  limit!: number | null;

  @Field(() => Int, { description: 'Units counted in the current billing period.' })
  used!: number;

  @Field(() => Int, { nullable: true, description: 'Null when the plan has no hard cap.' })
  remaining!: number | null;

  @Field(() => Date, { description: 'When the current billing period ends.' })
  resetAt!: Date;
}

@ObjectType({ description: 'The answer to verifying an API key (also the JSON of POST /v1/keys/verify).' })
export class ApiKeyVerification {
  @Field({ description: 'True exactly when code is VALID.' })
  valid!: boolean;

  @Field(() => ApiKeyVerificationCode, { description: 'Why the key is or is not valid.' })
  code!: ApiKeyVerificationCode;

  @Field(() => ID, { nullable: true, description: "The key's id; null when the key is unknown." })
  keyId!: string | null;

  @Field(() => ID, { nullable: true, description: "The key's customer (cus_…); null when the key is unknown." })
  customerId!: string | null;

  @Field(() => String, { nullable: true, description: "The key's customer's externalId; null when the key is unknown." })
  externalId!: string | null;

  @Field(() => ID, { nullable: true, description: "The customer's current plan id, if any." })
  plan!: string | null;

  @Field(() => RateLimitState, { nullable: true, description: 'Null when the plan has no rate limit or the key was not found.' })
  rateLimit!: RateLimitState | null;

  @Field(() => QuotaState, { nullable: true, description: 'Null when calls are not metered or the key was not found.' })
  quota!: QuotaState | null;
}
