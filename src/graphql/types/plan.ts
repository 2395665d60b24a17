// type-graphql's decorators read design-time metadata as this module evaluates.
import 'reflect-metadata';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { BillingInterval } from './enums.js';
import { Money } from './money.js';
import { Node } from './node.js';

@ObjectType({ description: 'A metered component of a plan.' })
export class PlanMeter {
  @Field({ description: "The meter's id, as reportUsage names it." })
  meter!: string;

  @Field(() => Int, { description: 'Units included per billing period before overage is charged.' })
  included!: number;

  @Field({ description: 'Overage price per unit in minor units, as a decimal string ("0.1" = $0.001).' })
  unitAmountDecimal!: string;

  @Field({ description: 'Currency of the overage price.' })
  currency!: string;

  @Field(() => Int, { nullable: true, description: 'Hard cap per billing period (catalog `limit`): at or over it the entitlement is denied. Null: no cap, overage is billed.' })
  hardLimit!: number | null;
}

@ObjectType({ description: 'What API keys of customers on this plan may do.' })
export class ApiLimits {
  @Field(() => Int, { nullable: true, description: 'Requests per minute per key; null = unlimited.' })
  rateLimitPerMinute!: number | null;

  @Field(() => Int, { nullable: true, description: 'Units of the meter per billing period after which verification answers QUOTA_EXCEEDED; null = no hard cap (overage is billed).' })
  quota!: number | null;

  @Field(() => String, { nullable: true, description: 'The plan meter that each verified call counts against; null = calls are not metered.' })
  meter!: string | null;
}

@ObjectType({ implements: Node, description: 'A plan of the catalog (a Stripe price).' })
export class Plan implements Node {
  @Field(() => ID, { description: 'Catalog id; also the Stripe price lookup_key.' })
  id!: string;

  @Field({ description: 'Display name.' })
  name!: string;

  @Field(() => Money, { nullable: true, description: 'Null for custom-priced plans.' })
  price!: Money | null;

  @Field(() => BillingInterval, { description: 'How often it bills.' })
  interval!: BillingInterval;

  @Field(() => Int, { description: 'Number of intervals between billings (1 unless the catalog says otherwise).' })
  intervalCount!: number;

  @Field({ description: 'True when priced per seat (quantity).' })
  perSeat!: boolean;

  @Field({ description: 'True when customers may subscribe to it themselves.' })
  selfServe!: boolean;

  @Field(() => [String], { description: 'Features to show on a pricing page.' })
  features!: string[];

  @Field(() => [PlanMeter], { description: 'Metered components.' })
  meters!: PlanMeter[];

  @Field(() => ApiLimits, { description: 'Limits on API keys of customers on this plan.' })
  apiLimits!: ApiLimits;
}
