/**
 * Stripe's error shape: `{ error: { type, code, message, param, decline_code } }` with its HTTP statuses.
 * Handlers throw these; the server turns anything else into a 500 `api_error` without a stack.
 */
export type StripeErrorType =
  | 'invalid_request_error'
  | 'card_error'
  | 'api_error'
  | 'idempotency_error'
  | 'rate_limit_error'
  | 'authentication_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  doc_url?: string;
  [extra: string]: unknown;
}

export class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    /** Extra response headers (e.g. `Stripe-Should-Retry`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeError {
  return new StripeError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });
}

export function missingParam(param: string): StripeError {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function unknownParam(param: string): StripeError {
  return invalidRequest(`Received unknown parameter: ${param}`, param, 'parameter_unknown');
}

export function invalidParam(param: string, expected: string): StripeError {
  return invalidRequest(`Invalid ${param}: must be ${expected}`, param, 'parameter_invalid');
}

export function resourceMissing(objectName: string, id: string, param = 'id'): StripeError {
  return new StripeError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${objectName}: '${id}'`,
    param,
  });
}

export function cardError(message: string, declineCode: string, extra: Record<string, unknown> = {}): StripeError {
  return new StripeError(402, { type: 'card_error', code: 'card_declined', decline_code: declineCode, message, ...extra });
}

export function notFoundRoute(method: string, path: string): StripeError {
  return new StripeError(404, {
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}).`,
  });
}

export function rateLimited(message: string): StripeError {
  return new StripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message });
}
