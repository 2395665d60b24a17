import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest, resourceMissing } from '../errors.js';
import { jsonClone, previousAttributes } from '../events.js';
import { planOf } from '../resources/plans.js';
import { newId } from '../ids.js';
import { resolvePaymentMethod, type PaymentMethodRecord } from '../resources/payment-methods.js';
import { createDiscounts, discountedAmount, validateDiscounts, type DiscountRequest } from './discounts.js';
import { createInvoice, finalizeInvoice, productName, subscriptionDraft, updateInvoice, type LineInput } from './invoices.js';
import { prorate } from './money.js';
import {
  attemptInvoicePayment,
  declineBody,
  findPaymentMethod,
  invoicePaymentIntent,
  invoicePaymentMethod,
  needsAuthentication,
  requiresActionBody,
  wouldSucceed,
  type ChargeOutcome,
  type ChargeSession,
} from './payments.js';
import { addIntervals, HOUR, type Interval } from './periods.js';
import {
  idOf,
  invoiceMeta,
  invoiceSubscriptionId,
  isMetered,
  type CustomerRecord,
  type InvoiceItemRecord,
  type InvoiceRecord,
  type ItemRecord,
  type PriceRecord,
  type SubRecord,
} from './records.js';
import { billingSettings } from './settings.js';
import { meteredQuantity, priceAmount, scaledPriceAmount } from './usage.js';

export type PaymentBehavior = 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | 'pending_if_incomplete';
export type ProrationBehavior = 'create_prorations' | 'none' | 'always_invoice';

// Subscription items still carry the legacy plan view of their price.
export { planOf };

export interface ItemInput {
  price: string;
  quantity?: number;
  metadata?: Record<string, string>;
}

/** `createSubscription`'s input: `POST /v1/subscriptions` parameters, already parsed. */
export interface CreateSubscriptionInput {
  customer: string;
  items: ItemInput[];
  trialPeriodDays?: number;
  trialEnd?: number | 'now';
  paymentBehavior?: PaymentBehavior;
  /**
   * How the first invoice is charged: `on_session` (default: an API create; a card that needs 3-D
   * Secure waits in `requires_action`) or `authenticated` (the customer passed the challenge on a
   * hosted page, e.g. Checkout).
   */
  firstPaymentSession?: Extract<ChargeSession, 'on_session' | 'authenticated'>;
  defaultPaymentMethod?: string;
  discounts?: DiscountRequest[];
  metadata?: Record<string, string>;
  cancelAtPeriodEnd?: boolean;
  cancelAt?: number;
  collectionMethod?: 'charge_automatically' | 'send_invoice';
  daysUntilDue?: number;
  description?: string;
  /** `payment_settings.save_default_payment_method`: `on_subscription` keeps the card that pays the first invoice. */
  saveDefaultPaymentMethod?: 'on_subscription' | 'off';
  /** `trial_settings.end_behavior.missing_payment_method`. */
  trialEndBehavior?: 'create_invoice' | 'pause' | 'cancel';
  /** A future anchor within one interval: the first period runs to it, prorated unless `prorationBehavior: 'none'`. */
  billingCycleAnchor?: number;
  prorationBehavior?: 'create_prorations' | 'none' | 'always_invoice';
  /** The subscription schedule that creates it (`subscription.schedule`). */
  schedule?: string;
}

const SAVE_PM = 'billing.subscription_save_pm';
const TRIAL_END_BEHAVIOUR_KIND = 'billing.subscription_trial_behaviour';

// ---------- helpers ----------

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

function intervalOf(price: PriceRecord): { interval: Interval; count: number } {
  return { interval: price.recurring!.interval as Interval, count: price.recurring!.interval_count ?? 1 };
}

/** The price as an item shows it: a shallow copy (its nested parts are never changed in place). */
function priceSnapshot(price: PriceRecord): Stripe.Price {
  return { ...price } as unknown as Stripe.Price;
}

function newItem(price: PriceRecord, quantity: number, subId: string, start: number, end: number, now: number, metadata?: Record<string, string>): ItemRecord {
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

function fmtDate(t: number): string {
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

function emitSubUpdate(emu: Emulator, sub: SubRecord, before: Record<string, unknown>): void {
  const prev = previousAttributes(before, sub as unknown as Record<string, unknown>);
  if (Object.keys(prev).length === 0) return;
  emu.store.changed();
  emu.events.emit('customer.subscription.updated', sub, { previousAttributes: prev });
}

function snapshot(sub: SubRecord): Record<string, unknown> {
  return jsonClone(sub) as unknown as Record<string, unknown>;
}

function periodOf(sub: SubRecord): { start: number; end: number } {
  const first = sub.items.data[0]!;
  return { start: first.current_period_start, end: first.current_period_end };
}

/** Invoice an interval ahead: the next period end on this subscription's cycle. */
function periodEndFrom(sub: SubRecord, emu: Emulator, start: number, anchor: number): number {
  const price = itemPrice(emu, sub.items.data[0]!);
  const { interval, count } = intervalOf(price);
  // Boundaries are computed from the anchor so month-end anchors survive short months.
  let k = 1;
  while (addIntervals(anchor, interval, k * count) <= start) k++;
  return addIntervals(anchor, interval, k * count);
}

// ---------- create ----------

/**
 * Creates a subscription as `POST /v1/subscriptions` does (also used by checkout): validates
 * everything first (so `error_if_incomplete` with a declining card leaves nothing behind), emits
 * `customer.subscription.created`, then bills the first invoice: `invoice.created`,
 * `invoice.finalized`, and, when charged, `charge.succeeded`, `payment_intent.succeeded`,
 * `invoice.paid`, `invoice.payment_succeeded` (or the failure events).
 */
export function createSubscription(emu: Emulator, input: CreateSubscriptionInput): SubRecord {
  const customer = emu.store.get<CustomerRecord>('customer', input.customer);
  if (!customer || (customer as { deleted?: boolean }).deleted) throw resourceMissing('customer', input.customer, 'customer');
  if (input.items.length === 0) throw invalidRequest('Missing required param: items.', 'items', 'parameter_missing');
  const prices = input.items.map((it, i) => requirePrice(emu, it.price, `items[${i}][price]`));
  const currency = prices[0]!.currency;
  const first = intervalOf(prices[0]!);
  prices.forEach((p, i) => {
    if (p.currency !== currency) throw invalidRequest('All prices on a subscription must have the same currency.', `items[${i}][price]`);
    const iv = intervalOf(p);
    if (iv.interval !== first.interval || iv.count !== first.count) {
      throw invalidRequest('All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.', `items[${i}][price]`);
    }
  });
  const now = emu.nowFor(customer);
  if (input.discounts) validateDiscounts(emu, input.discounts, now);
  let trialEnd: number | null = null;
  if (input.trialEnd !== undefined && input.trialEnd !== 'now') {
    if (input.trialEnd <= now) throw invalidRequest('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
    trialEnd = input.trialEnd;
  } else if (input.trialEnd === undefined && input.trialPeriodDays) {
    trialEnd = now + input.trialPeriodDays * 86_400;
  }
  const collection = input.collectionMethod ?? 'charge_automatically';
  const customAnchor = input.billingCycleAnchor;
  if (customAnchor !== undefined) {
    if (trialEnd) throw invalidRequest('The emulator does not combine billing_cycle_anchor with a trial.', 'billing_cycle_anchor');
    if (customAnchor <= now || customAnchor > addIntervals(now, first.interval, first.count)) {
      throw invalidRequest('billing_cycle_anchor must be in the future and within one billing interval.', 'billing_cycle_anchor');
    }
  }
  if (collection === 'send_invoice' && input.daysUntilDue === undefined) {
    throw invalidRequest('Missing required param: days_until_due.', 'days_until_due', 'parameter_missing');
  }
  const behavior = input.paymentBehavior ?? 'allow_incomplete';
  // Resolve the card without attaching it yet: a refused error_if_incomplete must leave nothing behind.
  const pm = input.defaultPaymentMethod ? resolvePaymentMethod(emu, input.defaultPaymentMethod, 'default_payment_method') : null;
  const freshPm = pm !== null && pm.id !== input.defaultPaymentMethod;
  if (pm && pm.customer && pm.customer !== customer.id) {
    throw invalidRequest(`The customer does not have a payment method with the ID ${pm.id}. The payment method must be attached to the customer.`, 'default_payment_method');
  }
  const customerDefault = idOf(customer.invoice_settings?.default_payment_method) ?? idOf(customer.default_source);
  const chargePm = pm ?? (customerDefault ? findPaymentMethod(emu, customerDefault) : null);

  const subId = newId('sub', 24);
  const periodStart = now;
  const anchor = trialEnd ?? customAnchor ?? now;
  const periodEnd = trialEnd ?? customAnchor ?? addIntervals(now, first.interval, first.count);
  // A custom anchor bills the stub period [now, anchor) as a fraction of a full period ending at the anchor.
  const stub = customAnchor !== undefined ? { from: now, start: addIntervals(customAnchor, first.interval, -first.count), end: customAnchor, prorate: input.prorationBehavior !== 'none' } : null;
  const firstLine = (price: PriceRecord, qty: number): number =>
    stub ? (stub.prorate ? prorate(scaledPriceAmount(emu, price, qty), stub.from, stub.end, stub.start, stub.end) : 0) : priceAmount(emu, price, qty);
  const items = input.items.map((it, i) => newItem(prices[i]!, it.quantity ?? 1, subId, periodStart, periodEnd, now, it.metadata));
  // The first invoice's amount decides the status before anything is stored.
  const firstSubtotal = trialEnd
    ? 0
    : items.reduce((a, item, i) => a + (isMetered(prices[i]!) ? 0 : firstLine(prices[i]!, item.quantity ?? 1)), 0);
  const firstDue = Math.max(0, discountedAmount(emu, firstSubtotal, input.discounts ?? [], currency, now) + (customer.balance ?? 0));
  const willCharge = firstDue > 0 && collection === 'charge_automatically' && behavior !== 'default_incomplete';
  const firstSession = input.firstPaymentSession ?? 'on_session';
  const willPay = willCharge && wouldSucceed(chargePm, firstSession);
  if (willCharge && !willPay && behavior === 'error_if_incomplete') {
    if (freshPm) emu.store.delete('payment_method', pm!.id);
    if (!chargePm) {
      throw invalidRequest('This customer has no attached payment source or default payment method. Please consider adding a default payment method.', undefined, 'resource_missing');
    }
    // A card that needs 3-D Secure: Stripe creates nothing and says so (no PaymentIntent to confirm).
    if (needsAuthentication(chargePm) && firstSession === 'on_session') throw new StripeError(402, requiresActionBody(chargePm) as never);
    throw new StripeError(402, { ...(declineBody(chargePm) as Record<string, unknown>), type: 'card_error' } as never);
  }
  const status: Stripe.Subscription.Status = trialEnd
    ? 'trialing'
    : firstDue === 0 || collection === 'send_invoice' || willPay
      ? 'active'
      : 'incomplete';
  if (pm) subscriptionPmFor(emu, pm.id, customer.id, 'default_payment_method');
  const invoiceId = newId('in', 24);
  const sub = {
    id: subId,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: input.cancelAt ?? (input.cancelAtPeriodEnd ? periodEnd : null),
    cancel_at_period_end: input.cancelAtPeriodEnd ?? false,
    canceled_at: input.cancelAtPeriodEnd || input.cancelAt ? now : null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: input.cancelAtPeriodEnd || input.cancelAt ? 'cancellation_requested' : null },
    collection_method: collection,
    created: now,
    currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: collection === 'send_invoice' ? (input.daysUntilDue ?? null) : null,
    default_payment_method: pm?.id ?? null,
    default_source: null,
    default_tax_rates: [],
    description: input.description ?? null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } },
    items: { object: 'list', data: items, has_more: false, url: `/v1/subscription_items?subscription=${subId}` },
    latest_invoice: invoiceId,
    livemode: false,
    managed_payments: null,
    metadata: input.metadata ?? {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: input.saveDefaultPaymentMethod ?? 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: input.schedule ?? null,
    start_date: now,
    status,
    test_clock: customer.test_clock ? idOf(customer.test_clock) : null,
    transfer_data: null,
    trial_end: trialEnd,
    // billing_cycle_anchor: null = Stripe's default (`now`); the emulator takes no other.
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: input.trialEndBehavior ?? 'create_invoice' } },
    trial_start: trialEnd ? now : null,
  } as unknown as SubRecord;
  if (input.discounts?.length) sub.discounts = createDiscounts(emu, input.discounts, { customer: customer.id, subscription: subId, now });
  emu.store.insert('subscription', sub);
  emu.events.emit('customer.subscription.created', sub);

  const lines = sub.items.data
    .filter((it) => !isMetered(itemPrice(emu, it)))
    .filter(() => !stub || stub.prorate)
    .map((it): LineInput => {
      const line = periodLine(emu, sub, it, periodStart, periodEnd, !!trialEnd);
      if (!stub) return line;
      const qty = it.quantity ?? 1;
      return {
        ...line,
        amount: firstLine(itemPrice(emu, it), qty),
        description: `Remaining time on ${qty} × ${productName(emu, itemPrice(emu, it))} after ${fmtDate(now)}`,
        proration: true,
      };
    });
  const inv = createInvoice(emu, {
    id: invoiceId,
    customer: customer.id,
    currency,
    subscription: sub,
    billingReason: 'subscription_create',
    lines,
    pendingItems: 'subscription',
    periodStart,
    periodEnd: periodStart,
    collectionMethod: collection,
    daysUntilDue: sub.days_until_due,
    autoAdvance: true,
  });
  finalizeInvoice(emu, inv);
  if (inv.status === 'paid') afterInvoicePaid(emu, inv, null);
  // Without any card there is nothing to attempt: the PaymentIntent waits for one (as default_incomplete).
  if (inv.status === 'open' && collection === 'charge_automatically' && behavior !== 'default_incomplete' && chargePm) {
    // The customer is on session (an API create): a card that needs 3-D Secure leaves the PaymentIntent requires_action.
    const outcome = attemptInvoicePayment(emu, inv, chargePm, { manual: false, session: firstSession });
    if (outcome.ok) afterInvoicePaid(emu, inv, chargePm);
  }
  return sub;
}

// ---------- reactions to invoice payments ----------

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

// ---------- cancel ----------

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

// ---------- prorations ----------

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

// ---------- renewals, trials, expiry (driven by the clock engine) ----------

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
