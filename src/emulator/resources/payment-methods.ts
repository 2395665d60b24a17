import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { cardError, invalidRequest } from '../errors.js';
import { newId } from '../ids.js';
import type { Router } from '../http/router.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';

export type PaymentMethodRecord = Stripe.PaymentMethod & Stored;

/** How a test card behaves, keyed by Stripe's test PaymentMethod tokens. */
export type CardBehaviour = 'succeeds' | 'declined' | 'fails_after_attach' | 'requires_authentication';
const TEST_TOKENS: Record<string, { brand: string; last4: string; behaviour: CardBehaviour }> = {
  pm_card_visa: { brand: 'visa', last4: '4242', behaviour: 'succeeds' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', behaviour: 'succeeds' },
  pm_card_chargeDeclined: { brand: 'visa', last4: '0002', behaviour: 'declined' },
  pm_card_chargeCustomerFail: { brand: 'visa', last4: '0341', behaviour: 'fails_after_attach' },
  // 3-D Secure on every charge: on-session charges wait for the customer (`requires_action`),
  // off-session ones (renewals) are declined with `authentication_required`.
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', behaviour: 'requires_authentication' },
  pm_card_threeDSecure2Required: { brand: 'visa', last4: '3220', behaviour: 'requires_authentication' },
};

/** The card behaviour of a stored payment method (what the billing engine asks before charging). */
export function cardBehaviour(pm: PaymentMethodRecord): CardBehaviour {
  return ((pm.metadata as Record<string, string> | null)?.['emulator_behaviour'] as CardBehaviour | undefined) ?? 'succeeds';
}

/**
 * Resolves a PaymentMethod id or a test token to a stored PaymentMethod. Like Stripe, a test
 * token (`pm_card_visa`) yields a new PaymentMethod each time it is used.
 */
export function resolvePaymentMethod(emu: Emulator, id: string, param: string): PaymentMethodRecord {
  const token = TEST_TOKENS[id];
  if (!token) return emu.store.require<PaymentMethodRecord>('payment_method', id, 'PaymentMethod', param);
  const pm: PaymentMethodRecord = {
    id: newId('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: token.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: token.brand,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      fingerprint: id,
      funding: 'credit',
      generated_from: null,
      last4: token.last4,
      networks: { available: [token.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: emu.realNow(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: { emulator_behaviour: token.behaviour },
    type: 'card',
  };
  return emu.store.insert('payment_method', pm);
}

/** Attaches a payment method (or test token) to a customer; a declining card fails here, as at Stripe. */
export function attachPaymentMethod(emu: Emulator, id: string, customerId: string, param: string): PaymentMethodRecord {
  const pm = attachablePaymentMethod(emu, id, customerId, param);
  markAttached(emu, pm, customerId);
  return pm;
}

/**
 * The payment method an attachment would attach (a test token becomes a new PaymentMethod), checked
 * as attaching checks it (someone else's card, a declining card), without attaching it yet: callers
 * that must validate everything before changing state (customers.create) attach it afterwards with
 * `markAttached`.
 */
export function attachablePaymentMethod(emu: Emulator, id: string, customerId: string, param: string): PaymentMethodRecord {
  const pm = resolvePaymentMethod(emu, id, param);
  const fresh = pm.id !== id;
  if (pm.customer && pm.customer !== customerId) {
    throw invalidRequest('The payment method you provided has already been attached to a customer.', param);
  }
  if (cardBehaviour(pm) === 'declined') {
    // A token's card that is refused leaves nothing behind.
    if (fresh) emu.store.delete('payment_method', pm.id);
    throw cardError('Your card was declined.', 'generic_decline', { param, payment_method: pm });
  }
  return pm;
}

/** Attaches a checked payment method to the customer (`payment_method.attached`), once. */
export function markAttached(emu: Emulator, pm: PaymentMethodRecord, customerId: string): void {
  if (pm.customer) return;
  pm.customer = customerId;
  emu.store.changed();
  emu.events.emit('payment_method.attached', pm);
}

/** A payment method that must already belong to the customer (e.g. to become its default). */
export function requireAttached(emu: Emulator, id: string, customerId: string, param: string): PaymentMethodRecord {
  const pm = emu.store.require<PaymentMethodRecord>('payment_method', id, 'PaymentMethod', param);
  if (pm.customer !== customerId) {
    throw invalidRequest(`The customer does not have a payment method with the ID ${id}. The payment method must be attached to the customer.`, param);
  }
  return pm;
}

export function registerPaymentMethods(router: Router, emu: Emulator): void {
  router.get('/v1/payment_methods/:id', ({ params: p, path }) => {
    p.done();
    return resolvePaymentMethod(emu, path.id!, 'payment_method');
  });

  router.post('/v1/payment_methods/:id/attach', ({ params: p, path }) => {
    const customer = p.string('customer', { required: true });
    p.done();
    emu.store.require('customer', customer, 'customer', 'customer');
    return attachPaymentMethod(emu, path.id!, customer, 'payment_method');
  });

  router.post('/v1/payment_methods/:id/detach', ({ params: p, path }) => {
    p.done();
    const pm = emu.store.require<PaymentMethodRecord>('payment_method', path.id!, 'PaymentMethod');
    if (!pm.customer) throw invalidRequest('The payment method you provided is not attached to a customer so detachment is impossible.');
    const customer = emu.store.get<Stripe.Customer & Stored>('customer', pm.customer as string);
    if (customer?.invoice_settings?.default_payment_method === pm.id) customer.invoice_settings.default_payment_method = null;
    pm.customer = null;
    emu.store.changed();
    emu.events.emit('payment_method.detached', pm);
    return pm;
  });

  router.get('/v1/customers/:id/payment_methods', ({ params: p, path, url }) => {
    emu.store.require('customer', path.id!, 'customer');
    const type = p.string('type');
    const list = newestFirst(emu.store.all<PaymentMethodRecord>('payment_method')).filter(
      (pm) => pm.customer === path.id && (type === undefined || pm.type === type),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}
