import type { Emulator } from '../emulator.js';
import type { PaymentMethodRecord } from '../resources/payment-methods.js';
import { attemptInvoicePayment, invoicePaymentMethod, type ChargeOutcome, type ChargeSession } from './payments.js';
import { idOf, invoiceSubscriptionId, type InvoiceRecord, type SubRecord } from './records.js';
import { billingSettings } from './settings.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { subscriptionPmFor, emitSubUpdate, snapshot } from './subscription-lookups.js';

// A subscription's reactions to its invoices' payments, and charging an invoice with those reactions.

/** An invoice of a subscription got paid: incomplete / past_due / unpaid → active; keeps the card if asked. */
export function afterInvoicePaid(emu: Emulator, inv: InvoiceRecord, pm: PaymentMethodRecord | null): void {
  const subId = invoiceSubscriptionId(inv);
  const sub = subId ? emu.store.get<SubRecord>('subscription', subId) : undefined;
  if (!sub) return;
  const savesCard = !!pm && !sub.default_payment_method && sub.payment_settings?.save_default_payment_method === 'on_subscription';
  if (!savesCard && sub.status !== 'incomplete' && sub.status !== 'past_due' && sub.status !== 'unpaid') return;
  const before = snapshot(sub);
  if (pm && savesCard) {
    subscriptionPmFor(emu, pm.id, idOf(sub.customer)!, 'payment_method');
    sub.default_payment_method = pm.id;
  }
  if (sub.status === 'incomplete' || sub.status === 'past_due' || sub.status === 'unpaid') {
    const stillOpen = emu.store
      .all<InvoiceRecord>('invoice')
      .some((i) => i.id !== inv.id && i.status === 'open' && invoiceSubscriptionId(i) === sub.id && i.amount_remaining > 0 && i.collection_method === 'charge_automatically');
    if (!stillOpen || sub.status === 'incomplete') sub.status = 'active';
  }
  emitSubUpdate(emu, sub, before);
}

/**
 * A charge on a subscription invoice failed. The first invoice leaves the subscription incomplete;
 * a renewal makes it past_due; once the retry schedule is exhausted the subscription is canceled,
 * marked unpaid or left past_due (`billingSettings().after_retries`).
 */
export function afterInvoicePaymentFailed(emu: Emulator, inv: InvoiceRecord, automatic: boolean): void {
  const subId = invoiceSubscriptionId(inv);
  const sub = subId ? emu.store.get<SubRecord>('subscription', subId) : undefined;
  if (!sub || inv.billing_reason === 'subscription_create') return;
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') return;
  const before = snapshot(sub);
  if (sub.status === 'active' || sub.status === 'trialing') sub.status = 'past_due';
  const exhausted = automatic && inv.next_payment_attempt === null && inv.collection_method === 'charge_automatically';
  if (exhausted) {
    const action = billingSettings(emu).after_retries;
    if (action === 'unpaid') sub.status = 'unpaid';
    if (action === 'cancel') {
      emitSubUpdate(emu, sub, before);
      cancelSubscriptionNow(emu, sub, { reason: 'payment_failed' });
      return;
    }
  }
  emitSubUpdate(emu, sub, before);
}

/**
 * Charges an open invoice and applies the subscription consequences (used by the clock, pay and
 * confirm). Off session unless said otherwise.
 */
export function chargeInvoice(
  emu: Emulator,
  inv: InvoiceRecord,
  pm: PaymentMethodRecord | null,
  manual: boolean,
  session: ChargeSession = 'off_session',
): ChargeOutcome {
  const card = pm ?? invoicePaymentMethod(emu, inv);
  const outcome = attemptInvoicePayment(emu, inv, card, { manual, session });
  if (outcome.ok) afterInvoicePaid(emu, inv, card);
  // Waiting for 3-D Secure is a failed payment for a renewal (past_due) as a decline is.
  else afterInvoicePaymentFailed(emu, inv, !manual);
  return outcome;
}
