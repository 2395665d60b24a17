import { FieldResolver, Resolver, Root } from 'type-graphql';
import { Money } from '../types/money.js';

@Resolver(() => Money)
export class MoneyResolver {
  // Money values are plain objects built by src/money.ts; the string form is derived when asked for.
  @FieldResolver(() => String, {
    description: 'The same amount in minor units as a decimal integer string (e.g. "300000000000"), exact up to 2^53 − 1 (over 10^15): safe for totals of any size.',
  })
  amountString(@Root() money: Money): string {
    return String(money.amount);
  }
}
