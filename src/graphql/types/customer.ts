// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Node } from './node.js';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { JSONObjectScalar } from '../scalars.js';
import { PageInfo } from './pagination.js';

@ObjectType({ implements: Node, description: "A Stripe customer: the billing identity of one user of the product (the token's sub)." })
export class Customer implements Node {
  @Field(() => ID, { description: 'Stripe customer id (cus_…).' })
  id!: string;

  @Field({ description: "The caller's id in the product using the gateway (the token's sub); empty for customers created outside the gateway." })
  externalId!: string;

  @Field(() => String, { nullable: true, description: 'Email, from the token at creation.' })
  email!: string | null;

  @Field(() => String, { nullable: true, description: 'Display name, if set.' })
  name!: string | null;

  @Field(() => JSONObjectScalar, { description: 'Stripe metadata.' })
  metadata!: Record<string, string>;

  @Field(() => Date, { description: 'When the customer was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A customer and its cursor.' })
export class CustomerEdge {
  @Field({ description: 'Pass as after to continue past this customer.' })
  cursor!: string;

  @Field(() => Customer, { description: 'The customer.' })
  node!: Customer;
}

@ObjectType({ description: 'A page of customers.' })
export class CustomerConnection {
  @Field(() => [CustomerEdge], { description: 'The customers of this page.' })
  edges!: CustomerEdge[];

  @Field(() => PageInfo, { description: 'Where this page sits.' })
  pageInfo!: PageInfo;

  @Field(() => [Customer], { description: 'The customers of this page, without cursors.' })
  nodes!: Customer[];

  @Field(() => Int, { description: 'Customers matching the filter, across every page.' })
  totalCount!: number | Promise<number>;
}
