// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Arg, Args, ArgsType, Authorized, Ctx, Extensions, Field, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ApiKeyView } from '../../billing/api-keys/key-rows.js';
import type { GraphQLContext } from '../context.js';
import { ApiKey, ApiKeySecret, ApiKeyVerification, ApiKeyVerificationCode, CreateApiKeyInput } from '../types/api-key.js';
import { Customer } from '../types/customer.js';
import { customerNodeOf } from './subscription.resolver.js';
import { errorsDoc } from '../types/error-code.js';
import { EFFECTS } from '../jit-queries.js';
import { inputOrLegacy, RevokeApiKeyInput, RollApiKeyInput, USE_INPUT } from '../inputs/mutation-inputs.js';

export function toApiKeyNode(k: ApiKeyView): ApiKey {
  return Object.assign(new ApiKey(), {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    customerId: k.customerId,
    verifications: Object.entries(k.verifications).map(([code, count]) => ({ code: code as ApiKeyVerificationCode, count })),
  });
}

@ArgsType()
class VerifyApiKeyArgs {
  @Field(() => String, { description: "The secret presented to the product's API." })
  key!: string;

  @Field(() => Int, { nullable: true, defaultValue: 1, description: "Units to count on the plan's meter when valid." })
  cost?: number | null;

  @Field(() => String, { nullable: true, description: 'The same requestId is counted once and answered the same again.' })
  requestId?: string | null;
}

/** createApiKey, rollApiKey, revokeApiKey and verifyApiKey: parse, authorise (declared; the service checks whose key it is), call the service. */
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized('customer', 'admin')
  @Mutation(() => ApiKeySecret, { nullable: true, description: 'A new API key; the secret is in the answer once (customers for themselves; admins name customerId).' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT') })
  async createApiKey(@Arg('input', () => CreateApiKeyInput, { description: 'The new key.' }) input: CreateApiKeyInput, @Ctx() ctx: GraphQLContext): Promise<ApiKeySecret> {
    const { apiKey, secret } = await ctx.services.apiKeys.create(ctx.auth, input);
    return { apiKey: toApiKeyNode(apiKey), secret };
  }

  @Authorized('customer', 'admin')
  @Mutation(() => ApiKeySecret, { nullable: true, description: 'A new secret for the same key; the old secret stops working at once.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT') })
  async rollApiKey(
    @Arg('id', () => ID, { nullable: true, description: "The key's id.", deprecationReason: USE_INPUT }) legacyId: string | null | undefined,
    @Arg('idempotencyKey', () => String, { nullable: true, description: 'Repeats with the same key return the first answer.', deprecationReason: USE_INPUT }) legacyKey: string | null | undefined,
    @Arg('input', () => RollApiKeyInput, { nullable: true, description: 'The key to roll.' }) input: RollApiKeyInput | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApiKeySecret> {
    const { id, idempotencyKey } = inputOrLegacy(input, { id: legacyId, idempotencyKey: legacyKey }, ['id']);
    const { apiKey, secret } = await ctx.services.apiKeys.roll(ctx.auth, id, idempotencyKey);
    return { apiKey: toApiKeyNode(apiKey), secret };
  }

  @Authorized('customer', 'admin')
  @Mutation(() => ApiKey, { nullable: true, description: 'Ends the key; it stays listed with revokedAt set.' + errorsDoc('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND') })
  async revokeApiKey(
    @Arg('id', () => ID, { nullable: true, description: "The key's id.", deprecationReason: USE_INPUT }) legacyId: string | null | undefined,
    @Arg('input', () => RevokeApiKeyInput, { nullable: true, description: 'The key to revoke.' }) input: RevokeApiKeyInput | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApiKey> {
    const { id } = inputOrLegacy(input, { id: legacyId }, ['id']);
    return toApiKeyNode(await ctx.services.apiKeys.revoke(ctx.auth, id));
  }

  @Authorized('service', 'admin')
  // Counts usage and the rate limit: never run twice for one request (src/graphql/jit-queries.ts).
  @Extensions({ [EFFECTS]: true })
  @Query(() => ApiKeyVerification, { description: 'Service and admin tokens only: the same check as POST /v1/keys/verify.' })
  async verifyApiKey(@Args() args: VerifyApiKeyArgs, @Ctx() ctx: GraphQLContext): Promise<ApiKeyVerification> {
    const v = await ctx.services.apiKeys.verify(ctx.auth, args);
    return { ...v, code: v.code as ApiKeyVerificationCode };
  }

  @FieldResolver(() => Customer)
  customer(@Root() key: ApiKey, @Ctx() ctx: GraphQLContext): Promise<Customer> {
    return customerNodeOf(key.customerId, ctx);
  }
}

/** `Customer.apiKeys` (the Customer node is already authorised by whoever returned it). */
@Resolver(() => Customer)
export class CustomerApiKeysResolver {
  @FieldResolver(() => [ApiKey], { description: "The customer's API keys, oldest first, revoked ones included." })
  async apiKeys(@Root() customer: Customer, @Ctx() ctx: GraphQLContext): Promise<ApiKey[]> {
    return (await ctx.services.apiKeys.ofCustomer(customer.id)).map(toApiKeyNode);
  }
}
