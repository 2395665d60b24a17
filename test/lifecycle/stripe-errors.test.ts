/**
 * The Stripe → contract error mapping, with the SDK's own error classes (what it throws for each
 * HTTP answer). The emulator has no card that needs 3-D Secure, so PAYMENT_ACTION_REQUIRED is checked here.
 */
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { mapStripeError } from '../../src/billing/stripe-errors.js';
import { AppError } from '../../src/graphql/errors.js';

const E = Stripe.errors;

describe('mapStripeError', () => {
  it('card declined → CARD_DECLINED with the decline code', () => {
    const e = mapStripeError(new E.StripeCardError({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' }));
    expect(e.extensions).toEqual({ code: 'CARD_DECLINED', declineCode: 'insufficient_funds' });
    expect(e.message).toBe('Your card has insufficient funds.');
  });

  it('authentication required → PAYMENT_ACTION_REQUIRED with the client secret', () => {
    const e = mapStripeError(
      new E.StripeCardError({
        type: 'card_error',
        code: 'authentication_required',
        message: 'This payment requires authentication.',
        payment_intent: { id: 'pi_1', object: 'payment_intent', status: 'requires_action', client_secret: 'pi_1_secret_abc' } as never,
      }),
    );
    expect(e.extensions).toEqual({ code: 'PAYMENT_ACTION_REQUIRED', clientSecret: 'pi_1_secret_abc' });
  });

  it('idempotency error → CONFLICT; 429 → RATE_LIMITED; 5xx and connection errors → UPSTREAM_UNAVAILABLE', () => {
    expect(mapStripeError(new E.StripeIdempotencyError({ type: 'idempotency_error', message: 'Keys for idempotent requests…' })).code).toBe('CONFLICT');
    expect(mapStripeError(new E.StripeRateLimitError({ type: 'invalid_request_error', code: 'rate_limit', message: 'slow down', statusCode: 429 } as never)).code).toBe('RATE_LIMITED');
    expect(mapStripeError(new E.StripeAPIError({ type: 'api_error', message: 'boom', statusCode: 500 } as never)).code).toBe('UPSTREAM_UNAVAILABLE');
    expect(mapStripeError(new E.StripeConnectionError({ type: 'api_error', message: 'ECONNREFUSED' } as never)).code).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('an invalid request names the caller field when it maps, else is internal with a masked message', () => {
    const bad = new E.StripeInvalidRequestError({ type: 'invalid_request_error', param: 'discounts[0][promotion_code]', message: 'This promotion code has expired' });
    expect(mapStripeError(bad, { fields: { discounts: 'promotionCode' } }).extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'promotionCode' });
    const auth = mapStripeError(new E.StripeAuthenticationError({ type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****1234' }));
    expect(auth.code).toBe('INTERNAL_SERVER_ERROR');
    expect(auth.message).not.toMatch(/sk_/);
  });

  it('passes an AppError through', () => {
    const e = new AppError('FORBIDDEN', 'no');
    expect(mapStripeError(e)).toBe(e);
  });
});
