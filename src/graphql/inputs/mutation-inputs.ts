// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { badUserInput } from '../../errors.js';
import { ReportUsageInput, UsageRecord } from '../types/usage.js';

/** The reason on every argument an input object replaces: kept working for one release. */
export const USE_INPUT = 'Pass input instead; this argument will be removed in the next release.';

/**
 * The mutation's input object, or one built from its deprecated arguments when it has none. A
 * missing required argument answers BAD_USER_INPUT naming `input`.
 */
export function inputOrLegacy<T extends object>(input: T | null | undefined, legacy: { [K in keyof T]?: T[K] | null }, required: readonly (keyof T & string)[]): T {
  if (input) return input;
  const missing = required.filter((k) => legacy[k] === null || legacy[k] === undefined);
  if (missing.length > 0) throw badUserInput('input', `input: required (or the deprecated arguments ${missing.join(', ')})`);
  return legacy as unknown as T;
}

@InputType({ description: 'A Stripe Checkout page (mode subscription) for a self-serve plan.' })
export class CreateCheckoutSessionInput {
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

@InputType({ description: 'Undo a pending cancellation.' })
export class ResumeInput {
  @Field(() => ID, { description: 'The subscription (sub_…); customers: their own only.' })
  subscriptionId!: string;

  @Field(() => String, { nullable: true, description: 'Repeats with the same key return the first answer.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'Queue a parked webhook event again.' })
export class RetryParkedWebhookEventInput {
  @Field(() => ID, { description: "The parked event's id (evt_…)." })
  id!: string;
}

@InputType({ description: 'A new secret for an API key.' })
export class RollApiKeyInput {
  @Field(() => ID, { description: "The key's id (key_…)." })
  id!: string;

  @Field(() => String, { nullable: true, description: 'A repeat answers CONFLICT: the secret is never shown twice.' })
  idempotencyKey?: string | null;
}

@InputType({ description: 'End an API key.' })
export class RevokeApiKeyInput {
  @Field(() => ID, { description: "The key's id (key_…)." })
  id!: string;
}

@InputType({ description: 'Usage records to store in one transaction, all or nothing.' })
export class ReportUsageRecordsInput {
  @Field(() => [ReportUsageInput], { description: 'Up to 1,000 records.' })
  records!: ReportUsageInput[];
}

@ObjectType({ description: 'The records reportUsageRecords stored (or found stored).' })
export class ReportUsageRecordsPayload {
  @Field(() => [UsageRecord], { description: 'One per input record, in order (duplicate: true for keys seen before or earlier in the batch).' })
  records!: UsageRecord[];
}
