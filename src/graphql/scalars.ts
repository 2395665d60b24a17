/**
 * The contract's scalars, by exactly these names: `DateTime` (ISO-8601, UTC) and `JSONObject`.
 * graphql-scalars implements both; type-graphql maps JS `Date` to DateTime through `scalarsMap`.
 */
import { GraphQLScalarType } from 'graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';

export const DateTimeScalar = new GraphQLScalarType({
  ...GraphQLDateTime.toConfig(),
  description: 'ISO-8601 date-time, UTC.',
});

export const JSONObjectScalar = new GraphQLScalarType({
  ...GraphQLJSONObject.toConfig(),
  description: 'A JSON object with string values (Stripe-style metadata).',
});
