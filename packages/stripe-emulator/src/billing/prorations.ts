import type { Emulator } from '../emulator.js';
import { newId } from '../ids.js';
import { productName, type LineInput } from './invoices.js';
import { prorate } from './money.js';
import { idOf, isMetered, type InvoiceItemRecord, type ItemRecord, type PriceRecord, type SubRecord } from './records.js';
import { fmtDate } from './subscription-lookups.js';
import { scaledPriceAmount } from './usage.js';

// Proration lines for item changes, and storing them as pending invoice items.

export interface ItemChange {
  item: ItemRecord;
  oldPrice: PriceRecord | null;
  oldQty: number;
  newPrice: PriceRecord | null;
  newQty: number;
}

/**
 * Stripe's proration lines for item changes at `at`: a credit for the unused time of the old
 * price × quantity and a charge for the remaining time of the new one, each
 * amount × (period_end − at) / (period_end − period_start), rounded per line. Metered prices and
 * trials are not prorated.
 */
export function prorationLines(emu: Emulator, sub: SubRecord, changes: ItemChange[], at: number): LineInput[] {
  if (sub.status === 'trialing') return [];
  const lines: LineInput[] = [];
  for (const c of changes) {
    const start = c.item.current_period_start;
    const end = c.item.current_period_end;
    if (at >= end || at < start) continue;
    if (c.oldPrice && !isMetered(c.oldPrice) && c.oldQty > 0) {
      const amount = prorate(scaledPriceAmount(emu, c.oldPrice, c.oldQty), at, end, start, end);
      lines.push({
        amount: -amount,
        description: `Unused time on ${c.oldQty} × ${productName(emu, c.oldPrice)} after ${fmtDate(at)}`,
        period: { start: at, end },
        price: c.oldPrice,
        quantity: c.oldQty,
        proration: true,
        subscription: sub.id,
        subscriptionItem: c.item.id,
        invoiceItem: null,
        discountable: false,
      });
    }
    if (c.newPrice && !isMetered(c.newPrice) && c.newQty > 0) {
      const amount = prorate(scaledPriceAmount(emu, c.newPrice, c.newQty), at, end, start, end);
      lines.push({
        amount,
        description: `Remaining time on ${c.newQty} × ${productName(emu, c.newPrice)} after ${fmtDate(at)}`,
        period: { start: at, end },
        price: c.newPrice,
        quantity: c.newQty,
        proration: true,
        subscription: sub.id,
        subscriptionItem: c.item.id,
        invoiceItem: null,
        discountable: true,
      });
    }
  }
  return lines;
}

/** Stores proration lines as pending invoice items (`invoiceitem.created` each), as Stripe does. */
export function createProrationItems(emu: Emulator, sub: SubRecord, lines: LineInput[]): InvoiceItemRecord[] {
  const now = emu.nowFor(sub);
  return lines.map((l) => {
    const ii = {
      id: newId('ii', 24),
      object: 'invoiceitem',
      amount: l.amount,
      currency: sub.currency,
      customer: idOf(sub.customer)!,
      customer_account: null,
      date: now,
      description: l.description,
      discountable: l.discountable,
      discounts: [],
      invoice: null,
      livemode: false,
      metadata: {},
      net_amount: l.amount,
      parent: { type: 'subscription_details', subscription_details: { subscription: sub.id, subscription_item: l.subscriptionItem! } },
      period: l.period,
      pricing: l.price
        ? { type: 'price_details', price_details: { price: l.price.id, product: typeof l.price.product === 'string' ? l.price.product : l.price.product.id }, unit_amount_decimal: l.price.unit_amount_decimal }
        : null,
      proration: true,
      proration_details: { credited_items: null, discount_amounts: [] },
      quantity: l.quantity ?? 1,
      quantity_decimal: String(l.quantity ?? 1),
      tax_rates: [],
      test_clock: sub.test_clock ? idOf(sub.test_clock) : null,
    } as unknown as InvoiceItemRecord;
    emu.store.insert('invoiceitem', ii);
    emu.events.emit('invoiceitem.created', ii);
    return ii;
  });
}
