// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Customer } from './customer.js';

export enum ApiKeyVerificationCode {
  VALID = 'VALID',
  NOT_FOUND = 'NOT_FOUND',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
  RATE_LIMITED = 'RATE_LIMITED',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  SUSPENDED = 'SUSPENDED',
  NO_SUBSCRIPTION = 'NO_SUBSCRIPTION',
}
registerEnumType(ApiKeyVerificationCode, { name: 'ApiKeyVerificationCode' });

@ObjectType({ description: 'Verifications of one key with one outcome.' })
export class ApiKeyVerificationCount {
  @Field(() => ApiKeyVerificationCode)
  code!: ApiKeyVerificationCode;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'The first characters of the secret, safe to show.' })
  prefix!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'Last verification of this key (written in batches, about a second behind).' })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => [ApiKeyVerificationCount], { description: 'Verifications of this key by outcome (written in batches, about a second behind).' })
  verifications!: ApiKeyVerificationCount[];

  /** Resolved by ApiKeyResolver.customer. */
  customerId!: string;

  @Field(() => Customer)
  customer?: Customer;
}

@ObjectType()
export class ApiKeySecret {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'The whole key. Returned once; only a hash of it is stored.' })
  secret!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field()
  name!: string;

  @Field(() => ID, { nullable: true, description: 'Admins only: a key for this customer (cus_… or externalId).' })
  customerId?: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;

  @Field(() => String, { nullable: true, description: 'A repeat answers CONFLICT (extensions.apiKeyId) and creates nothing: the secret is never shown twice.' })
  idempotencyKey?: string | null;
}

@ObjectType()
export class RateLimitState {
  @Field(() => Int)
  limit!: number;

  @Field(() => Int)
  remaining!: number;

  @Field(() => Date)
  resetAt!: Date;
}

@ObjectType()
export class QuotaState {
  @Field(() => Int, { nullable: true, description: 'Null when the plan has no hard cap.' })
  limit!: number | null;

  @Field(() => Int)
  used!: number;

  @Field(() => Int, { nullable: true, description: 'Null when the plan has no hard cap.' })
  remaining!: number | null;

  @Field(() => Date)
  resetAt!: Date;
}

@ObjectType()
export class ApiKeyVerification {
  @Field()
  valid!: boolean;

  @Field(() => ApiKeyVerificationCode)
  code!: ApiKeyVerificationCode;

  @Field(() => ID, { nullable: true })
  keyId!: string | null;

  @Field(() => ID, { nullable: true })
  customerId!: string | null;

  @Field(() => String, { nullable: true })
  externalId!: string | null;

  @Field(() => ID, { nullable: true })
  plan!: string | null;

  @Field(() => RateLimitState, { nullable: true, description: 'Null when the plan has no rate limit or the key was not found.' })
  rateLimit!: RateLimitState | null;

  @Field(() => QuotaState, { nullable: true, description: 'Null when calls are not metered or the key was not found.' })
  quota!: QuotaState | null;
}
