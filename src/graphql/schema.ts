/**
 * Builds the executable schema from the type-graphql resolvers. Later issues pass their resolver
 * classes (and, for subscriptions, the PubSub) through `BuildSchemaOptions`.
 */
import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray, type PubSub } from 'type-graphql';
import { CustomerResolver } from './resolvers/customer.resolver.js';
import { PlanResolver } from './resolvers/plan.resolver.js';
import { DateTimeScalar } from './scalars.js';
import './types/enums.js';

export interface GatewaySchemaOptions {
  /** Resolver classes added by later features (mutations, subscriptions, …). */
  resolvers?: Function[];
  /** Required by type-graphql once a resolver declares a @Subscription. */
  pubSub?: PubSub;
}

export const CORE_RESOLVERS = [PlanResolver, CustomerResolver] as const;

export async function buildGatewaySchema(options: GatewaySchemaOptions = {}): Promise<GraphQLSchema> {
  const resolvers = [...CORE_RESOLVERS, ...(options.resolvers ?? [])] as unknown as NonEmptyArray<Function>;
  return buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Input checks are explicit in services (BAD_USER_INPUT naming the field), not class-validator.
    validate: false,
    ...(options.pubSub ? { pubSub: options.pubSub } : {}),
  });
}
