import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { previousAttributes } from '../events.js';
import { newId } from '../ids.js';
import { declineOf as cardDeclineOf } from '../resources/charges.js';
import { chargePaymentIntent, newPaymentIntent, type ChargeOutcome, type ChargeSession } from '../resources/payment-intents.js';
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

export type { ChargeOutcome, ChargeSession } from '../resources/payment-intents.js';

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
  return cardDeclineOf(pm);
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
  const pi = newPaymentIntent(emu, {
    amount: inv.amount_due,
    created: now,
    currency: inv.currency,
    customer: idOf(inv.customer),
    description: inv.billing_reason === 'subscription_create' ? 'Subscription creation' : inv.billing_reason === 'subscription_update' ? 'Subscription update' : inv.billing_reason === 'subscription_cycle' ? 'Subscription cycle' : null,
  });
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
  const after = () => ({ attempt_count: inv.attempt_count, attempted: inv.attempted, next_payment_attempt: inv.next_payment_attempt, auto_advance: inv.auto_advance });
  const outcome: ChargeOutcome = pm ? chargePaymentIntent(emu, pi, pm, session) : { ok: false, requiresAction: false, error: declineOf(null) };
  if (outcome.ok) {
    markInvoicePaid(emu, inv, now, false);
    return outcome;
  }
  if (!pm && !outcome.requiresAction) {
    Object.assign(pi, { status: 'requires_payment_method', payment_method: null, last_payment_error: outcome.error, next_action: null });
    emu.events.emit('payment_intent.payment_failed', pi);
  }
  // A manual attempt (pay, confirm) leaves the automatic retry schedule as it was.
  const automatic = !opts.manual && inv.billing_reason !== 'subscription_create';
  if (automatic) {
    inv.next_payment_attempt = nextAttempt(emu, inv, now);
    // Retries exhausted: automatic collection of this invoice stops.
    if (inv.next_payment_attempt === null) inv.auto_advance = false;
  }
  emu.store.changed();
  // A card that needs 3-D Secure: the customer must authenticate this payment (on the hosted
  // invoice page or with Stripe.js); an automatic attempt also counts as a failed one.
  if (outcome.requiresAction) emu.events.emit('invoice.payment_action_required', inv);
  if (!outcome.requiresAction || automatic) emu.events.emit('invoice.payment_failed', inv);
  // Only these fields change with an attempt that did not pay.
  emu.events.emit('invoice.updated', inv, { previousAttributes: previousAttributes(before, after()) });
  return outcome;
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
