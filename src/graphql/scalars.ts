/**
 * The public schema's scalars (schema.graphql), by exactly these names: `DateTime` (ISO-8601, UTC) and `JSONObject`.
 * graphql-scalars implements both; type-graphql maps JS `Date` to DateTime through `scalarsMap`.
 */
import { GraphQLScalarType } from 'graphql';
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';

export const DateTimeScalar = new GraphQLScalarType({
  ...GraphQLDateTime.toConfig(),
  description: 'ISO-8601 date-time, UTC: an RFC 3339 date-time string, e.g. 2026-03-01T00:00:00.000Z.',
  specifiedByURL: 'https://datatracker.ietf.org/doc/html/rfc3339',
});

export const JSONObjectScalar = new GraphQLScalarType({
  ...GraphQLJSONObject.toConfig(),
  description: 'A JSON object. Stripe-style metadata (Customer.metadata) holds string values only; the scalar itself accepts any JSON object.',
});
