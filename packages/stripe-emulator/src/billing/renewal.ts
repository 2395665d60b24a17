import type { Emulator } from '../emulator.js';
import { newId } from '../ids.js';
import { markUncollectible, voidInvoice } from './invoice-transitions.js';
import { createInvoice, finalizeInvoice, subscriptionDraft, type LineInput } from './invoices.js';
import { HOUR } from './periods.js';
import { idOf, invoiceMeta, invoiceSubscriptionId, isMetered, type InvoiceRecord, type SubRecord } from './records.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { itemPrice, licensedLines, usageLine, subscriptionPaymentMethod, emitSubUpdate, snapshot, periodOf, periodEndFrom } from './subscription-lookups.js';
import { chargeInvoice } from './subscription-payments.js';

// Renewals, trial ends and expiry of subscriptions (driven by the clock engine).

/**
 * A period boundary: cancels a subscription set to end here, else advances the items' periods
 * (`customer.subscription.updated`), creates the renewal invoice in draft (`invoice.created`):
 * licensed items in advance for the new period, metered usage in arrears for the period that
 * ended, pending invoice items. It finalizes about an hour later (`finalizeDueInvoice`).
 */
export function renewSubscription(emu: Emulator, sub: SubRecord, at: number): void {
  if (sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= at)) {
    cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' });
    return;
  }
  const wasTrial = sub.status === 'trialing';
  const old = periodOf(sub);
  const before = snapshot(sub);
  const anchor = wasTrial ? at : sub.billing_cycle_anchor;
  const newEnd = periodEndFrom(sub, emu, at, anchor);
  const usage = wasTrial
    ? []
    : sub.items.data
        .filter((it) => isMetered(itemPrice(emu, it)))
        .map((it) => usageLine(emu, sub, it, it.current_period_start, it.current_period_end))
        .filter((l): l is LineInput => l !== null);
  for (const it of sub.items.data) {
    it.current_period_start = at;
    it.current_period_end = newEnd;
  }
  if (wasTrial) {
    sub.status = 'active';
    sub.billing_cycle_anchor = at;
    if (!subscriptionPaymentMethod(emu, sub) && sub.collection_method === 'charge_automatically') {
      const behaviour = sub.trial_settings?.end_behavior?.missing_payment_method;
      if (behaviour === 'cancel') {
        for (const it of sub.items.data) {
          it.current_period_start = old.start;
          it.current_period_end = old.end;
        }
        sub.status = 'trialing';
        cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' });
        return;
      }
      if (behaviour === 'pause') {
        sub.status = 'paused';
        emu.store.changed();
        emu.events.emit('customer.subscription.paused', sub);
        emitSubUpdate(emu, sub, before);
        return;
      }
    }
  }
  const invoiceId = newId('in', 24);
  sub.latest_invoice = invoiceId;
  emitSubUpdate(emu, sub, before);
  const licensed = licensedLines(emu, sub, at, newEnd);
  const inv = createInvoice(emu, {
    id: invoiceId,
    ...subscriptionDraft(sub),
    billingReason: 'subscription_cycle',
    lines: [...licensed, ...usage],
    periodStart: old.start,
    periodEnd: at,
    autoAdvance: sub.status !== 'unpaid',
  });
  if (sub.status === 'unpaid' || sub.pause_collection?.behavior === 'keep_as_draft') {
    // Stripe leaves an unpaid subscription's new invoices in draft.
    return;
  }
  inv.automatically_finalizes_at = at + HOUR;
  invoiceMeta(emu, inv.id).finalize_at = at + HOUR;
  emu.store.changed();
}

/** The draft's hour is up: finalize (`invoice.finalized`) and charge, or apply pause_collection. */
export function finalizeDueInvoice(emu: Emulator, inv: InvoiceRecord): void {
  invoiceMeta(emu, inv.id).finalize_at = null;
  if (inv.status !== 'draft') return;
  const subId = invoiceSubscriptionId(inv);
  const sub = subId ? emu.store.get<SubRecord>('subscription', subId) : undefined;
  finalizeInvoice(emu, inv);
  if (inv.status !== 'open') return;
  const pause = sub?.pause_collection?.behavior;
  if (pause === 'mark_uncollectible') return markUncollectible(emu, inv);
  if (pause === 'void') return voidInvoice(emu, inv);
  if (inv.collection_method === 'charge_automatically') chargeInvoice(emu, inv, null, false);
}


/** An incomplete subscription whose first invoice went unpaid for 23 hours: incomplete_expired, invoice voided. */
export function expireIncomplete(emu: Emulator, sub: SubRecord): void {
  const inv = sub.latest_invoice ? emu.store.get<InvoiceRecord>('invoice', idOf(sub.latest_invoice)!) : undefined;
  if (inv && inv.status === 'open') voidInvoice(emu, inv);
  const now = emu.nowFor(sub);
  Object.assign(sub, { status: 'incomplete_expired', ended_at: now });
  emu.store.changed();
  emu.events.emit('customer.subscription.deleted', sub);
}

export function sendTrialWillEnd(emu: Emulator, sub: SubRecord): void {
  emu.events.emit('customer.subscription.trial_will_end', sub);
}
