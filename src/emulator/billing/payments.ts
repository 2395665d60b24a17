import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { previousAttributes } from '../events.js';
import { newId, newSecret } from '../ids.js';
import { cardBehaviour, type PaymentMethodRecord } from '../resources/payment-methods.js';
import type { Stored } from '../store.js';
import { DAY_SECONDS } from './periods.js';
import {
  customerOf,
  idOf,
  invoiceMeta,
  invoiceSubscriptionId,
  type InvoicePaymentRecord,
  type InvoiceRecord,
  type PaymentIntentRecord,
  type SubRecord,
} from './records.js';
import { billingSettings } from './settings.js';

/**
 * What a charge attempt did: Stripe's card error body on failure; `requiresAction` when the card
 * waits for the customer's 3-D Secure challenge (the PaymentIntent is `requires_action`).
 */
export type ChargeOutcome =
  | { ok: true }
  | { ok: false; requiresAction: false; error: Stripe.PaymentIntent.LastPaymentError }
  | { ok: false; requiresAction: true };

/**
 * Whether the customer is there to authenticate a charge: `off_session` (renewals, retries,
 * `invoices.pay`), `on_session` (a subscription's first invoice, confirming a PaymentIntent: a
 * card that needs 3-D Secure waits for the challenge), or `authenticated` (the challenge was
 * passed: confirming a `requires_action` PaymentIntent, as Stripe.js does afterwards).
 */
export type ChargeSession = 'off_session' | 'on_session' | 'authenticated';

/** The payment method an invoice charges: explicit, else the invoice's, the subscription's, the customer's default (a legacy `default_source` card last). */
export function invoicePaymentMethod(emu: Emulator, inv: InvoiceRecord): PaymentMethodRecord | null {
  const subId = invoiceSubscriptionId(inv);
  const sub = subId ? emu.store.get<SubRecord>('subscription', subId) : undefined;
  const customer = customerOf(emu, inv);
  const id = idOf(inv.default_payment_method) ?? idOf(sub?.default_payment_method) ?? idOf(customer?.invoice_settings?.default_payment_method) ?? idOf(customer?.default_source);
  return id ? findPaymentMethod(emu, id) : null;
}

/** A stored payment method by id (defaults always hold real `pm_…` ids, never test-token names). */
export function findPaymentMethod(emu: Emulator, id: string): PaymentMethodRecord | null {
  return emu.store.get<PaymentMethodRecord>('payment_method', id) ?? null;
}

/** Whether a charge on this payment method would succeed (decided up front for error_if_incomplete). */
export function wouldSucceed(pm: PaymentMethodRecord | null, session: ChargeSession = 'off_session'): boolean {
  if (!pm) return false;
  const behaviour = cardBehaviour(pm);
  return behaviour === 'succeeds' || (behaviour === 'requires_authentication' && session === 'authenticated');
}

/** A card that asks for 3-D Secure on every charge (`pm_card_authenticationRequired`). */
export function needsAuthentication(pm: PaymentMethodRecord | null): boolean {
  return !!pm && cardBehaviour(pm) === 'requires_authentication';
}

/**
 * Stripe's 402 for `error_if_incomplete` when the first payment needs the customer: nothing is
 * created, so (unlike a decline after a charge) there is no PaymentIntent to put in the body.
 */
export function requiresActionBody(pm: PaymentMethodRecord): Record<string, unknown> {
  return {
    type: 'card_error',
    code: 'subscription_payment_intent_requires_action',
    message:
      'Payment for this subscription requires additional user action before it can be completed successfully. Payment can be completed using the PaymentIntent associated with `subscription.latest_invoice`. Additional information is available here: https://stripe.com/docs/billing/subscriptions/overview#requires-action',
    payment_method: structuredClone(pm),
    payment_method_type: 'card',
    doc_url: 'https://stripe.com/docs/error-codes/subscription-payment-intent-requires-action',
  };
}

function declineOf(pm: PaymentMethodRecord | null): Stripe.PaymentIntent.LastPaymentError {
  if (!pm) {
    return {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state' as Stripe.PaymentIntent.LastPaymentError.Code,
      message: 'The invoice has no payment method to charge.',
    } as Stripe.PaymentIntent.LastPaymentError;
  }
  // Off-session, a card that needs 3-D Secure is declined (Stripe's `authentication_required`).
  return needsAuthentication(pm)
    ? cardDecline(pm, 'authentication_required', 'Your card was declined. This transaction requires authentication.')
    : cardDecline(pm, 'card_declined', 'Your card was declined.', 'generic_decline');
}

/** A card-declined `last_payment_error` (its doc page is named after the code). */
function cardDecline(pm: PaymentMethodRecord, code: 'authentication_required' | 'card_declined', message: string, declineCode: string = code): Stripe.PaymentIntent.LastPaymentError {
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

/** The decline a charge on this card would get, as a `StripeError` body (for 402 responses). */
export function declineBody(pm: PaymentMethodRecord | null, pi?: PaymentIntentRecord): Record<string, unknown> {
  const e = declineOf(pm) as unknown as Record<string, unknown>;
  return { ...e, ...(pi ? { payment_intent: structuredClone(pi) } : {}) };
}

/** The invoice's PaymentIntent, created on finalization when something is due (Stripe: `invoice.payments`). */
export function invoicePaymentIntent(emu: Emulator, inv: InvoiceRecord): PaymentIntentRecord | null {
  const id = invoiceMeta(emu, inv.id).payment_intent;
  return id ? (emu.store.get<PaymentIntentRecord>('payment_intent', id) ?? null) : null;
}

export function createInvoicePaymentIntent(emu: Emulator, inv: InvoiceRecord): PaymentIntentRecord {
  const now = emu.nowFor(inv);
  const id = newId('pi', 24);
  const pi = {
    id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: inv.amount_due,
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
    created: now,
    currency: inv.currency,
    customer: idOf(inv.customer),
    customer_account: null,
    description: inv.billing_reason === 'subscription_create' ? 'Subscription creation' : inv.billing_reason === 'subscription_update' ? 'Subscription update' : inv.billing_reason === 'subscription_cycle' ? 'Subscription cycle' : null,
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
    transfer_group: null,
  } as unknown as PaymentIntentRecord;
  emu.store.insert('payment_intent', pi);
  const paymentId = newId('inpay', 24);
  emu.store.insert('invoice_payment', {
    id: paymentId,
    object: 'invoice_payment',
    amount_paid: null,
    amount_requested: inv.amount_due,
    created: now,
    currency: inv.currency,
    invoice: inv.id,
    is_default: true,
    livemode: false,
    payment: { type: 'payment_intent', payment_intent: pi.id },
    status: 'open',
    status_transitions: { canceled_at: null, paid_at: null },
  } as unknown as InvoicePaymentRecord);
  const meta = invoiceMeta(emu, inv.id);
  meta.payment_intent = pi.id;
  meta.invoice_payments = [...(meta.invoice_payments ?? []), paymentId];
  emu.events.emit('payment_intent.created', pi);
  return pi;
}

export function invoicePayments(emu: Emulator, invoiceId: string): InvoicePaymentRecord[] {
  return (invoiceMeta(emu, invoiceId).invoice_payments ?? [])
    .map((id) => emu.store.get<InvoicePaymentRecord>('invoice_payment', id))
    .filter((p): p is InvoicePaymentRecord => p !== undefined);
}

function recordCharge(emu: Emulator, pi: PaymentIntentRecord, pm: PaymentMethodRecord | null, ok: boolean): string {
  const declineCode = needsAuthentication(pm) ? 'authentication_required' : 'generic_decline';
  const charge: Stored = {
    id: newId('ch', 24),
    object: 'charge',
    amount: pi.amount,
    amount_captured: ok ? pi.amount : 0,
    amount_refunded: 0,
    captured: ok,
    created: emu.nowFor(pi),
    currency: pi.currency,
    customer: pi.customer,
    description: pi.description,
    failure_code: ok ? null : declineCode === 'authentication_required' ? 'authentication_required' : 'card_declined',
    failure_message: ok ? null : declineCode === 'authentication_required' ? 'Your card was declined. This transaction requires authentication.' : 'Your card was declined.',
    livemode: false,
    metadata: {},
    outcome: ok
      ? { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' }
      : { network_status: 'declined_by_network', reason: declineCode, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' },
    paid: ok,
    payment_intent: pi.id,
    payment_method: pm?.id ?? null,
    refunded: false,
    status: ok ? 'succeeded' : 'failed',
  };
  emu.store.insert('charge', charge);
  emu.events.emit(ok ? 'charge.succeeded' : 'charge.failed', charge);
  return charge.id;
}

/**
 * Charges a finalized invoice's PaymentIntent once. Success: PI succeeded, invoice paid
 * (`charge.succeeded`, `payment_intent.succeeded`, `invoice.paid`, `invoice.payment_succeeded`).
 * Failure: PI back to `requires_payment_method` with `last_payment_error`, invoice `attempt_count`
 * up and, for renewals, `next_payment_attempt` on the retry schedule (`charge.failed`,
 * `payment_intent.payment_failed`, `invoice.payment_failed`, `invoice.updated`).
 * On session, a card that needs 3-D Secure: PI `requires_action` with `next_action`, invoice open
 * (`payment_intent.requires_action`, `invoice.payment_action_required`, `invoice.updated`).
 * The subscription's reaction is the caller's (`chargeInvoice` in subscriptions.ts).
 */
export function attemptInvoicePayment(
  emu: Emulator,
  inv: InvoiceRecord,
  pmOverride: PaymentMethodRecord | null,
  opts: { manual: boolean; session?: ChargeSession },
): ChargeOutcome {
  const pi = invoicePaymentIntent(emu, inv) ?? createInvoicePaymentIntent(emu, inv);
  const pm = pmOverride ?? invoicePaymentMethod(emu, inv);
  const session = opts.session ?? 'off_session';
  const now = emu.nowFor(inv);
  const before = { attempt_count: inv.attempt_count, attempted: inv.attempted, next_payment_attempt: inv.next_payment_attempt, auto_advance: inv.auto_advance };
  inv.attempt_count += 1;
  inv.attempted = true;
  if (session === 'on_session' && needsAuthentication(pm)) {
    requireAction(emu, pi, pm!);
    emu.store.changed();
    emu.events.emit('invoice.payment_action_required', inv);
    const after = { attempt_count: inv.attempt_count, attempted: inv.attempted, next_payment_attempt: inv.next_payment_attempt, auto_advance: inv.auto_advance };
    emu.events.emit('invoice.updated', inv, { previousAttributes: previousAttributes(before, after) });
    return { ok: false, requiresAction: true };
  }
  if (wouldSucceed(pm, session)) {
    const chargeId = recordCharge(emu, pi, pm, true);
    Object.assign(pi, {
      status: 'succeeded',
      amount_received: pi.amount,
      payment_method: pm!.id,
      latest_charge: chargeId,
      last_payment_error: null,
      next_action: null,
    });
    emu.events.emit('payment_intent.succeeded', pi);
    markInvoicePaid(emu, inv, now, false);
    return { ok: true };
  }
  const error = declineOf(pm);
  if (pm) pi.latest_charge = recordCharge(emu, pi, pm, false);
  Object.assign(pi, { status: 'requires_payment_method', payment_method: null, last_payment_error: error, next_action: null });
  emu.events.emit('payment_intent.payment_failed', pi);
  // A manual attempt (pay, confirm) leaves the automatic retry schedule as it was.
  if (!opts.manual) {
    inv.next_payment_attempt = nextAttempt(emu, inv, now);
    // Retries exhausted: automatic collection of this invoice stops.
    if (inv.next_payment_attempt === null && inv.billing_reason !== 'subscription_create') inv.auto_advance = false;
  }
  emu.store.changed();
  emu.events.emit('invoice.payment_failed', inv);
  // Only these fields change with a failed attempt.
  const after = { attempt_count: inv.attempt_count, attempted: inv.attempted, next_payment_attempt: inv.next_payment_attempt, auto_advance: inv.auto_advance };
  emu.events.emit('invoice.updated', inv, { previousAttributes: previousAttributes(before, after) });
  return { ok: false, requiresAction: false, error };
}

/**
 * The PaymentIntent waits for the customer's 3-D Secure challenge (`payment_intent.requires_action`):
 * Stripe.js handles `use_stripe_sdk`, then confirms the PaymentIntent again.
 */
function requireAction(emu: Emulator, pi: PaymentIntentRecord, pm: PaymentMethodRecord): void {
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

/** When the retry schedule tries again; null after the last retry or for invoices Stripe does not retry. */
function nextAttempt(emu: Emulator, inv: InvoiceRecord, now: number): number | null {
  if (inv.collection_method !== 'charge_automatically' || inv.auto_advance === false) return null;
  if (inv.billing_reason === 'subscription_create') return null; // an incomplete subscription is not dunned
  const retriesDone = inv.attempt_count - 1;
  const days = billingSettings(emu).retry_days;
  return retriesDone < days.length ? now + days[retriesDone]! * DAY_SECONDS : null;
}

/** Marks an open invoice paid (by a charge, or out of band) and emits `invoice.paid`, `invoice.payment_succeeded`. */
export function markInvoicePaid(emu: Emulator, inv: InvoiceRecord, now: number, outOfBand: boolean): void {
  const paid = inv.amount_remaining;
  Object.assign(inv, {
    status: 'paid',
    amount_paid: inv.amount_paid + paid,
    amount_remaining: 0,
    next_payment_attempt: null,
    auto_advance: false,
    ...(outOfBand ? { amount_paid_off_stripe: paid } : {}),
  });
  inv.attempted = true;
  inv.status_transitions.paid_at = now;
  for (const p of invoicePayments(emu, inv.id)) {
    if (outOfBand) {
      p.status = 'canceled';
      p.status_transitions.canceled_at = now;
    } else {
      p.status = 'paid';
      p.amount_paid = paid;
      p.status_transitions.paid_at = now;
    }
  }
  if (outOfBand) {
    const pi = invoicePaymentIntent(emu, inv);
    if (pi && pi.status !== 'succeeded') Object.assign(pi, { status: 'canceled', canceled_at: now, cancellation_reason: 'void_invoice' });
  }
  emu.store.changed();
  const paidEvent = emu.events.emit('invoice.paid', inv);
  emu.events.emit('invoice.payment_succeeded', inv, { sameSnapshotAs: paidEvent });
}
