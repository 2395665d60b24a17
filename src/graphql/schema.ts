/**
 * Builds the executable schema from the type-graphql resolvers. Later issues pass their resolver
 * classes (and, for subscriptions, the PubSub) through `BuildSchemaOptions`.
 */
import 'reflect-metadata';
import { GraphQLInterfaceType, GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema, type BuildSchemaOptions, type NonEmptyArray, type PubSub } from 'type-graphql';
import { ApiKeyResolver, CustomerApiKeysResolver } from './resolvers/api-key.resolver.js';
import { BillingEventsResolver } from './resolvers/billing-events.resolver.js';
import { BillingSessionMutationsResolver } from './resolvers/billing-session.mutations.resolver.js';
import { CustomerResolver } from './resolvers/customer.resolver.js';
import { CustomerConnectionsResolver, InvoiceLinesConnectionResolver, ListConnectionsResolver } from './resolvers/connections.resolver.js';
import { CustomerAccessStateResolver } from './resolvers/customer-access.resolver.js';
import { CustomerInvoicesResolver, InvoiceConnectionResolver, InvoiceResolver } from './resolvers/invoice.resolver.js';
import { MoneyResolver } from './resolvers/money.resolver.js';
import { MrrResolver } from './resolvers/mrr.resolver.js';
import { NodeResolver } from './resolvers/node.resolver.js';
import { RevenueResolver } from './resolvers/revenue.resolver.js';
import { ParkedWebhookEventsResolver } from './resolvers/parked-webhook-events.resolver.js';
import { PlanResolver } from './resolvers/plan.resolver.js';
import { SubscriptionMutationsResolver } from './resolvers/subscription-mutations.resolver.js';
import { CustomerSubscriptionsResolver, SubscriptionResolver } from './resolvers/subscription.resolver.js';
import { CustomerUsageResolver, UsageResolver } from './resolvers/usage.resolver.js';
import { UsageFlushResolver } from './resolvers/usage-flush.resolver.js';
import { gatewayAuthChecker } from './auth-checker.js';
import { UsageRecordsResolver } from './resolvers/usage-records.resolver.js';
import { useDirectResolverCalls } from './direct-resolvers.js';
import { usePlainFieldResolution } from './plain-fields.js';
import { DateTimeScalar } from './scalars.js';
import { ErrorCodeEnum } from './types/error-code.js';
import { nodeTypeOf } from './types/node.js';
import './types/enums.js';

export interface GatewaySchemaOptions {
  /** Resolver classes added by later features (mutations, subscriptions, …). */
  resolvers?: Function[];
  /** Required by type-graphql once a resolver declares a @Subscription. */
  pubSub?: PubSub;
}

export const CORE_RESOLVERS = [
  PlanResolver,
  MoneyResolver,
  NodeResolver,
  CustomerResolver,
  // subscriptions, invoices, and the Customer fields that list them.
  SubscriptionResolver,
  CustomerSubscriptionsResolver,
  InvoiceResolver,
  InvoiceConnectionResolver,
  CustomerInvoicesResolver,
  // Query.mrr and the live subscriptions (billingEvents, mrrUpdated, milestoneReached).
  MrrResolver,
  RevenueResolver,
  BillingEventsResolver,
  // webhook events given up after repeated failures (admins).
  ParkedWebhookEventsResolver,
  // subscribe, changePlan, cancel, resume, upcomingInvoice, portal and checkout sessions.
  SubscriptionMutationsResolver,
  BillingSessionMutationsResolver,
  // Customer.accessState.
  CustomerAccessStateResolver,
  // the usage ledger (reportUsage, reportUsageBatch, Customer.usage) and entitlements.
  UsageResolver,
  CustomerUsageResolver,
  // Admins: how far sending usage to Stripe is behind.
  UsageFlushResolver,
  // API keys: create/roll/revoke, Customer.apiKeys, verifyApiKey.
  ApiKeyResolver,
  CustomerApiKeysResolver,
  // Connections beside the plain lists: every list that can grow pages both ways.
  ListConnectionsResolver,
  CustomerConnectionsResolver,
  InvoiceLinesConnectionResolver,
  // reportUsageBatch with one input object.
  UsageRecordsResolver,
] as const;

export async function buildGatewaySchema(options: GatewaySchemaOptions = {}): Promise<GraphQLSchema> {
  const resolvers = [...CORE_RESOLVERS, ...(options.resolvers ?? [])] as unknown as NonEmptyArray<Function>;
  // No `container` or `globalMiddlewares`: plain fields and direct resolver calls below rely on their absence.
  const buildOptions: BuildSchemaOptions = {
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    // Input checks are explicit in services (BAD_USER_INPUT naming the field), not class-validator.
    validate: false,
    // `@Authorized(roles)` on a field: checked before its resolver (or subscribe) runs.
    authChecker: gatewayAuthChecker,
    // type-graphql wants a PubSub once any @Subscription exists; the live ones read the server's bus (AppDeps.bus).
    pubSub: options.pubSub ?? createPubSub(),
  };
  const schema = await buildSchema(buildOptions);
  describeRootTypes(schema);
  // No field returns ErrorCode (codes travel in extensions), so it is added as a type of its own for clients to generate.
  const config = schema.toConfig();
  const gateway = new GraphQLSchema({ ...config, types: [...config.types, ErrorCodeEnum] });
  usePlainFieldResolution(gateway, buildOptions);
  useDirectResolverCalls(gateway, buildOptions);
  // type-graphql wraps a type resolver in an async function; graphql-jit (./jit-queries.ts) takes its
  // answer as it comes, so the interface gets the plain function back.
  const node = gateway.getType('Node');
  if (node instanceof GraphQLInterfaceType) node.resolveType = nodeTypeOf;
  return gateway;
}

/** type-graphql builds the root types itself and takes no description for them. */
function describeRootTypes(schema: GraphQLSchema): void {
  const query = schema.getQueryType();
  const mutation = schema.getMutationType();
  const subscription = schema.getSubscriptionType();
  if (query) query.description = 'Reads. Each field that can fail on its own (auth, not found, Stripe) is nullable: its error leaves the other fields\' data.';
  if (mutation) mutation.description = 'Writes: Stripe first, with an idempotency key, then the mirror. Each field is nullable, so one failing mutation leaves the others\' results.';
  if (subscription) subscription.description = 'Live events over graphql-ws (graphql-transport-ws on /graphql).';
}
