// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { JSONObjectScalar } from '../scalars.js';
import { PageInfo } from './pagination.js';

@ObjectType()
export class Customer {
  @Field(() => ID, { description: 'Stripe customer id (cus_…).' })
  id!: string;

  @Field({ description: "The caller's id in the product using the gateway (the token's sub); empty for customers created outside the gateway." })
  externalId!: string;

  @Field(() => String, { nullable: true })
  email!: string | null;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => JSONObjectScalar)
  metadata!: Record<string, string>;

  @Field(() => Date)
  createdAt!: Date;
}

@ObjectType()
export class CustomerEdge {
  @Field()
  cursor!: string;

  @Field(() => Customer)
  node!: Customer;
}

@ObjectType()
export class CustomerConnection {
  @Field(() => [CustomerEdge])
  edges!: CustomerEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
