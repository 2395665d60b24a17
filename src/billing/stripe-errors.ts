/**
 * The one place that turns a Stripe SDK error into one of the public errors (`extensions.code`, docs/api.md).
 *
 * - card errors → CARD_DECLINED with `declineCode` (or PAYMENT_ACTION_REQUIRED with the client secret
 *   when the card needs authentication: `authentication_required`, `subscription_payment_intent_requires_action`
 *   (no PaymentIntent exists then: an empty secret, so callers that can should create with allow_incomplete),
 *   or a PaymentIntent in `requires_action`);
 * - idempotency errors (same key, other parameters; a concurrent duplicate) → CONFLICT;
 * - 429 → RATE_LIMITED;
 * - connection errors and 5xx (what is left after the SDK's own retries) → UPSTREAM_UNAVAILABLE;
 * - an invalid request about a parameter the caller controls → BAD_USER_INPUT naming the caller's field
 *   (the caller says which Stripe params map to which input fields); any other invalid request, an
 *   authentication or permission error is our fault → INTERNAL_SERVER_ERROR (logged, message masked).
 *
 * Stripe's own messages are passed on only for card and user-input errors: they never hold a key.
 */
import { AppError, badUserInput, cardDeclined, conflict, internalError, paymentActionRequired, rateLimited, upstreamUnavailable } from '../errors.js';
import { Counter } from 'prom-client';
import { metricsRegistry } from '../metrics.js';
import { logger } from '../log.js';

/** `/metrics`: failed Stripe calls of the gateway's mutations, by operation and the error code they became. */
export const stripeCallErrorsTotal = new Counter({
  name: 'stripe_call_errors_total',
  help: 'Stripe API calls that failed (after the SDK retries), by operation and resulting error code',
  labelNames: ['operation', 'code'] as const,
  registers: [metricsRegistry],
});

/** What a Stripe SDK error looks like (duck-typed: the SDK's classes differ between its ESM and CJS builds). */
export interface StripeLikeError {
  type?: string;
  rawType?: string;
  statusCode?: number;
  code?: string;
  decline_code?: string;
  param?: string;
  message?: string;
  headers?: Record<string, string>;
  payment_intent?: { status?: string; client_secret?: string | null } | null;
  raw?: { payment_intent?: { status?: string; client_secret?: string | null } | null };
}

export function isStripeError(err: unknown): err is StripeLikeError {
  return !!err && typeof err === 'object' && typeof (err as StripeLikeError).type === 'string' && (err as StripeLikeError).type!.startsWith('Stripe');
}

export interface StripeErrorContext {
  /** Stripe param (or its prefix, e.g. `discounts`) → the input field it came from. */
  fields?: Record<string, string>;
  /** For the log line. */
  operation?: string;
}

function fieldFor(param: string | undefined, fields: Record<string, string> | undefined): string | undefined {
  if (!param || !fields) return undefined;
  if (fields[param]) return fields[param];
  const match = Object.keys(fields)
    .filter((p) => param.startsWith(p))
    .sort((a, b) => b.length - a.length)[0];
  return match ? fields[match] : undefined;
}

/** The public error for `err` (an AppError passes through unchanged). */
export function mapStripeError(err: unknown, ctx: StripeErrorContext = {}): AppError {
  if (err instanceof AppError) return err;
  const mapped = mapError(err, ctx);
  stripeCallErrorsTotal.inc({ operation: ctx.operation ?? 'unknown', code: mapped.code });
  return mapped;
}

function mapError(err: unknown, ctx: StripeErrorContext): AppError {
  if (!isStripeError(err)) {
    logger.error({ err: err instanceof Error ? { message: err.message, name: err.name } : String(err), op: ctx.operation }, 'unexpected error around a Stripe call');
    return internalError();
  }
  const status = err.statusCode;
  const pi = err.payment_intent ?? err.raw?.payment_intent ?? null;

  if (err.type === 'StripeCardError' || err.rawType === 'card_error') {
    if (err.code === 'authentication_required' || isPaymentActionRequired(err) || pi?.status === 'requires_action') {
      return paymentActionRequired(pi?.client_secret ?? '', 'The payment needs customer action (e.g. 3-D Secure): confirm it with the client secret');
    }
    return cardDeclined(err.decline_code ?? err.code ?? 'card_declined', err.message || 'Your card was declined');
  }
  if (err.type === 'StripeIdempotencyError' || err.rawType === 'idempotency_error') {
    return conflict('This idempotency key was already used with a different request, or that request is still in progress');
  }
  if (status === 429 || err.type === 'StripeRateLimitError') {
    const retryAfter = Number(err.headers?.['retry-after']);
    return rateLimited(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1);
  }
  if (err.type === 'StripeConnectionError' || err.type === 'StripeAPIError' || (status !== undefined && status >= 500)) {
    logger.warn({ op: ctx.operation, status, type: err.type }, 'Stripe unavailable after retries');
    return upstreamUnavailable();
  }
  if (err.type === 'StripeInvalidRequestError' || err.rawType === 'invalid_request_error') {
    const field = fieldFor(err.param, ctx.fields);
    if (field) return badUserInput(field, err.message || 'Invalid value');
  }
  logger.error({ op: ctx.operation, status, type: err.type, code: err.code, param: err.param }, 'Stripe rejected a request');
  return internalError();
}

/**
 * Stripe's 402 for `payment_behavior: error_if_incomplete` when the first payment needs the customer
 * (3-D Secure): nothing was created, so the caller may create again letting the payment wait.
 */
export function isPaymentActionRequired(err: unknown): boolean {
  return isStripeError(err) && err.code === 'subscription_payment_intent_requires_action';
}

/** Runs a Stripe call and rethrows any failure as a public error. */
export async function callStripe<T>(fn: () => Promise<T>, ctx: StripeErrorContext = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapStripeError(err, ctx);
  }
}
