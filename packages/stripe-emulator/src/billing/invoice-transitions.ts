import type { Emulator } from '../emulator.js';
import { jsonClone, previousAttributes } from '../events.js';
import { invoicePaymentIntent } from './payments.js';
import type { InvoiceRecord } from './records.js';

// Invoice state changes outside payment: marking uncollectible and voiding.

export function markUncollectible(emu: Emulator, inv: InvoiceRecord): void {
  const now = emu.nowFor(inv);
  const before = jsonClone(inv) as unknown as Record<string, unknown>;
  Object.assign(inv, { status: 'uncollectible', next_payment_attempt: null, auto_advance: false });
  inv.status_transitions.marked_uncollectible_at = now;
  emu.store.changed();
  emu.events.emit('invoice.marked_uncollectible', inv, { previousAttributes: previousAttributes(before, inv as unknown as Record<string, unknown>) });
}

export function voidInvoice(emu: Emulator, inv: InvoiceRecord): void {
  const now = emu.nowFor(inv);
  const before = jsonClone(inv) as unknown as Record<string, unknown>;
  Object.assign(inv, { status: 'void', next_payment_attempt: null, auto_advance: false, amount_remaining: 0 });
  inv.status_transitions.voided_at = now;
  const pi = invoicePaymentIntent(emu, inv);
  if (pi && pi.status !== 'succeeded') Object.assign(pi, { status: 'canceled', canceled_at: now, cancellation_reason: 'void_invoice' });
  emu.store.changed();
  emu.events.emit('invoice.voided', inv, { previousAttributes: previousAttributes(before, inv as unknown as Record<string, unknown>) });
}
