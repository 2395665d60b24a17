/**
 * The one place that decides what a client may see. `AppError` (src/errors.ts) reaches the client
 * as `extensions.code`; anything else (or one of Apollo's own request errors aside) is masked as
 * INTERNAL_SERVER_ERROR by `formatGatewayError`: no stack, no SQL, no secret.
 */
import type { GraphQLFormattedError } from 'graphql';
import { logger } from '../log.js';
import { AppError, ERROR_CODES } from '../errors.js';

export * from '../errors.js';

/** The error codes of docs/api.md a client may see as they are (INTERNAL_SERVER_ERROR is always masked). */
const PUBLIC_CODES = new Set<string>(ERROR_CODES.filter((c) => c !== 'INTERNAL_SERVER_ERROR'));

/** Apollo's request-level codes: their messages describe the client's request, never our internals. */
export const REQUEST_ERROR_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
] as const;
const REQUEST_CODES = new Set<string>(REQUEST_ERROR_CODES);

function unwrap(error: unknown): unknown {
  // Apollo and graphql-js wrap resolver errors; the original carries our AppError.
  let e = error as { originalError?: unknown } | undefined;
  for (let i = 0; i < 5 && e && typeof e === 'object' && e.originalError; i++) e = e.originalError as typeof e;
  return e;
}

/**
 * A variable graphql-js could not coerce (`Variable "$input" got invalid value … at "input.quantity"; …`)
 * is BAD_USER_INPUT without a field: name it by its path in the variables (`input.quantity`,
 * `records[3].timestamp`), as docs/api.md promises of every bad input.
 */
function withCoercionField(code: string, message: string, extensions: Record<string, unknown>): Record<string, unknown> {
  if (code !== 'BAD_USER_INPUT' || extensions.field !== undefined) return extensions;
  const m = /^Variable "\$([^"]+)" got invalid value .*? at "([^"]+)";/s.exec(message) ?? /^Variable "\$([^"]+)" got invalid value/.exec(message);
  return m ? { ...extensions, field: m[2] ?? m[1] } : extensions;
}

/**
 * Apollo `formatError` (and the graphql-ws `onError` shaping): keeps the public error codes and
 * Apollo's request errors, masks everything else, and never returns a stack trace.
 */
export function formatGatewayError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrap(error);
  const { stacktrace: _stack, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
  const code = typeof extensions.code === 'string' ? extensions.code : undefined;

  if (original instanceof AppError && original.code !== 'INTERNAL_SERVER_ERROR') {
    return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { ...original.extensions } };
  }
  if (!code || code === 'INTERNAL_SERVER_ERROR') {
    // Apollo's own refusals of a request (an APQ hash that does not match its query, …) carry an HTTP 4xx
    // and no code: they describe the client's request, so they keep Apollo's message.
    const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
    if (original === error && formatted.path === undefined && typeof status === 'number' && status >= 400 && status < 500) {
      return { message: formatted.message, extensions: { ...extensions, code: 'BAD_REQUEST' } };
    }
  }
  const fromResolver = original instanceof Error && !(original instanceof AppError) && formatted.path !== undefined;
  if (!fromResolver && code && (REQUEST_CODES.has(code) || PUBLIC_CODES.has(code))) {
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: withCoercionField(code, formatted.message, extensions) };
  }
  logger.error({ err: original instanceof Error ? { message: original.message, stack: original.stack, name: original.name } : original, path: formatted.path }, 'internal error');
  return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
