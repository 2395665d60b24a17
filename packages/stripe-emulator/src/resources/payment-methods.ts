import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { cardError, invalidRequest } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newestFirst, paginate } from '../list.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import type { Stored } from '../store.js';

export type PaymentMethodRecord = Stripe.PaymentMethod & Stored;

/** How a test card behaves, keyed by Stripe's test PaymentMethod tokens. */
export type CardBehaviour = 'succeeds' | 'declined' | 'fails_after_attach' | 'requires_authentication';
interface TestCard {
  brand: string;
  last4: string;
  behaviour: CardBehaviour;
}
const TEST_CARDS: Record<string, TestCard> = {
  visa: { brand: 'visa', last4: '4242', behaviour: 'succeeds' },
  visa_debit: { brand: 'visa', last4: '5556', behaviour: 'succeeds' },
  mastercard: { brand: 'mastercard', last4: '4444', behaviour: 'succeeds' },
  amex: { brand: 'amex', last4: '8431', behaviour: 'succeeds' },
  chargeDeclined: { brand: 'visa', last4: '0002', behaviour: 'declined' },
  visa_chargeDeclined: { brand: 'visa', last4: '0002', behaviour: 'declined' },
  chargeCustomerFail: { brand: 'visa', last4: '0341', behaviour: 'fails_after_attach' },
  // 3-D Secure on every charge: the customer must authenticate each payment (`requires_action`).
  authenticationRequired: { brand: 'visa', last4: '3184', behaviour: 'requires_authentication' },
  threeDSecure2Required: { brand: 'visa', last4: '3220', behaviour: 'requires_authentication' },
  threeDSecureRequired: { brand: 'visa', last4: '3063', behaviour: 'requires_authentication' },
};
/**
 * Behaviour follows the card number, as at Stripe (its test numbers decide the outcome), so
 * nothing internal shows on the PaymentMethod: each test card has its own last4.
 */
const BEHAVIOUR_BY_LAST4 = new Map(Object.values(TEST_CARDS).map((c) => [c.last4, c.behaviour]));

/** The test card a token names: `pm_card_visa` (PaymentMethod tokens) or `tok_visa` (card tokens). */
export function testCard(token: string): TestCard | undefined {
  const name = token.startsWith('pm_card_') ? token.slice(8) : token.startsWith('tok_') ? token.slice(4) : undefined;
  return name === undefined ? undefined : TEST_CARDS[name];
}

/** The card behaviour of a stored payment method (what the billing engine asks before charging). */
export function cardBehaviour(pm: PaymentMethodRecord): CardBehaviour {
  return (pm.card && BEHAVIOUR_BY_LAST4.get(pm.card.last4)) || 'succeeds';
}

/** An address hash (`billing_details[address]`, `shipping[address]`). */
export function readAddress(p: Params | undefined): Stripe.Address | null {
  if (!p) return null;
  return {
    city: p.string('city') ?? null,
    country: p.string('country') ?? null,
    line1: p.string('line1') ?? null,
    line2: p.string('line2') ?? null,
    postal_code: p.string('postal_code') ?? null,
    state: p.string('state') ?? null,
  };
}

/** `billing_details` as PaymentMethods take it (create and update). */
export function readBillingDetails(p: Params | undefined, current?: Stripe.PaymentMethod.BillingDetails): Stripe.PaymentMethod.BillingDetails | undefined {
  if (!p) return undefined;
  const base = current ?? { address: null, email: null, name: null, phone: null, tax_id: null };
  const addr = p.object('address');
  return {
    address: addr ? readAddress(addr) : base.address,
    email: p.has('email') ? (p.nullableString('email') ?? null) : base.email,
    name: p.has('name') ? (p.nullableString('name') ?? null) : base.name,
    phone: p.has('phone') ? (p.nullableString('phone') ?? null) : base.phone,
    tax_id: base.tax_id,
  };
}

/** A new card PaymentMethod for a test card (`id` is usually new; a card source keeps its `card_…` id). */
export function newCardPaymentMethod(
  emu: Emulator,
  card: TestCard,
  fields: { id?: string; billingDetails?: Stripe.PaymentMethod.BillingDetails; metadata?: Record<string, string> } = {},
): PaymentMethodRecord {
  const pm: PaymentMethodRecord = {
    id: fields.id ?? newId('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: fields.billingDetails ?? { address: null, email: null, name: null, phone: null, tax_id: null },
    card: {
      brand: card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: 'US',
      display_brand: card.brand,
      exp_month: 12,
      exp_year: new Date().getUTCFullYear() + 3,
      // One fingerprint per card number, as at Stripe.
      fingerprint: createHash('sha256').update(`${card.brand}:${card.last4}`).digest('base64url').slice(0, 16),
      funding: card.last4 === '5556' ? 'debit' : 'credit',
      generated_from: null,
      last4: card.last4,
      networks: { available: [card.brand], preferred: null },
      regulated_status: 'unregulated',
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: emu.realNow(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata: fields.metadata ?? {},
    type: 'card',
  };
  return emu.store.insert('payment_method', pm);
}

const ibanFingerprint = (iban: string): string => createHash('sha256').update(iban).digest('base64url').slice(0, 16);

/**
 * Stripe's test IBANs whose debits fail (Austria's `AT86…3202`, `AT59…3203`, Italy's `IT60X…3456`); every
 * other IBAN's debits succeed. Recognised by fingerprint, so the account number never needs storing.
 */
const FAILING_IBANS = new Set(['AT861904300235473202', 'AT591904300235473203', 'IT60X0542811101000000123456'].map(ibanFingerprint));

/** Whether a SEPA Direct Debit on this account fails once it settles. */
export function sepaDebitFails(pm: PaymentMethodRecord): boolean {
  return FAILING_IBANS.has(pm.sepa_debit?.fingerprint ?? '');
}

/** A SEPA Direct Debit PaymentMethod from an IBAN (only its shape is checked). */
function newSepaPaymentMethod(emu: Emulator, rawIban: string, billingDetails: Stripe.PaymentMethod.BillingDetails, metadata: Record<string, string>): PaymentMethodRecord {
  const iban = rawIban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban)) throw invalidRequest('The IBAN you provided is invalid.', 'sepa_debit[iban]', 'invalid_bank_account_iban');
  const pm: PaymentMethodRecord = {
    id: newId('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: billingDetails,
    created: emu.realNow(),
    customer: null,
    customer_account: null,
    livemode: false,
    metadata,
    sepa_debit: {
      bank_code: iban.slice(4, 9),
      branch_code: '',
      country: iban.slice(0, 2),
      fingerprint: ibanFingerprint(iban),
      generated_from: { charge: null, setup_attempt: null },
      last4: iban.slice(-4),
    },
    type: 'sepa_debit',
  };
  return emu.store.insert('payment_method', pm);
}

/** The PaymentMethod of a bank transfer to the customer's cash balance (`payment_method_data[type]=customer_balance`). */
export function newCustomerBalancePaymentMethod(emu: Emulator, customerId: string): PaymentMethodRecord {
  const pm: PaymentMethodRecord = {
    id: newId('pm', 24),
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: null, email: null, name: null, phone: null, tax_id: null },
    created: emu.realNow(),
    customer: customerId,
    customer_account: null,
    customer_balance: {},
    livemode: false,
    metadata: {},
    type: 'customer_balance',
  };
  return emu.store.insert('payment_method', pm);
}

/**
 * Resolves a PaymentMethod id or a test token to a stored PaymentMethod. Like Stripe, a test
 * token (`pm_card_visa`) yields a new PaymentMethod each time it is used.
 */
export function resolvePaymentMethod(emu: Emulator, id: string, param: string): PaymentMethodRecord {
  const card = id.startsWith('pm_card_') ? testCard(id) : undefined;
  if (!card) return emu.store.require<PaymentMethodRecord>('payment_method', id, 'PaymentMethod', param);
  return newCardPaymentMethod(emu, card);
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
  /** A card from a test token (`card[token]=tok_visa`); other types and raw card numbers are not emulated. */
  router.post('/v1/payment_methods', ({ params: p }) => {
    const type = p.string('type', { required: true });
    const sepa = type === 'sepa_debit' ? p.object('sepa_debit', { required: true }) : undefined;
    const iban = sepa?.string('iban', { required: true });
    const cardParams = p.object('card');
    const token = cardParams?.string('token');
    const billingDetails = readBillingDetails(p.object('billing_details'));
    const metadata = p.metadata();
    p.string('allow_redisplay');
    if (type === 'sepa_debit') {
      p.done();
      if (!billingDetails?.name || !billingDetails.email) {
        throw invalidRequest('SEPA Direct Debit needs billing_details[name] and billing_details[email].', billingDetails?.name ? 'billing_details[email]' : 'billing_details[name]');
      }
      return newSepaPaymentMethod(emu, iban!, billingDetails, mergeMetadata({}, metadata));
    }
    if (type !== 'card') {
      throw invalidRequest(`The emulator creates only card and sepa_debit PaymentMethods, not \`${type}\`.`, 'type', 'payment_method_unexpected_state');
    }
    if (!token) throw invalidRequest('Pass a test card token as card[token] (e.g. tok_visa): the emulator takes no card numbers.', 'card[token]', 'parameter_missing');
    const card = token.startsWith('tok_') ? testCard(token) : undefined;
    if (!card) throw invalidRequest(`No such token: '${token}'`, 'card[token]', 'resource_missing');
    p.done();
    const pm = newCardPaymentMethod(emu, card, { ...(billingDetails ? { billingDetails } : {}), metadata: mergeMetadata({}, metadata) });
    return pm;
  });

  router.post('/v1/payment_methods/:id', ({ params: p, path }) => {
    const metadata = p.metadata();
    const bd = p.object('billing_details');
    const card = p.object('card');
    const expMonth = card?.int('exp_month', { min: 1, max: 12 });
    const expYear = card?.int('exp_year');
    p.string('allow_redisplay');
    const pm = emu.store.require<PaymentMethodRecord>('payment_method', path.id!, 'PaymentMethod');
    const billingDetails = readBillingDetails(bd, pm.billing_details);
    p.done();
    return updateWithEvent(emu, 'payment_method.updated', pm, (m) => {
      m.metadata = mergeMetadata(m.metadata ?? {}, metadata);
      if (billingDetails) m.billing_details = billingDetails;
      if (m.card && expMonth !== undefined) m.card.exp_month = expMonth;
      if (m.card && expYear !== undefined) m.card.exp_year = expYear;
    });
  });

  router.get('/v1/payment_methods', ({ params: p, url }) => {
    const customer = p.string('customer');
    const type = p.string('type');
    const list = newestFirst(emu.store.all<PaymentMethodRecord>('payment_method')).filter(
      (pm) => (customer === undefined || pm.customer === customer) && (type === undefined || pm.type === type),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

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
