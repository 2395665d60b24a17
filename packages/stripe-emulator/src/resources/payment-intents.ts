import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest } from '../errors.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newId, newSecret } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { captureCharge, declineOf, readShipping, recordCharge, requireCharge, settleCharge, type ChargeInput } from './charges.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { applyCashBalance } from './cash-balance.js';
import { attachPaymentMethod, cardBehaviour, newCustomerBalancePaymentMethod, resolvePaymentMethod, sepaDebitFails, type PaymentMethodRecord } from './payment-methods.js';

export type PaymentIntentRecord = Stripe.PaymentIntent & Stored;

/**
 * Whether the customer is there to authenticate a charge: `off_session` (renewals, retries,
 * `off_session=true`), `on_session` (confirming a PaymentIntent, a subscription's first invoice: a
 * card that needs 3-D Secure waits for the challenge), or `authenticated` (the challenge was passed:
 * confirming a `requires_action` PaymentIntent again, as Stripe.js does afterwards).
 */
export type ChargeSession = 'off_session' | 'on_session' | 'authenticated';

/**
 * What a charge attempt did: Stripe's card error body on failure; `requiresAction` when the card
 * waits for the customer's 3-D Secure challenge (the PaymentIntent is `requires_action`).
 */
export type ChargeOutcome =
  | { ok: true }
  | { ok: false; requiresAction: false; error: Stripe.PaymentIntent.LastPaymentError }
  | { ok: false; requiresAction: true };

/** A new PaymentIntent (`requires_payment_method`, or `requires_confirmation` with a card), stored; no event. */
export function newPaymentIntent(
  emu: Emulator,
  fields: Partial<Stripe.PaymentIntent> & { amount: number; currency: string; created: number },
): PaymentIntentRecord {
  const id = newId('pi', 24);
  const pi: PaymentIntentRecord = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount_capturable: 0,
    amount_received: 0,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic',
    client_secret: `${id}_secret_${newSecret('x').slice(2, 26)}`,
    confirmation_method: 'automatic',
    customer: null,
    customer_account: null,
    description: null,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: null,
    livemode: false,
    managed_payments: null,
    metadata: {},
    next_action: null,
    on_behalf_of: null,
    payment_method: null,
    payment_method_configuration_details: null,
    payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'requires_payment_method',
    transfer_data: null,
    transfer_group: null,
    ...fields,
  } as PaymentIntentRecord;
  return emu.store.insert('payment_intent', pi);
}

/**
 * The PaymentIntent waits for the customer's 3-D Secure challenge (`payment_intent.requires_action`):
 * Stripe.js handles `use_stripe_sdk`, then confirms the PaymentIntent again.
 */
export function requireAction(emu: Emulator, pi: PaymentIntentRecord, pm: PaymentMethodRecord): void {
  Object.assign(pi, {
    status: 'requires_action',
    payment_method: pm.id,
    last_payment_error: null,
    next_action: {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        stripe_js: `${emu.baseUrl}/_emulator/3ds/${pi.id}`,
        source: `src_${pi.id.slice(3)}`,
        directory_server_name: 'visa',
      },
    },
  });
  emu.store.changed();
  emu.events.emit('payment_intent.requires_action', pi);
}

/** Whether a charge on this card, in this session, waits for 3-D Secure rather than going through. */
export function waitsForAuthentication(pm: PaymentMethodRecord, session: ChargeSession): boolean {
  return cardBehaviour(pm) === 'requires_authentication' && session !== 'authenticated';
}

/**
 * Confirms a PaymentIntent on a card once. Success: a charge (`charge.succeeded`), the PaymentIntent
 * `succeeded` (`payment_intent.succeeded`), or `requires_capture` for `capture_method: manual`
 * (`payment_intent.amount_capturable_updated`). A card that needs 3-D Secure: `requires_action`
 * (on session; off session when `offSessionDeclines`, it is declined `authentication_required`).
 * A decline: a failed charge (`charge.failed`), back to `requires_payment_method` with
 * `last_payment_error` (`payment_intent.payment_failed`).
 */
export function chargePaymentIntent(
  emu: Emulator,
  pi: PaymentIntentRecord,
  pm: PaymentMethodRecord,
  session: ChargeSession,
  opts: { offSessionDeclines?: boolean; onSettled?: (pi: PaymentIntentRecord, ok: boolean) => void } = {},
): ChargeOutcome {
  const now = emu.nowFor(pi);
  if (pm.type === 'sepa_debit') return processDebit(emu, pi, pm, now, opts.onSettled);
  if (pm.type === 'customer_balance') {
    applyCashBalance(emu, pi, pm, true);
    return pi.status === 'succeeded' ? { ok: true } : { ok: false, requiresAction: true };
  }
  const behaviour = cardBehaviour(pm);
  if (behaviour === 'requires_authentication' && session !== 'authenticated' && !(session === 'off_session' && opts.offSessionDeclines)) {
    requireAction(emu, pi, pm);
    return { ok: false, requiresAction: true };
  }
  const ok = behaviour === 'succeeds' || (behaviour === 'requires_authentication' && session === 'authenticated');
  const manual = pi.capture_method === 'manual';
  const charge = recordCharge(emu, { ...chargeInput(pi, now), capture: !manual }, pm, ok ? null : declineOf(pm));
  if (ok) {
    Object.assign(pi, {
      status: manual ? 'requires_capture' : 'succeeded',
      amount_received: manual ? 0 : pi.amount,
      amount_capturable: manual ? pi.amount : 0,
      payment_method: pm.id,
      latest_charge: charge.id,
      last_payment_error: null,
      next_action: null,
    });
    emu.store.changed();
    emu.events.emit(manual ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded', pi);
    return { ok: true };
  }
  const error = declineOf(pm);
  Object.assign(pi, { status: 'requires_payment_method', payment_method: null, last_payment_error: error, next_action: null, latest_charge: charge.id });
  emu.store.changed();
  emu.events.emit('payment_intent.payment_failed', pi);
  return { ok: false, requiresAction: false, error };
}

function chargeInput(pi: PaymentIntentRecord, now: number): ChargeInput {
  return {
    amount: pi.amount,
    currency: pi.currency,
    customer: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
    description: pi.description,
    paymentIntent: pi.id,
    metadata: { ...pi.metadata },
    receiptEmail: pi.receipt_email,
    shipping: pi.shipping,
    statementDescriptor: pi.statement_descriptor,
    statementDescriptorSuffix: pi.statement_descriptor_suffix,
    capture: true,
    created: now,
  };
}

/** How long a SEPA debit stays `processing` (Stripe's test IBANs settle within seconds to minutes). */
const DEBIT_SETTLES_AFTER_MS = 500;

/**
 * A bank debit (SEPA): `processing` at once (`charge.pending`, `payment_intent.processing`), then it
 * settles shortly after on the wall clock: `succeeded` (`charge.succeeded`, `payment_intent.succeeded`),
 * or for Stripe's failing test IBAN `requires_payment_method` (`charge.failed`, `payment_intent.payment_failed`).
 */
function processDebit(emu: Emulator, pi: PaymentIntentRecord, pm: PaymentMethodRecord, now: number, onSettled?: (pi: PaymentIntentRecord, ok: boolean) => void): ChargeOutcome {
  const charge = recordCharge(emu, { ...chargeInput(pi, now), pending: true }, pm, null);
  Object.assign(pi, { status: 'processing', payment_method: pm.id, latest_charge: charge.id, last_payment_error: null, next_action: null });
  emu.store.changed();
  emu.events.emit('payment_intent.processing', pi);
  const timer = setTimeout(() => {
    if (pi.status !== 'processing') return;
    const fails = sepaDebitFails(pm);
    settleCharge(emu, charge, fails ? { code: 'insufficient_funds', message: 'The customer\'s account has insufficient funds to cover this payment.' } : null);
    if (fails) {
      const error = { type: 'card_error', code: 'payment_method_provider_decline', decline_code: 'insufficient_funds', message: charge.failure_message!, payment_method: structuredClone(pm), payment_method_type: 'sepa_debit' } as unknown as Stripe.PaymentIntent.LastPaymentError;
      Object.assign(pi, { status: 'requires_payment_method', payment_method: null, last_payment_error: error });
    } else {
      Object.assign(pi, { status: 'succeeded', amount_received: pi.amount });
    }
    emu.store.changed();
    emu.events.emit(fails ? 'payment_intent.payment_failed' : 'payment_intent.succeeded', pi);
    onSettled?.(pi, !fails);
  }, DEBIT_SETTLES_AFTER_MS);
  timer.unref();
  emu.onClose(() => clearTimeout(timer));
  return { ok: true };
}

/** The 402 a confirm that was declined answers with, the PaymentIntent in the body as at Stripe. */
export function declinedError(pi: PaymentIntentRecord, error: Stripe.PaymentIntent.LastPaymentError): StripeError {
  return new StripeError(402, { ...(error as unknown as Record<string, unknown>), type: 'card_error', payment_intent: structuredClone(pi) } as never);
}

/** How invoices take part: an invoice's PaymentIntent is confirmed through its invoice (the billing engine). */
export interface InvoicePaymentIntents {
  /** The open invoice a PaymentIntent pays, if any. */
  invoiceOf(emu: Emulator, pi: PaymentIntentRecord): { id: string } | undefined;
  /** Confirms an invoice's PaymentIntent by paying the invoice (subscription reactions included). */
  confirm(emu: Emulator, pi: PaymentIntentRecord, paymentMethod: string, session: ChargeSession): void;
}

function readCommon(p: Params) {
  return {
    description: p.nullableString('description'),
    metadata: p.metadata(),
    receiptEmail: p.nullableString('receipt_email'),
    shipping: readShipping(p.object('shipping')),
    setupFutureUsage: p.enum('setup_future_usage', ['off_session', 'on_session'] as const),
    statementDescriptor: p.string('statement_descriptor'),
    statementDescriptorSuffix: p.string('statement_descriptor_suffix'),
    paymentMethodTypes: p.strings('payment_method_types'),
  };
}

/** Parameters Stripe takes on confirm that change nothing the emulator models (redirects, SDK hints, mandates). */
function readIgnored(p: Params): void {
  p.string('return_url');
  p.bool('use_stripe_sdk');
  p.accept('mandate_data');
  p.string('mandate');
  p.accept('payment_method_options');
  p.accept('radar_options');
  p.string('confirmation_token');
  p.bool('error_on_requires_action');
}

/** `off_session`: a boolean, or (on create) `one_off` / `recurring`, which also mean off session. */
function readOffSession(p: Params): boolean {
  const raw = p.raw['off_session'];
  if (raw === 'one_off' || raw === 'recurring') {
    p.string('off_session');
    return true;
  }
  return p.bool('off_session') ?? false;
}

/** Stripe's refusal to act on a PaymentIntent in the wrong status. */
function unexpectedState(pi: PaymentIntentRecord, action: string): StripeError {
  return invalidRequest(
    `This PaymentIntent's ${action} could not be performed because it has a status of ${pi.status}.`,
    undefined,
    'payment_intent_unexpected_state',
  );
}

export function registerPaymentIntents(router: Router, emu: Emulator, invoices: InvoicePaymentIntents): void {
  const requirePi = (id: string): PaymentIntentRecord => emu.store.require<PaymentIntentRecord>('payment_intent', id, 'payment_intent');

  /**
   * Confirms with a card: on session unless `off_session`; a `requires_action` PaymentIntent
   * confirmed again with its own card is taken as the passed 3-D Secure challenge.
   */
  const confirm = (pi: PaymentIntentRecord, paymentMethod: string | undefined, offSession: boolean): PaymentIntentRecord => {
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) throw unexpectedState(pi, 'confirm');
    const pmId = paymentMethod ?? (typeof pi.payment_method === 'string' ? pi.payment_method : pi.payment_method?.id);
    if (!pmId) {
      throw invalidRequest("You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with " + (pi.customer ? `${pi.customer}` : 'a customer') + ', specify a payment method attached to this customer along with the customer ID.', 'payment_method', 'payment_intent_unexpected_state');
    }
    const samePm = paymentMethod === undefined || paymentMethod === (typeof pi.payment_method === 'string' ? pi.payment_method : pi.payment_method?.id);
    const session: ChargeSession = pi.status === 'requires_action' && samePm ? 'authenticated' : offSession ? 'off_session' : 'on_session';
    if (invoices.invoiceOf(emu, pi)) {
      invoices.confirm(emu, pi, pmId, session);
      return pi;
    }
    const pm = resolvePaymentMethod(emu, pmId, 'payment_method');
    if (pi.customer && !pm.customer && pi.setup_future_usage) attachPaymentMethod(emu, pm.id, pi.customer as string, 'payment_method');
    const outcome = chargePaymentIntent(emu, pi, pm, session, { offSessionDeclines: true });
    if (!outcome.ok && !outcome.requiresAction) throw declinedError(pi, outcome.error);
    return pi;
  };

  router.post('/v1/payment_intents', ({ params: p }) => {
    const amount = p.int('amount', { min: 1, required: true });
    const currency = p.string('currency', { required: true }).toLowerCase();
    const customer = p.string('customer');
    const paymentMethod = p.string('payment_method');
    const captureMethod = p.enum('capture_method', ['automatic', 'automatic_async', 'manual'] as const);
    const confirmationMethod = p.enum('confirmation_method', ['automatic', 'manual'] as const);
    const doConfirm = p.bool('confirm') ?? false;
    const offSession = readOffSession(p);
    const automatic = p.object('automatic_payment_methods');
    const automaticEnabled = automatic?.bool('enabled');
    automatic?.enum('allow_redirects', ['always', 'never'] as const);
    const common = readCommon(p);
    readIgnored(p);
    p.string('transfer_group');
    // Only a bank transfer to the customer's cash balance is taken as inline data (cards come as ids or test tokens).
    const pmData = p.object('payment_method_data');
    const pmDataType = pmData?.string('type', { required: true });
    if (pmData && pmDataType !== 'customer_balance') {
      throw invalidRequest('The emulator takes a PaymentMethod id or a test token (pm_card_visa) as payment_method; payment_method_data only for `customer_balance`.', 'payment_method_data[type]');
    }
    p.done();
    if (pmData && !customer) throw invalidRequest('A customer is required to pay from the customer balance.', 'customer');
    if (customer) emu.store.require('customer', customer, 'customer', 'customer');
    const types = common.paymentMethodTypes ?? ['card'];
    const unsupported = types.find((t) => t !== 'card' && t !== 'sepa_debit' && t !== 'customer_balance');
    if (unsupported) {
      throw invalidRequest(`The payment method type "${unsupported}" is not emulated: the emulator charges cards and SEPA debits only.`, 'payment_method_types', 'payment_intent_invalid_parameter');
    }
    const pm = paymentMethod ? resolvePaymentMethod(emu, paymentMethod, 'payment_method') : pmData ? newCustomerBalancePaymentMethod(emu, customer!) : null;
    if (pm && !types.includes(pm.type)) {
      throw invalidRequest(`The PaymentMethod provided (${pm.type}) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${types.join(', ')}.`, 'payment_method', 'payment_intent_incompatible_payment_method');
    }
    if (pm && pm.customer && customer && pm.customer !== customer) {
      throw invalidRequest(`The provided PaymentMethod belongs to another Customer.`, 'payment_method');
    }
    const now = customer ? emu.nowFor(emu.store.get('customer', customer)!) : emu.realNow();
    const pi = newPaymentIntent(emu, {
      amount,
      currency,
      created: now,
      customer: customer ?? null,
      description: common.description ?? null,
      metadata: mergeMetadata({}, common.metadata),
      receipt_email: common.receiptEmail ?? null,
      shipping: common.shipping ?? null,
      setup_future_usage: common.setupFutureUsage ?? null,
      statement_descriptor: common.statementDescriptor ?? null,
      statement_descriptor_suffix: common.statementDescriptorSuffix ?? null,
      capture_method: captureMethod ?? 'automatic',
      confirmation_method: confirmationMethod ?? 'automatic',
      automatic_payment_methods: automaticEnabled ? { allow_redirects: 'always', enabled: true } : null,
      payment_method: pm?.id ?? null,
      payment_method_types: types,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
    });
    emu.events.emit('payment_intent.created', pi);
    if (doConfirm) {
      if (!pm) throw invalidRequest("You cannot confirm this PaymentIntent because it's missing a payment method.", 'payment_method', 'payment_intent_unexpected_state');
      return confirm(pi, undefined, offSession);
    }
    return pi;
  });

  router.get('/v1/payment_intents/:id', ({ params: p, path }) => {
    p.string('client_secret');
    p.done();
    return requirePi(path.id!);
  });

  router.post('/v1/payment_intents/:id', ({ params: p, path }) => {
    const amount = p.int('amount', { min: 1 });
    const currency = p.string('currency');
    const customer = p.string('customer');
    const paymentMethod = p.string('payment_method');
    const captureMethod = p.enum('capture_method', ['automatic', 'automatic_async', 'manual'] as const);
    const common = readCommon(p);
    p.accept('payment_method_options');
    p.string('transfer_group');
    p.done();
    const pi = requirePi(path.id!);
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) throw unexpectedState(pi, 'update');
    if (customer) emu.store.require('customer', customer, 'customer', 'customer');
    const pm = paymentMethod ? resolvePaymentMethod(emu, paymentMethod, 'payment_method') : undefined;
    return updateWithEvent(emu, 'payment_intent.updated', pi, (x) => {
      if (amount !== undefined) x.amount = amount;
      if (currency !== undefined) x.currency = currency.toLowerCase();
      if (customer !== undefined) x.customer = customer;
      if (captureMethod !== undefined) x.capture_method = captureMethod;
      if (pm) Object.assign(x, { payment_method: pm.id, status: 'requires_confirmation', next_action: null });
      if (common.description !== undefined) x.description = common.description;
      x.metadata = mergeMetadata(x.metadata, common.metadata);
      if (common.receiptEmail !== undefined) x.receipt_email = common.receiptEmail;
      if (common.shipping !== undefined) x.shipping = common.shipping;
      if (common.setupFutureUsage !== undefined) x.setup_future_usage = common.setupFutureUsage;
      if (common.statementDescriptor !== undefined) x.statement_descriptor = common.statementDescriptor;
      if (common.statementDescriptorSuffix !== undefined) x.statement_descriptor_suffix = common.statementDescriptorSuffix;
      if (common.paymentMethodTypes !== undefined) x.payment_method_types = common.paymentMethodTypes;
    });
  });

  router.get('/v1/payment_intents', ({ params: p, url }) => {
    const customer = p.string('customer');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<PaymentIntentRecord>('payment_intent')).filter(
      (pi) => (customer === undefined || pi.customer === customer) && (!created || created(pi.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.post('/v1/payment_intents/:id/confirm', ({ params: p, path }) => {
    const paymentMethod = p.string('payment_method');
    const offSession = readOffSession(p);
    p.string('client_secret');
    const captureMethod = p.enum('capture_method', ['automatic', 'automatic_async', 'manual'] as const);
    const setupFutureUsage = p.enum('setup_future_usage', ['off_session', 'on_session'] as const);
    const receiptEmail = p.nullableString('receipt_email');
    const shipping = readShipping(p.object('shipping'));
    readIgnored(p);
    p.done();
    const pi = requirePi(path.id!);
    if (pi.status === 'succeeded') throw invalidRequest('This PaymentIntent has already succeeded.', undefined, 'payment_intent_unexpected_state');
    if (captureMethod !== undefined) pi.capture_method = captureMethod;
    if (setupFutureUsage !== undefined) pi.setup_future_usage = setupFutureUsage;
    if (receiptEmail !== undefined) pi.receipt_email = receiptEmail;
    if (shipping !== undefined) pi.shipping = shipping;
    return confirm(pi, paymentMethod, offSession);
  });

  router.post('/v1/payment_intents/:id/capture', ({ params: p, path }) => {
    const amountToCapture = p.int('amount_to_capture', { min: 1 });
    p.metadata();
    p.string('statement_descriptor');
    p.string('statement_descriptor_suffix');
    p.bool('final_capture');
    p.done();
    const pi = requirePi(path.id!);
    if (pi.status !== 'requires_capture') throw unexpectedState(pi, 'capture');
    const amount = amountToCapture ?? pi.amount_capturable;
    if (amount > pi.amount_capturable) {
      throw invalidRequest(`The amount to capture (${amount}) is greater than the amount capturable (${pi.amount_capturable}).`, 'amount_to_capture', 'amount_too_large');
    }
    const now = emu.nowFor(pi);
    const charge = requireCharge(emu, pi.latest_charge as string, 'payment_intent');
    captureCharge(emu, charge, amount, now);
    Object.assign(pi, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    emu.store.changed();
    emu.events.emit('payment_intent.succeeded', pi);
    return pi;
  });

  router.post('/v1/payment_intents/:id/cancel', ({ params: p, path }) => {
    const reason = p.enum('cancellation_reason', ['abandoned', 'duplicate', 'fraudulent', 'requested_by_customer'] as const);
    p.done();
    const pi = requirePi(path.id!);
    if (!['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'].includes(pi.status)) {
      throw invalidRequest(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.`,
        undefined,
        'payment_intent_unexpected_state',
      );
    }
    if (invoices.invoiceOf(emu, pi)) {
      throw invalidRequest('You cannot cancel this PaymentIntent because it was created by an invoice. Void the invoice instead.', undefined, 'payment_intent_unexpected_state');
    }
    const wasAuthorized = pi.status === 'requires_capture';
    Object.assign(pi, {
      status: 'canceled',
      canceled_at: emu.nowFor(pi),
      cancellation_reason: reason ?? null,
      amount_capturable: 0,
      next_action: null,
    });
    if (wasAuthorized && pi.latest_charge) {
      // The authorization is released: Stripe shows it as a refund of the uncaptured charge.
      const charge = requireCharge(emu, pi.latest_charge as string);
      charge.amount_refunded = charge.amount;
      charge.refunded = true;
    }
    emu.store.changed();
    emu.events.emit('payment_intent.canceled', pi);
    return pi;
  });
}
