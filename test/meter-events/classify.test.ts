import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { classifySendError } from '../../src/stripe/meter-events/index.js';

/** Errors as the SDK builds them from a response (the same constructor it uses). */
function stripeError(statusCode: number, error: Record<string, unknown>, headers: Record<string, string> = {}): Error {
  return Stripe.errors.generateV1Error({ statusCode, headers, requestId: 'req_1', ...error } as never);
}

describe('classifySendError', () => {
  it('reads Stripe answers by what they mean for the row', () => {
    expect(classifySendError(stripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'slow down' }))).toEqual({ kind: 'rate_limited' });
    expect(classifySendError(stripeError(429, { type: 'invalid_request_error', message: 'x' }, { 'retry-after': '7' }))).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 7000,
    });
    expect(classifySendError(stripeError(400, { type: 'invalid_request_error', message: 'An event already exists with identifier abc.' }))).toEqual({
      kind: 'duplicate',
    });
    expect(classifySendError(stripeError(400, { type: 'invalid_request_error', param: 'timestamp', message: 'timestamp must be within the past 35 days.' }))).toMatchObject({
      kind: 'rejected',
      reason: '400 invalid_request_error: timestamp must be within the past 35 days.',
    });
    expect(classifySendError(stripeError(404, { type: 'invalid_request_error', code: 'resource_missing', message: 'No such customer' })).kind).toBe('rejected');
    expect(classifySendError(stripeError(409, { type: 'invalid_request_error', code: 'lock_timeout', message: 'busy' })).kind).toBe('transient');
    expect(classifySendError(stripeError(500, { type: 'api_error', message: 'boom' })).kind).toBe('transient');
    expect(classifySendError(new Error('socket hang up')).kind).toBe('transient');
  });

  it('an authentication failure is retried, never parked, and its reason carries no key', () => {
    const failure = classifySendError(stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_live_abcDEF1234567890' }));
    expect(failure).toMatchObject({ kind: 'auth' });
    const reason = (failure as { reason: string }).reason;
    expect(reason).toBe('401 invalid_request_error: Invalid API Key provided: [redacted]');
    expect(reason).not.toContain('abcDEF');
  });
});
