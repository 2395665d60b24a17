/**
 * The public error codes (`extensions.code`, docs/api.md) and the error services throw. No GraphQL here:
 * services (src/billing, src/auth) throw `AppError`; graphql-js copies an error's `extensions` onto
 * the GraphQL error it builds, and `formatGatewayError` (src/graphql/errors.ts) decides what a
 * client may see.
 */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CARD_DECLINED',
  'PAYMENT_ACTION_REQUIRED',
  'CONFLICT',
  'RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface AppErrorExtensions {
  code: ErrorCode;
  [key: string]: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly extensions: AppErrorExtensions;
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.extensions = { ...extra, code };
  }
  get code(): ErrorCode {
    return this.extensions.code;
  }
}

export const unauthenticated = (message = 'Authentication required: send Authorization: Bearer <token>') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'Not allowed for this token') => new AppError('FORBIDDEN', message);
export const badUserInput = (field: string, message: string) => new AppError('BAD_USER_INPUT', message, { field });
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const cardDeclined = (declineCode: string, message = 'Your card was declined') =>
  new AppError('CARD_DECLINED', message, { declineCode });
export const paymentActionRequired = (clientSecret: string, message = 'The payment needs customer action') =>
  new AppError('PAYMENT_ACTION_REQUIRED', message, { clientSecret });
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', `Too many requests; retry after ${retryAfterSeconds} s`, { retryAfter: retryAfterSeconds });
export const upstreamUnavailable = (message = 'Stripe is unavailable; try again later') => new AppError('UPSTREAM_UNAVAILABLE', message);
export const internalError = () => new AppError('INTERNAL_SERVER_ERROR', 'Internal server error');

const SECRET = /\b(sk|rk)_(live|test)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9]+/g;
// The password of a connection URL (postgres://user:password@host), should a driver echo one.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi;

/** One line, no stack, no secret: the message of an Error (or a string), with a fallback. */
export function errorLine(err: unknown): string {
  let text = 'unexpected error';
  if (err instanceof Error && err.message) text = err.message;
  else if (typeof err === 'string' && err) text = err;
  return text.split('\n')[0]!.replace(SECRET, '[redacted]').replace(URL_PASSWORD, '$1:[redacted]@');
}
