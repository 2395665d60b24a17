// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'An amount of money in integer minor units.' })
export class Money {
  @Field(() => Int, {
    description: "Amount in the currency's minor unit (cents for usd). A GraphQL Int: exact below 2^31 (21,474,836.47 in a two-decimal currency); a larger amount makes this field fail, so read amountString.",
  })
  amount!: number;

  @Field({ description: 'ISO 4217 code, lower case as Stripe writes it.' })
  currency!: string;

  @Field({ description: 'Human-readable, e.g. $4,523.00' })
  formatted!: string;
}
