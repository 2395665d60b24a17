/**
 * The contract's scalars, by exactly these names: `DateTime` (ISO-8601, UTC) and `JSONObject`.
 * graphql-scalars implements both; type-graphql maps JS `Date` to DateTime through `scalarsMap`.
 */
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';

export const DateTimeScalar = GraphQLDateTime;
export const JSONObjectScalar = GraphQLJSONObject;
