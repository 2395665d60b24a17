/**
 * `ErrorCode`: every `extensions.code` a client can meet, as an enum in the schema, so code
 * generators type it. Built from the same lists the error translator uses, so the two cannot drift.
 */
import { GraphQLEnumType } from 'graphql';
import { ERROR_CODES, REQUEST_ERROR_CODES, type ErrorCode } from '../errors.js';

type AnyErrorCode = ErrorCode | (typeof REQUEST_ERROR_CODES)[number];

const DESCRIPTIONS: Record<AnyErrorCode, string> = {
  UNAUTHENTICATED: 'No valid token: send Authorization: Bearer <JWT>.',
  FORBIDDEN: "The token may not do this (another customer's data, an admin-only field, a service token).",
  BAD_USER_INPUT: 'An argument is invalid; extensions.field names it when one field is at fault.',
  NOT_FOUND: 'The object named does not exist (or is not visible to this token).',
  CARD_DECLINED: 'The card was declined; extensions.declineCode carries Stripe\'s decline code.',
  PAYMENT_ACTION_REQUIRED: 'The payment needs the customer (3-D Secure); extensions.clientSecret confirms it.',
  CONFLICT: 'The same idempotency key was used for a different request.',
  RATE_LIMITED: 'Too many requests, or too many Stripe calls in one request.',
  UPSTREAM_UNAVAILABLE: 'Stripe could not be reached after retries; nothing was changed.',
  INTERNAL_SERVER_ERROR: 'An unexpected failure; the message says nothing of the internals.',
  GRAPHQL_PARSE_FAILED: 'The document is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The document does not validate against the schema (or breaks a depth or cost limit).',
  BAD_REQUEST: 'The HTTP request itself is malformed.',
  OPERATION_RESOLUTION_FAILURE: 'The operation to run could not be chosen (operationName).',
  PERSISTED_QUERY_NOT_FOUND: 'The persisted query hash is unknown: send the query with it.',
  PERSISTED_QUERY_NOT_SUPPORTED: 'Persisted queries are off.',
};

export const ErrorCodeEnum = new GraphQLEnumType({
  name: 'ErrorCode',
  description: "Every extensions.code a GraphQL error of this gateway can carry. Each mutation's description lists the ones it can return besides INTERNAL_SERVER_ERROR.",
  values: Object.fromEntries([...ERROR_CODES, ...REQUEST_ERROR_CODES].map((code) => [code, { value: code, description: DESCRIPTIONS[code] }])),
});

/** The sentence a mutation's description ends with, listing the codes it can return. */
export function errorsDoc(...codes: ErrorCode[]): string {
  return ` Errors: ${codes.join(', ')}.`;
}
