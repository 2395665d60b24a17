import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { updateWithEvent, mergeMetadata } from './common.js';
import { cardBehaviour, readAddress, type PaymentMethodRecord } from './payment-methods.js';

export type ChargeRecord = Stripe.Charge & Stored;
export type BalanceTransactionRecord = Stripe.BalanceTransaction & Stored;

/** What a charge attempt is for: the PaymentIntent it belongs to and who is charged. */
export interface ChargeInput {
  amount: number;
  currency: string;
  customer: string | null;
  description: string | null;
  paymentIntent: string | null;
  metadata?: Record<string, string>;
  receiptEmail?: string | null;
  shipping?: Stripe.Charge.Shipping | null;
  statementDescriptor?: string | null;
  statementDescriptorSuffix?: string | null;
  /** Authorize only (`capture_method: manual`): captured later by `capture`. */
  capture: boolean;
  /** A debit that settles later (SEPA): `pending` (`charge.pending`) until `settleCharge`. */
  pending?: boolean;
  created: number;
}

/** Stripe's decline body for a card that fails: `card_declined`, or `authentication_required` off session. */
export function cardDecline(
  pm: PaymentMethodRecord,
  code: 'authentication_required' | 'card_declined',
  message: string,
  declineCode: string = code,
): Stripe.PaymentIntent.LastPaymentError {
  return {
    type: 'card_error',
    code,
    decline_code: declineCode,
    message,
    payment_method: structuredClone(pm) as Stripe.PaymentMethod,
    payment_method_type: 'card',
    doc_url: `https://stripe.com/docs/error-codes/${code.replaceAll('_', '-')}`,
  } as Stripe.PaymentIntent.LastPaymentError;
}

/** The decline a charge on this card gets (off session, a card that needs 3-D Secure is declined). */
export function declineOf(pm: PaymentMethodRecord): Stripe.PaymentIntent.LastPaymentError {
  return cardBehaviour(pm) === 'requires_authentication'
    ? cardDecline(pm, 'authentication_required', 'Your card was declined. This transaction requires authentication.')
    : cardDecline(pm, 'card_declined', 'Your card was declined.', 'generic_decline');
}

/** Stripe's fee for a US card payment (2.9 % + 30¢), in the charge's minor unit. */
function cardFee(amount: number): number {
  return Math.round(amount * 0.029) + 30;
}

/** The balance transaction a captured charge (or a refund) creates: `balance_transaction` on both. */
export function createBalanceTransaction(
  emu: Emulator,
  fields: { amount: number; currency: string; source: string; type: 'charge' | 'refund' | 'payment_failure_refund'; created: number; description: string | null },
): BalanceTransactionRecord {
  const fee = fields.type === 'charge' ? cardFee(fields.amount) : 0;
  const txn: BalanceTransactionRecord = {
    id: newId('txn', 24),
    object: 'balance_transaction',
    amount: fields.amount,
    available_on: fields.created + 2 * 86_400,
    balance_type: 'payments',
    created: fields.created,
    currency: fields.currency,
    description: fields.description,
    exchange_rate: null,
    fee,
    fee_details: fee ? [{ amount: fee, application: null, currency: fields.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: fields.amount - fee,
    reporting_category: fields.type === 'charge' ? 'charge' : 'refund',
    source: fields.source,
    status: 'pending',
    type: fields.type,
  };
  return emu.store.insert('balance_transaction', txn);
}

function billingDetailsOf(pm: PaymentMethodRecord | null): Stripe.Charge.BillingDetails {
  const b = pm?.billing_details;
  return {
    address: b?.address ?? { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
    email: b?.email ?? null,
    name: b?.name ?? null,
    phone: b?.phone ?? null,
    tax_id: b?.tax_id ?? null,
  };
}

function paymentMethodDetails(pm: PaymentMethodRecord, amount: number, ok: boolean): Stripe.Charge.PaymentMethodDetails {
  if (pm.type === 'customer_balance') return { customer_balance: {}, type: 'customer_balance' };
  if (pm.sepa_debit) {
    const s = pm.sepa_debit;
    return {
      sepa_debit: { bank_code: s.bank_code, branch_code: s.branch_code, country: s.country, fingerprint: s.fingerprint, last4: s.last4, mandate: null },
      type: 'sepa_debit',
    } as Stripe.Charge.PaymentMethodDetails;
  }
  const c = pm.card!;
  return {
    card: {
      amount_authorized: ok ? amount : null,
      authorization_code: ok ? String(100000 + (amount % 900000)) : null,
      brand: c.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
      country: c.country,
      exp_month: c.exp_month,
      exp_year: c.exp_year,
      extended_authorization: { status: 'disabled' },
      fingerprint: c.fingerprint ?? null,
      funding: c.funding,
      incremental_authorization: { status: 'unavailable' },
      installments: null,
      last4: c.last4,
      mandate: null,
      multicapture: { status: 'unavailable' },
      network: c.brand,
      network_token: { used: false },
      network_transaction_id: ok ? newId('', 15).slice(1) : null,
      overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
      regulated_status: 'unregulated',
      three_d_secure: null,
      transaction_link_id: null,
      wallet: null,
      electronic_commerce_indicator: null,
    },
    type: 'card',
  };
}

/**
 * Records one charge attempt on a card with Stripe's full shape and emits `charge.succeeded` or
 * `charge.failed`. A successful automatic capture gets its balance transaction at once; a manual one
 * when captured.
 */
export function recordCharge(emu: Emulator, input: ChargeInput, pm: PaymentMethodRecord, decline: Stripe.PaymentIntent.LastPaymentError | null): ChargeRecord {
  const ok = decline === null;
  const id = newId('ch', 24);
  const captured = ok && input.capture;
  const authRequired = decline?.code === 'authentication_required';
  const charge: ChargeRecord = {
    id,
    object: 'charge',
    amount: input.amount,
    amount_captured: captured ? input.amount : 0,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: captured
      ? createBalanceTransaction(emu, { amount: input.amount, currency: input.currency, source: id, type: 'charge', created: input.created, description: input.description }).id
      : null,
    billing_details: billingDetailsOf(pm),
    calculated_statement_descriptor: 'EMULATOR',
    captured,
    created: input.created,
    currency: input.currency,
    customer: input.customer,
    description: input.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: decline?.code ?? null,
    failure_message: decline?.message ?? null,
    fraud_details: {},
    livemode: false,
    metadata: input.metadata ?? {},
    on_behalf_of: null,
    outcome: ok
      ? { advice_code: null, network_advice_code: null, network_decline_code: null, network_status: 'approved_by_network', reason: null, risk_level: 'normal', risk_score: 32, seller_message: 'Payment complete.', type: 'authorized' }
      : {
          advice_code: authRequired ? 'try_again_later' : 'do_not_try_again',
          network_advice_code: null,
          network_decline_code: null,
          network_status: 'declined_by_network',
          reason: decline.decline_code ?? 'generic_decline',
          risk_level: 'normal',
          risk_score: 32,
          seller_message: 'The bank did not return any further details with this decline.',
          type: 'issuer_declined',
        },
    paid: ok,
    payment_intent: input.paymentIntent,
    payment_method: pm.id,
    payment_method_details: paymentMethodDetails(pm, input.amount, ok),
    receipt_email: input.receiptEmail ?? null,
    receipt_number: null,
    receipt_url: `${emu.baseUrl}/receipts/payment/${id}`,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
    review: null,
    shipping: input.shipping ?? null,
    source: null,
    source_transfer: null,
    statement_descriptor: input.statementDescriptor ?? null,
    statement_descriptor_suffix: input.statementDescriptorSuffix ?? null,
    status: ok ? (input.pending ? 'pending' : 'succeeded') : 'failed',
    transfer_data: null,
    transfer_group: null,
  };
  if (input.pending) charge.paid = false;
  emu.store.insert('charge', charge);
  emu.events.emit(ok ? (input.pending ? 'charge.pending' : 'charge.succeeded') : 'charge.failed', charge);
  return charge;
}

/** A pending debit settles: `charge.succeeded`, or `charge.failed` with the bank's refusal. */
export function settleCharge(emu: Emulator, charge: ChargeRecord, failure: { code: string; message: string } | null): void {
  Object.assign(charge, failure
    ? { status: 'failed', paid: false, failure_code: failure.code, failure_message: failure.message, amount_captured: 0, outcome: { ...charge.outcome!, network_status: 'declined_by_network', reason: failure.code, type: 'issuer_declined', seller_message: failure.message } }
    : { status: 'succeeded', paid: true });
  emu.store.changed();
  emu.events.emit(failure ? 'charge.failed' : 'charge.succeeded', charge);
}

/** Captures an authorized charge (all of it, or `amount`): `charge.captured`; the rest is released. */
export function captureCharge(emu: Emulator, charge: ChargeRecord, amount: number, now: number): ChargeRecord {
  charge.captured = true;
  charge.amount_captured = amount;
  charge.balance_transaction = createBalanceTransaction(emu, { amount, currency: charge.currency, source: charge.id, type: 'charge', created: now, description: charge.description }).id;
  if (amount < charge.amount) {
    charge.amount_refunded = charge.amount - amount;
    charge.refunded = false;
  }
  emu.store.changed();
  emu.events.emit('charge.captured', charge);
  return charge;
}

export function requireCharge(emu: Emulator, id: string, param = 'id'): ChargeRecord {
  return emu.store.require<ChargeRecord>('charge', id, 'charge', param);
}

/** The refunds list a charge shows (`charge.refunds`), newest first. */
export function refreshChargeRefunds(emu: Emulator, charge: ChargeRecord): void {
  const refunds = newestFirst(emu.store.all<Stripe.Refund & Stored>('refund').filter((r) => r.charge === charge.id));
  charge.refunds = { object: 'list', data: refunds, has_more: false, url: `/v1/charges/${charge.id}/refunds` };
}

/** `shipping` as PaymentIntents and Charges take it. */
export function readShipping(p: Params | undefined): Stripe.Charge.Shipping | null | undefined {
  if (!p) return undefined;
  const shipping = {
    address: readAddress(p.object('address', { required: true }))!,
    carrier: p.string('carrier') ?? null,
    name: p.string('name', { required: true }),
    phone: p.string('phone') ?? null,
    tracking_number: p.string('tracking_number') ?? null,
  };
  return shipping;
}


export function registerCharges(router: Router, emu: Emulator): void {
  router.get('/v1/charges/:id', ({ params: p, path }) => {
    p.done();
    const charge = requireCharge(emu, path.id!);
    refreshChargeRefunds(emu, charge);
    return charge;
  });

  router.post('/v1/charges/:id', ({ params: p, path }) => {
    const metadata = p.metadata();
    const description = p.nullableString('description');
    const receiptEmail = p.nullableString('receipt_email');
    const shipping = readShipping(p.object('shipping'));
    p.done();
    const charge = requireCharge(emu, path.id!);
    return updateWithEvent(emu, 'charge.updated', charge, (c) => {
      c.metadata = mergeMetadata(c.metadata, metadata);
      if (description !== undefined) c.description = description;
      if (receiptEmail !== undefined) c.receipt_email = receiptEmail;
      if (shipping !== undefined) c.shipping = shipping;
    });
  });

  router.get('/v1/charges', ({ params: p, url }) => {
    const customer = p.string('customer');
    const paymentIntent = p.string('payment_intent');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<ChargeRecord>('charge')).filter(
      (c) =>
        (customer === undefined || c.customer === customer) &&
        (paymentIntent === undefined || c.payment_intent === paymentIntent) &&
        (!created || created(c.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.get('/v1/balance_transactions/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require('balance_transaction', path.id!, 'balance transaction');
  });
}
