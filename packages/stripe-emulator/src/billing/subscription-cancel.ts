import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { createInvoice, finalizeInvoice, subscriptionDraft, updateInvoice, type LineInput } from './invoices.js';
import { attemptInvoicePayment } from './payments.js';
import { prorationLines, createProrationItems } from './prorations.js';
import { invoiceSubscriptionId, isMetered, type InvoiceRecord, type SubRecord } from './records.js';
import { itemPrice, usageLine, periodOf } from './subscription-lookups.js';

// Ending a subscription now.

export interface CancelOptions {
  invoiceNow?: boolean;
  prorate?: boolean;
  reason?: Stripe.Subscription.CancellationDetails.Reason;
  comment?: string | null;
  feedback?: Stripe.Subscription.CancellationDetails.Feedback | null;
}

/**
 * Ends a subscription now (`DELETE /v1/subscriptions/:id`, the end of a cancel_at_period_end
 * period, or dunning). `prorate` credits the unused time as pending proration items; `invoice_now`
 * invoices what is pending plus metered usage so far. Emits `customer.subscription.deleted`.
 */
export function cancelSubscriptionNow(emu: Emulator, sub: SubRecord, opts: CancelOptions = {}): SubRecord {
  const now = emu.nowFor(sub);
  if (opts.prorate && sub.status !== 'trialing') {
    const changes = sub.items.data.map((it) => ({ item: it, oldPrice: itemPrice(emu, it), oldQty: it.quantity ?? 1, newPrice: null, newQty: 0 }));
    createProrationItems(emu, sub, prorationLines(emu, sub, changes, now));
  }
  if (opts.invoiceNow) {
    const usage = sub.items.data
      .filter((it) => isMetered(itemPrice(emu, it)))
      .map((it) => usageLine(emu, sub, it, it.current_period_start, now))
      .filter((l): l is LineInput => l !== null);
    const inv = createInvoice(emu, {
      ...subscriptionDraft(sub),
      billingReason: 'subscription_cycle',
      lines: usage,
      periodStart: periodOf(sub).start,
      periodEnd: now,
      autoAdvance: true,
    });
    sub.latest_invoice = inv.id;
    finalizeInvoice(emu, inv);
    if (inv.status === 'open' && inv.collection_method === 'charge_automatically') attemptInvoicePayment(emu, inv, null, { manual: false });
  }
  Object.assign(sub, {
    status: 'canceled',
    canceled_at: sub.cancel_at_period_end || sub.canceled_at ? (sub.canceled_at ?? now) : now,
    ended_at: now,
    cancellation_details: {
      feedback_option: null,
      comment: opts.comment ?? sub.cancellation_details?.comment ?? null,
      feedback: opts.feedback ?? sub.cancellation_details?.feedback ?? null,
      reason: opts.reason ?? sub.cancellation_details?.reason ?? 'cancellation_requested',
    },
  });
  if (opts.reason === 'payment_failed' || !sub.canceled_at) sub.canceled_at = now;
  emu.store.changed();
  emu.events.emit('customer.subscription.deleted', sub);
  // Stripe stops automatic collection of the subscription's finalized invoices on cancellation.
  for (const inv of emu.store.all<InvoiceRecord>('invoice')) {
    if (inv.status === 'open' && invoiceSubscriptionId(inv) === sub.id && (inv.auto_advance || inv.next_payment_attempt !== null)) {
      updateInvoice(emu, inv, (i) => {
        i.auto_advance = false;
        i.next_payment_attempt = null;
      });
    }
  }
  return sub;
}
