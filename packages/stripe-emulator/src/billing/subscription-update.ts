import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest } from '../errors.js';
import type { Params } from '../http/params.js';
import { jsonClone, previousAttributes } from '../events.js';
import { newId } from '../ids.js';
import { mergeMetadata } from '../resources/common.js';
import { createDiscounts, validateDiscounts, type DiscountRequest } from './discounts.js';
import { createInvoice, finalizeInvoice, pendingInvoiceItems, subscriptionDraft, type LineInput } from './invoices.js';
import { declineBody, wouldSucceed } from './payments.js';
import { addIntervals, type Interval } from './periods.js';
import { idOf, isMetered, type ItemRecord, type PriceRecord, type SubRecord } from './records.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { chargeInvoice } from './subscription-payments.js';
import { createProrationItems, prorationLines, type ItemChange } from './prorations.js';
import { itemPrice, licensedLines, requirePrice, usageLine, subscriptionPaymentMethod, subscriptionPmFor, type PaymentBehavior, type ProrationBehavior } from './subscription-lookups.js';
import { planOf } from '../resources/plans.js';
import { priceAmount } from './usage.js';

export interface ItemUpdate {
  id?: string;
  price?: string;
  quantity?: number;
  deleted?: boolean;
  metadata?: Record<string, string | null> | null;
}

/** Reads `items[]` item changes (subscription update, and `subscription_details` of a preview). */
export function readItemUpdates(p: Params): ItemUpdate[] | undefined {
  return p.objects('items')?.map((it) => {
    const id = it.string('id');
    const price = it.string('price');
    const quantity = it.int('quantity', { min: 0 });
    const deleted = it.bool('deleted');
    const metadata = it.metadata();
    it.bool('clear_usage');
    return {
      ...(id ? { id } : {}),
      ...(price ? { price } : {}),
      ...(quantity !== undefined ? { quantity } : {}),
      ...(deleted ? { deleted } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    };
  });
}

/** `updateSubscription`'s input: `POST /v1/subscriptions/:id` parameters, already parsed. */
export interface UpdateSubscriptionInput {
  items?: ItemUpdate[];
  prorationBehavior?: ProrationBehavior;
  prorationDate?: number;
  cancelAtPeriodEnd?: boolean;
  /** null = unset. */
  cancelAt?: number | null;
  trialEnd?: number | 'now';
  defaultPaymentMethod?: string | null;
  discounts?: DiscountRequest[];
  metadata?: Record<string, string | null> | null;
  pauseCollection?: { behavior: Stripe.Subscription.PauseCollection.Behavior; resumesAt: number | null } | null;
  paymentBehavior?: PaymentBehavior;
  collectionMethod?: 'charge_automatically' | 'send_invoice';
  daysUntilDue?: number;
  description?: string | null;
  cancellationDetails?: { comment?: string | null; feedback?: Stripe.Subscription.CancellationDetails.Feedback | null };
  saveDefaultPaymentMethod?: 'on_subscription' | 'off';
}

export interface ItemPlan {
  items: ItemRecord[];
  changes: ItemChange[];
  /** The items bill on another interval than before (e.g. monthly → yearly): the cycle restarts now. */
  intervalChange: boolean;
}

/**
 * Works out the items after `items[]` changes, on copies (the subscription is untouched, so a
 * preview can use it): existing items by id get a new price / quantity / metadata or are deleted,
 * items without id are added. Returns the resulting items and the changes to prorate.
 */
export function planItems(emu: Emulator, sub: SubRecord, updates: ItemUpdate[], param = 'items'): ItemPlan {
  const items = jsonClone(sub.items.data) as ItemRecord[];
  const changes: ItemChange[] = [];
  const now = emu.nowFor(sub);
  updates.forEach((u, i) => {
    if (u.id) {
      const idx = items.findIndex((it) => it.id === u.id);
      if (idx < 0) throw invalidRequest(`No such subscription item: '${u.id}'`, `${param}[${i}][id]`, 'resource_missing');
      const item = items[idx]!;
      const oldPrice = itemPrice(emu, item);
      const oldQty = item.quantity ?? (isMetered(oldPrice) ? 0 : 1);
      if (u.deleted) {
        items.splice(idx, 1);
        changes.push({ item, oldPrice, oldQty, newPrice: null, newQty: 0 });
        return;
      }
      const newPrice = u.price ? requirePrice(emu, u.price, `${param}[${i}][price]`) : oldPrice;
      const newQty = isMetered(newPrice) ? 0 : (u.quantity ?? (isMetered(oldPrice) ? 1 : oldQty));
      if (u.metadata !== undefined) item.metadata = mergeMetadata(item.metadata as Record<string, string>, u.metadata);
      if (newPrice.id !== oldPrice.id || newQty !== oldQty) {
        changes.push({ item, oldPrice, oldQty, newPrice, newQty });
        item.price = { ...newPrice } as Stripe.Price;
        item.plan = planOf(newPrice);
        if (isMetered(newPrice)) delete (item as { quantity?: number }).quantity;
        else item.quantity = newQty;
      }
      return;
    }
    if (!u.price) throw invalidRequest('Missing required param: price.', `${param}[${i}][price]`, 'parameter_missing');
    const price = requirePrice(emu, u.price, `${param}[${i}][price]`);
    if (items.some((it) => it.price.id === price.id)) {
      throw invalidRequest('Cannot add multiple subscription items with the same price.', `${param}[${i}][price]`);
    }
    const ref = items[0] ?? sub.items.data[0]!;
    const qty = u.quantity ?? 1;
    const item = {
      id: newId('si', 14),
      object: 'subscription_item',
      billing_thresholds: null,
      created: now,
      current_period_end: ref.current_period_end,
      current_period_start: ref.current_period_start,
      current_trial: null,
      discounts: [],
      metadata: mergeMetadata({}, u.metadata ?? undefined),
      plan: planOf(price),
      price: { ...price } as Stripe.Price,
      ...(isMetered(price) ? {} : { quantity: qty }),
      subscription: sub.id,
      tax_rates: [],
    } as unknown as ItemRecord;
    items.push(item);
    changes.push({ item, oldPrice: null, oldQty: 0, newPrice: price, newQty: isMetered(price) ? 0 : qty });
  });
  if (items.length === 0) throw invalidRequest('A subscription must have at least one item.', param);
  const first = itemPrice(emu, items[0]!);
  items.forEach((it) => {
    const p = itemPrice(emu, it);
    if (p.currency !== first.currency) throw invalidRequest('All prices on a subscription must have the same currency.', param);
    if (!sameInterval(p, first)) {
      throw invalidRequest('All prices on a subscription must have the same `recurring.interval` and `recurring.interval_count`.', param);
    }
  });
  const current = sub.items.data[0] ? itemPrice(emu, sub.items.data[0]) : first;
  return { items, changes, intervalChange: !sameInterval(current, first) };
}

function sameInterval(a: PriceRecord, b: PriceRecord): boolean {
  return a.recurring!.interval === b.recurring!.interval && (a.recurring!.interval_count ?? 1) === (b.recurring!.interval_count ?? 1);
}

/** What changing the billing interval bills at once (the same for the update and its preview). */
export interface IntervalChangeBill {
  /** Credits for the unused time of the old prices (none with `proration_behavior: none`). */
  credits: LineInput[];
  /** The new prices for the whole new period, and metered usage of the old period so far. */
  charges: LineInput[];
  /** The new period: [now, end). */
  end: number;
}

/**
 * Stripe's interval change (monthly ↔ yearly): the billing cycle anchor resets to now, the unused
 * time of each old price is credited (prorated by the exact fraction of its period left after `at`),
 * the new prices are charged for a full new period starting now, and usage metered so far in the old
 * period is billed, all on one invoice issued at once.
 */
export function intervalChangeBill(emu: Emulator, sub: SubRecord, plan: ItemPlan, at: number, now: number, behavior: ProrationBehavior): IntervalChangeBill {
  const credits =
    behavior === 'none'
      ? []
      : prorationLines(
          emu,
          sub,
          plan.changes.filter((c) => c.oldPrice).map((c) => ({ ...c, newPrice: null, newQty: 0 })),
          at,
        );
  const price = itemPrice(emu, plan.items[0]!);
  const end = addIntervals(now, price.recurring!.interval as Interval, price.recurring!.interval_count ?? 1);
  const virtual = { ...sub, items: { ...sub.items, data: plan.items } } as SubRecord;
  const charges: LineInput[] = [
    ...licensedLines(emu, virtual, now, end),
    ...sub.items.data
      .filter((it) => isMetered(itemPrice(emu, it)))
      .map((it) => usageLine(emu, sub, it, it.current_period_start, now))
      .filter((l): l is LineInput => l !== null),
  ];
  return { credits, charges, end };
}

/**
 * Updates a subscription as `POST /v1/subscriptions/:id` does: emits
 * `customer.subscription.updated` (previous_attributes), then for item changes the proration
 * invoice items (`invoiceitem.created`, pending until the next invoice with create_prorations) or,
 * with always_invoice, an invoice now (`invoice.created`, `invoice.finalized`, payment events).
 * error_if_incomplete with a failing card throws 402 before anything changes.
 */
export function updateSubscription(emu: Emulator, sub: SubRecord, input: UpdateSubscriptionInput): SubRecord {
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
    throw invalidRequest(`A canceled subscription can only update its cancellation_details and metadata.`, undefined);
  }
  const now = emu.nowFor(sub);
  const at = input.prorationDate ?? now;
  const behavior = input.prorationBehavior ?? 'create_prorations';
  const plan = input.items ? planItems(emu, sub, input.items) : null;
  if (input.discounts) validateDiscounts(emu, input.discounts, now);
  const pm = input.defaultPaymentMethod ? subscriptionPmFor(emu, input.defaultPaymentMethod, idOf(sub.customer)!, 'default_payment_method') : null;
  const missing = sub.trial_settings?.end_behavior?.missing_payment_method;
  if (
    input.trialEnd === 'now' &&
    sub.status === 'trialing' &&
    sub.collection_method === 'charge_automatically' &&
    (missing === 'pause' || missing === 'cancel') &&
    !(pm ?? subscriptionPaymentMethod(emu, sub))
  ) {
    // Ending the trial without a card does what the trial's end would: pause or cancel, never an invoice to dun.
    const { trialEnd: _now, ...rest } = input;
    if (Object.keys(rest).length > 0) updateSubscription(emu, sub, rest);
    return missing === 'cancel' ? cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' }) : pauseAtTrialEnd(emu, sub, now);
  }
  if (input.trialEnd !== undefined && input.trialEnd !== 'now') {
    if (sub.status !== 'trialing') throw invalidRequest('The emulator can only change trial_end while the subscription is trialing.', 'trial_end');
    if (input.trialEnd <= now) throw invalidRequest('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
  }
  // A new billing interval restarts the cycle now and is invoiced at once (a trial just keeps its end).
  const reset = plan?.intervalChange && sub.status !== 'trialing' ? intervalChangeBill(emu, sub, plan, at, now, behavior) : null;
  const proration = reset ? reset.credits : plan && behavior !== 'none' ? prorationLines(emu, sub, plan.changes, at) : [];
  const endTrialNow = input.trialEnd === 'now' && sub.status === 'trialing';
  const invoiceNow =
    reset !== null ||
    (behavior === 'always_invoice' && (proration.length > 0 || pendingInvoiceItems(emu, idOf(sub.customer)!, sub.id, 'subscription').length > 0)) ||
    endTrialNow;
  const invoiceId = invoiceNow ? newId('in', 24) : null;

  // error_if_incomplete: decide before changing anything.
  if (invoiceNow && input.paymentBehavior === 'error_if_incomplete') {
    const card = pm ?? subscriptionPaymentMethod(emu, sub);
    const due = reset
      ? [...reset.credits, ...reset.charges].reduce((a, l) => a + l.amount, 0) + pendingInvoiceItems(emu, idOf(sub.customer)!, sub.id, 'subscription').reduce((a, ii) => a + ii.amount, 0)
      : endTrialNow
      ? (plan?.items ?? sub.items.data).reduce((a, it) => a + (isMetered(itemPrice(emu, it)) ? 0 : priceAmount(emu, itemPrice(emu, it), it.quantity ?? 1)), 0)
      : proration.reduce((a, l) => a + l.amount, 0) + pendingInvoiceItems(emu, idOf(sub.customer)!, sub.id, 'subscription').reduce((a, ii) => a + ii.amount, 0);
    if (due > 0 && sub.collection_method === 'charge_automatically' && !wouldSucceed(card)) {
      throw new StripeError(402, { ...(declineBody(card) as Record<string, unknown>), type: 'card_error' } as never);
    }
  }

  const before = jsonClone(sub) as unknown as Record<string, unknown>;
  if (plan) sub.items.data = plan.items;
  if (reset) {
    for (const it of sub.items.data) {
      it.current_period_start = now;
      it.current_period_end = reset.end;
    }
    sub.billing_cycle_anchor = now;
    if (sub.cancel_at_period_end) sub.cancel_at = reset.end;
  }
  const period = { start: sub.items.data[0]!.current_period_start, end: sub.items.data[0]!.current_period_end };
  if (input.cancelAtPeriodEnd !== undefined) {
    sub.cancel_at_period_end = input.cancelAtPeriodEnd;
    sub.cancel_at = input.cancelAtPeriodEnd ? period.end : null;
    sub.canceled_at = input.cancelAtPeriodEnd ? now : null;
    sub.cancellation_details = { feedback_option: null, comment: sub.cancellation_details?.comment ?? null, feedback: sub.cancellation_details?.feedback ?? null, reason: input.cancelAtPeriodEnd ? 'cancellation_requested' : null };
  }
  if (input.cancelAt !== undefined) {
    sub.cancel_at = input.cancelAt;
    sub.cancel_at_period_end = false;
    sub.canceled_at = input.cancelAt === null ? null : now;
    sub.cancellation_details = { feedback_option: null, comment: sub.cancellation_details?.comment ?? null, feedback: sub.cancellation_details?.feedback ?? null, reason: input.cancelAt === null ? null : 'cancellation_requested' };
  }
  if (input.cancellationDetails) {
    sub.cancellation_details = {
      feedback_option: sub.cancellation_details?.feedback_option ?? null,
      comment: input.cancellationDetails.comment !== undefined ? input.cancellationDetails.comment : (sub.cancellation_details?.comment ?? null),
      feedback: input.cancellationDetails.feedback !== undefined ? input.cancellationDetails.feedback : (sub.cancellation_details?.feedback ?? null),
      reason: sub.cancellation_details?.reason ?? null,
    };
  }
  if (input.defaultPaymentMethod !== undefined) sub.default_payment_method = pm?.id ?? null;
  if (input.discounts) sub.discounts = createDiscounts(emu, input.discounts, { customer: idOf(sub.customer)!, subscription: sub.id, now });
  if (input.metadata !== undefined) sub.metadata = mergeMetadata(sub.metadata as Record<string, string>, input.metadata);
  if (input.pauseCollection !== undefined) {
    sub.pause_collection = input.pauseCollection ? { behavior: input.pauseCollection.behavior, resumes_at: input.pauseCollection.resumesAt } : null;
  }
  if (input.collectionMethod) sub.collection_method = input.collectionMethod;
  if (input.daysUntilDue !== undefined) sub.days_until_due = input.daysUntilDue;
  if (input.description !== undefined) sub.description = input.description;
  if (input.saveDefaultPaymentMethod && sub.payment_settings) sub.payment_settings.save_default_payment_method = input.saveDefaultPaymentMethod;
  if (typeof input.trialEnd === 'number') {
    sub.trial_end = input.trialEnd;
    sub.billing_cycle_anchor = input.trialEnd;
    for (const it of sub.items.data) it.current_period_end = input.trialEnd;
  }
  if (endTrialNow) endTrialNowAs(emu, sub, now, 'active');
  if (invoiceId) sub.latest_invoice = invoiceId;
  const prev = previousAttributes(before, sub as unknown as Record<string, unknown>);
  if (Object.keys(prev).length > 0) {
    emu.store.changed();
    emu.events.emit('customer.subscription.updated', sub, { previousAttributes: prev });
  }
  createProrationItems(emu, sub, proration);
  if (invoiceId) {
    const lines: LineInput[] = reset ? [...reset.charges] : [];
    let periodStart = reset ? now : at;
    let periodEnd = reset ? now : at;
    if (endTrialNow) {
      const p = { start: sub.items.data[0]!.current_period_start, end: sub.items.data[0]!.current_period_end };
      periodStart = p.start;
      periodEnd = p.start;
      lines.push(...licensedLines(emu, sub, p.start, p.end));
    }
    invoiceUpdateNow(emu, sub, invoiceId, lines, periodStart, periodEnd);
  }
  return sub;
}

/** Ends the trial now: a new cycle of one interval starts, the subscription `status`. */
function endTrialNowAs(emu: Emulator, sub: SubRecord, now: number, status: 'active' | 'paused'): void {
  const first = itemPrice(emu, sub.items.data[0]!);
  const end = addIntervals(now, first.recurring!.interval as Interval, first.recurring!.interval_count ?? 1);
  for (const it of sub.items.data) {
    it.current_period_start = now;
    it.current_period_end = end;
  }
  Object.assign(sub, { status, trial_end: now, billing_cycle_anchor: now });
}

/** The trial ends now without a payment method and `missing_payment_method: pause`: paused from now for one interval. */
function pauseAtTrialEnd(emu: Emulator, sub: SubRecord, now: number): SubRecord {
  const before = jsonClone(sub) as unknown as Record<string, unknown>;
  endTrialNowAs(emu, sub, now, 'paused');
  emu.store.changed();
  emu.events.emit('customer.subscription.paused', sub);
  emu.events.emit('customer.subscription.updated', sub, { previousAttributes: previousAttributes(before, sub as unknown as Record<string, unknown>) });
  return sub;
}

/**
 * `POST /v1/subscriptions/:id/resume` for a paused subscription (trial ended without a payment
 * method): active again from now with a new cycle, invoiced and charged at once. Emits
 * `customer.subscription.resumed` and `customer.subscription.updated`.
 */
export function resumeSubscription(emu: Emulator, sub: SubRecord): SubRecord {
  if (sub.status !== 'paused') throw invalidRequest('Only a subscription with status=paused can be resumed.', undefined);
  const now = emu.nowFor(sub);
  const before = jsonClone(sub) as unknown as Record<string, unknown>;
  const first = itemPrice(emu, sub.items.data[0]!);
  const end = addIntervals(now, first.recurring!.interval as Interval, first.recurring!.interval_count ?? 1);
  for (const it of sub.items.data) {
    it.current_period_start = now;
    it.current_period_end = end;
  }
  const invoiceId = newId('in', 24);
  Object.assign(sub, { status: 'active', billing_cycle_anchor: now, latest_invoice: invoiceId });
  emu.store.changed();
  emu.events.emit('customer.subscription.resumed', sub);
  emu.events.emit('customer.subscription.updated', sub, { previousAttributes: previousAttributes(before, sub as unknown as Record<string, unknown>) });
  invoiceUpdateNow(emu, sub, invoiceId, licensedLines(emu, sub, now, end), now, now);
  return sub;
}

/** Issues a change's invoice at once (pending items included): finalized, and charged when collected automatically. */
function invoiceUpdateNow(emu: Emulator, sub: SubRecord, id: string, lines: LineInput[], periodStart: number, periodEnd: number): void {
  const inv = createInvoice(emu, { id, ...subscriptionDraft(sub), billingReason: 'subscription_update', lines, periodStart, periodEnd, autoAdvance: true });
  finalizeInvoice(emu, inv);
  if (inv.status === 'open' && inv.collection_method === 'charge_automatically') chargeInvoice(emu, inv, null, false);
}
