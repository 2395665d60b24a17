// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, InterfaceType } from 'type-graphql';

/** The GraphQL type of a Stripe id, by its prefix; null for ids the gateway does not serve as nodes. */
export function nodeTypeOfId(id: string): 'Customer' | 'BillingSubscription' | 'Invoice' | null {
  if (id.startsWith('cus_')) return 'Customer';
  if (id.startsWith('sub_')) return 'BillingSubscription';
  if (id.startsWith('in_') || id.startsWith('upcoming_in')) return 'Invoice';
  return null;
}

@InterfaceType({
  description: 'An object with a Stripe id, unique across types (cus_…, sub_…, in_…): clients may cache by it and refetch with Query.node.',
  resolveType: (value: { id: string }) => nodeTypeOfId(value.id) ?? undefined,
})
export abstract class Node {
  @Field(() => ID, { description: 'The Stripe id.' })
  id!: string;
}
