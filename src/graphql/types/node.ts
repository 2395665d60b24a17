// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InterfaceType } from 'type-graphql';

export type NodeTypeName = 'Customer' | 'BillingSubscription' | 'Invoice' | 'InvoiceLine' | 'ApiKey' | 'ParkedWebhookEvent' | 'Plan';

/** The GraphQL type of a Stripe id, by its prefix; null for ids without one (catalog plan ids). */
export function nodeTypeOfId(id: string): Exclude<NodeTypeName, 'Plan'> | null {
  if (id.startsWith('cus_')) return 'Customer';
  if (id.startsWith('sub_')) return 'BillingSubscription';
  if (id.startsWith('in_') || id.startsWith('upcoming_in')) return 'Invoice';
  if (id.startsWith('il_')) return 'InvoiceLine';
  if (id.startsWith('key_')) return 'ApiKey';
  if (id.startsWith('evt_')) return 'ParkedWebhookEvent';
  return null;
}

/** The GraphQL type of a node: every id but a plan's has a prefix. */
export const nodeTypeOf = (value: { id: string }): NodeTypeName => nodeTypeOfId(value.id) ?? 'Plan';

@InterfaceType({
  description:
    'An object with a globally unique id: a Stripe id (cus_…, sub_…, in_…, il_…, evt_…), an API key id (key_…) or a catalog plan id (which is its Stripe price lookup_key). Clients may cache by it and refetch with Query.node.',
  resolveType: nodeTypeOf,
})
export abstract class Node {
  @Field(() => ID, { description: 'The globally unique id.' })
  id!: string;
}
