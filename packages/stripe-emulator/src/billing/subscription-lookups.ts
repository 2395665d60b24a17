import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import { jsonClone, previousAttributes } from '../events.js';
import { newId } from '../ids.js';
import { resolvePaymentMethod, type PaymentMethodRecord } from '../resources/payment-methods.js';
import { planOf } from '../resources/plans.js';
import { productName, type LineInput } from './invoices.js';
import { findPaymentMethod } from './payments.js';
import { addIntervals, type Interval } from './periods.js';
import { idOf, isMetered, type CustomerRecord, type ItemRecord, type PriceRecord, type SubRecord } from './records.js';
import { meteredQuantity, priceAmount } from './usage.js';

// Subscription lookups and what the subscription modules share: prices, items, period and usage lines, cards, update events.

export type PaymentBehavior = 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | 'pending_if_incomplete';
export type ProrationBehavior = 'create_prorations' | 'none' | 'always_invoice';

export interface ItemInput {
  price: string;
  quantity?: number;
  metadata?: Record<string, string>;
}


export function liveSubscription(emu: Emulator, id: string, param = 'id'): SubRecord {
  return emu.store.require<SubRecord>('subscription', id, 'subscription', param);
}

export function requirePrice(emu: Emulator, id: string, param: string): PriceRecord {
  const price = emu.store.get<PriceRecord>('price', id);
  if (!price) throw resourceMissing('price', id, param);
  if (!price.recurring) {
    throw invalidRequest(`The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`, param);
  }
  if (!price.active) throw invalidRequest(`The price specified is inactive. This field only accepts active prices.`, param);
  return price;
}

export function intervalOf(price: PriceRecord): { interval: Interval; count: number } {
  return { interval: price.recurring!.interval as Interval, count: price.recurring!.interval_count ?? 1 };
}

/** The price as an item shows it: a shallow copy (its nested parts are never changed in place). */
function priceSnapshot(price: PriceRecord): Stripe.Price {
  return { ...price } as unknown as Stripe.Price;
}

export function newItem(price: PriceRecord, quantity: number, subId: string, start: number, end: number, now: number, metadata?: Record<string, string>): ItemRecord {
  return {
    id: newId('si', 14),
    object: 'subscription_item',
    billing_thresholds: null,
    created: now,
    current_period_end: end,
    current_period_start: start,
    current_trial: null,
    discounts: [],
    metadata: metadata ?? {},
    plan: planOf(price),
    price: priceSnapshot(price),
    ...(isMetered(price) ? {} : { quantity }),
    subscription: subId,
    tax_rates: [],
  } as unknown as ItemRecord;
}

export function itemPrice(emu: Emulator, item: ItemRecord): PriceRecord {
  return (emu.store.get<PriceRecord>('price', item.price.id) ?? item.price) as PriceRecord;
}

function money(amount: number, currency: string): string {
  const symbol = currency === 'usd' ? '$' : currency === 'eur' ? '€' : currency === 'gbp' ? '£' : `${currency.toUpperCase()} `;
  return `${symbol}${(amount / 100).toFixed(2)}`;
}

export function fmtDate(t: number): string {
  const d = new Date(t * 1000);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** The advance-billed line of a licensed item for a period ("3 × Basic (at $1.00 / month)"). */
export function periodLine(emu: Emulator, sub: SubRecord, item: ItemRecord, start: number, end: number, trial: boolean): LineInput {
  const price = itemPrice(emu, item);
  const qty = item.quantity ?? 1;
  const name = productName(emu, price);
  const amount = trial ? 0 : priceAmount(emu, price, qty);
  const unit = price.unit_amount !== null ? money(price.unit_amount, price.currency) : `${price.unit_amount_decimal}¢`;
  const per = `${(price.recurring!.interval_count ?? 1) > 1 ? `${price.recurring!.interval_count} ` : ''}${price.recurring!.interval}`;
  return itemLine(sub, item, {
    amount,
    description: trial ? `Trial period for ${name}` : `${qty} × ${name} (at ${unit} / ${per})`,
    period: { start, end },
    price,
    quantity: qty,
  });
}

/** The period lines of a subscription's licensed (not metered) items, in advance for [start, end). */
export function licensedLines(emu: Emulator, sub: SubRecord, start: number, end: number): LineInput[] {
  return sub.items.data.filter((it) => !isMetered(itemPrice(emu, it))).map((it) => periodLine(emu, sub, it, start, end, false));
}

/** The arrears line of a metered item: usage in [start, end) on the price's (tiered) amounts. */
export function usageLine(emu: Emulator, sub: SubRecord, item: ItemRecord, start: number, end: number): LineInput | null {
  const price = itemPrice(emu, item);
  const meter = price.recurring?.meter;
  if (!meter) return null;
  const qty = meteredQuantity(emu, meter, idOf(sub.customer)!, start, end);
  return itemLine(sub, item, {
    amount: priceAmount(emu, price, qty),
    description: `${qty} × ${productName(emu, price)} (usage ${fmtDate(start)} – ${fmtDate(end)})`,
    period: { start, end },
    price,
    quantity: qty,
  });
}

/** A line a subscription item bills by itself (not a proration, not from an invoice item). */
function itemLine(sub: SubRecord, item: ItemRecord, l: Pick<LineInput, 'amount' | 'description' | 'period' | 'price' | 'quantity'>): LineInput {
  return { ...l, proration: false, subscription: sub.id, subscriptionItem: item.id, invoiceItem: null, discountable: true };
}

function subCustomer(emu: Emulator, sub: SubRecord): CustomerRecord {
  return emu.store.get<CustomerRecord>('customer', idOf(sub.customer)!)!;
}

/** The card a subscription charges: its own default, else the customer's invoice default. */
export function subscriptionPaymentMethod(emu: Emulator, sub: SubRecord): PaymentMethodRecord | null {
  const customer = subCustomer(emu, sub);
  const id = idOf(sub.default_payment_method) ?? idOf(customer?.invoice_settings?.default_payment_method) ?? idOf(customer?.default_source);
  return id ? findPaymentMethod(emu, id) : null;
}

/**
 * A payment method for a subscription: an id attached to the customer, or a test token
 * (`pm_card_visa`), which becomes a new PaymentMethod attached to the customer. Unlike
 * `attachPaymentMethod`, a declining test card is accepted here, so the decline happens at charge
 * time (which is what a subscription test wants to see).
 */
export function subscriptionPmFor(emu: Emulator, id: string, customer: string, param: string): PaymentMethodRecord {
  const pm = resolvePaymentMethod(emu, id, param);
  if (!pm.customer) {
    pm.customer = customer;
    emu.store.changed();
    emu.events.emit('payment_method.attached', pm);
  } else if (pm.customer !== customer) {
    throw invalidRequest(
      `The customer does not have a payment method with the ID ${pm.id}. The payment method must be attached to the customer.`,
      param,
    );
  }
  return pm;
}

export function emitSubUpdate(emu: Emulator, sub: SubRecord, before: Record<string, unknown>): void {
  const prev = previousAttributes(before, sub as unknown as Record<string, unknown>);
  if (Object.keys(prev).length === 0) return;
  emu.store.changed();
  emu.events.emit('customer.subscription.updated', sub, { previousAttributes: prev });
}

export function snapshot(sub: SubRecord): Record<string, unknown> {
  return jsonClone(sub) as unknown as Record<string, unknown>;
}

export function periodOf(sub: SubRecord): { start: number; end: number } {
  const first = sub.items.data[0]!;
  return { start: first.current_period_start, end: first.current_period_end };
}

/** Invoice an interval ahead: the next period end on this subscription's cycle. */
export function periodEndFrom(sub: SubRecord, emu: Emulator, start: number, anchor: number): number {
  const price = itemPrice(emu, sub.items.data[0]!);
  const { interval, count } = intervalOf(price);
  // Boundaries are computed from the anchor so month-end anchors survive short months.
  let k = 1;
  while (addIntervals(anchor, interval, k * count) <= start) k++;
  return addIntervals(anchor, interval, k * count);
}
