import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Params } from '../http/params.js';
import { readDiscounts, validateDiscounts } from './discounts.js';
import { createInvoice, subscriptionDraft, type LineInput } from './invoices.js';
import { addIntervals, nextBoundary, type Interval } from './periods.js';
import { idOf, isMetered, type CustomerRecord, type InvoiceRecord, type ItemRecord, type SubRecord } from './records.js';
import { intervalChangeBill, planItems, readItemUpdates, type ItemPlan, type ItemUpdate } from './subscription-update.js';
import { itemPrice, licensedLines, requirePrice, usageLine, type ProrationBehavior } from './subscription-lookups.js';
import { prorationLines } from './prorations.js';
import { priceAmount } from './usage.js';

/**
 * `POST /v1/invoices/create_preview`: the invoice Stripe would issue next, never stored (id
 * `upcoming_in_…`). For a subscription with `subscription_details[items]` changes it includes the
 * proration lines; with `proration_behavior=always_invoice` it is the invoice the change would
 * create now (prorations only), otherwise the next renewal: pending items and prorations, the new
 * period's licensed lines and metered usage so far. Without a subscription but with items, it
 * previews a new subscription's first invoice.
 */
export function registerPreview(router: import('../http/router.js').Router, emu: Emulator): void {
  router.post('/v1/invoices/create_preview', ({ params: p }) => previewFromParams(emu, p));
}

function previewFromParams(emu: Emulator, p: Params): InvoiceRecord {
  const customerId = p.string('customer');
  const subscriptionId = p.string('subscription');
  const details = p.object('subscription_details');
  const items = details ? readItemUpdates(details) : undefined;
  const behavior = (details?.enum('proration_behavior', ['create_prorations', 'none', 'always_invoice'] as const) ?? 'create_prorations') as ProrationBehavior;
  const prorationDate = details?.int('proration_date', { min: 0 });
  const cancelAtPeriodEnd = details?.bool('cancel_at_period_end');
  const discounts = readDiscounts(p);
  p.strings('expand');
  p.enum('preview_mode', ['next', 'recurring'] as const);
  p.done();

  let sub: SubRecord | undefined;
  if (subscriptionId) {
    sub = emu.store.get<SubRecord>('subscription', subscriptionId);
    if (!sub) throw resourceMissing('subscription', subscriptionId, 'subscription');
    if (customerId && idOf(sub.customer) !== customerId) throw invalidRequest('The subscription does not belong to this customer.', 'subscription');
  }
  const customer = customerId ?? (sub ? idOf(sub.customer)! : undefined);
  if (!customer) throw invalidRequest('Missing required param: customer or subscription.', 'customer', 'parameter_missing');
  const c = emu.store.get<CustomerRecord>('customer', customer);
  if (!c) throw resourceMissing('customer', customer, 'customer');
  const now = emu.nowFor(c);
  if (discounts) validateDiscounts(emu, discounts, now);

  if (!sub && !items) {
    sub = emu.store
      .all<SubRecord>('subscription')
      .find((s) => idOf(s.customer) === customer && !['canceled', 'incomplete_expired'].includes(s.status));
  }

  if (!sub) {
    // A new subscription's first invoice (or just the customer's pending invoice items).
    const lines: LineInput[] = (items ?? []).map((u, i) => {
      if (!u.price) throw invalidRequest('Missing required param: price.', `subscription_details[items][${i}][price]`, 'parameter_missing');
      const price = requirePrice(emu, u.price, `subscription_details[items][${i}][price]`);
      const qty = u.quantity ?? 1;
      const end = addIntervals(now, price.recurring!.interval as Interval, price.recurring!.interval_count ?? 1);
      return {
        amount: isMetered(price) ? 0 : priceAmount(emu, price, qty),
        description: `${qty} × ${price.nickname ?? price.id}`,
        period: { start: now, end },
        price,
        quantity: qty,
        proration: false,
        subscription: null,
        // The items do not exist yet: placeholders where Stripe would name the new subscription items.
        subscriptionItem: `si_preview_${i}`,
        invoiceItem: null,
        discountable: true,
      };
    });
    const inv = createInvoice(emu, {
      customer,
      currency: lines[0]?.price?.currency ?? 'usd',
      subscription: null,
      billingReason: items ? 'subscription_create' : 'upcoming',
      lines,
      pendingItems: items ? 'none' : 'customer',
      periodStart: now,
      periodEnd: now,
      collectionMethod: 'charge_automatically',
      daysUntilDue: null,
      autoAdvance: false,
      preview: true,
      discounts: [],
    });
    if (inv.lines.data.length === 0) {
      throw invalidRequest(`No upcoming invoices for customer: ${customer}`, undefined, 'invoice_upcoming_none');
    }
    return inv;
  }

  return previewSubscriptionInvoice(emu, sub, { items, behavior, prorationDate, cancelAtPeriodEnd });
}

export interface SubscriptionPreviewOptions {
  items?: ItemUpdate[];
  behavior?: ProrationBehavior;
  prorationDate?: number;
  cancelAtPeriodEnd?: boolean;
}

/**
 * The next invoice of a subscription, never stored: with item changes, what the change would bill
 * (an interval change or `always_invoice`: the invoice issued now), otherwise the next renewal
 * (pending items, prorations, the next period's licensed lines, metered usage so far). Throws
 * `invoice_upcoming_none` when no invoice is coming (canceled, or ending at the period end).
 * Also the object of `invoice.upcoming` events.
 */
export function previewSubscriptionInvoice(emu: Emulator, sub: SubRecord, opts: SubscriptionPreviewOptions = {}): InvoiceRecord {
  const { items, prorationDate, cancelAtPeriodEnd } = opts;
  const behavior = opts.behavior ?? 'create_prorations';
  const customer = idOf(sub.customer)!;
  const now = emu.nowFor(sub);
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
    throw invalidRequest(`No upcoming invoices for customer: ${customer}`, undefined, 'invoice_upcoming_none');
  }
  const at = prorationDate ?? now;
  const plan: ItemPlan = items ? planItems(emu, sub, items, 'subscription_details[items]') : { items: sub.items.data, changes: [], intervalChange: false };
  const prorations = behavior === 'none' ? [] : prorationLines(emu, sub, plan.changes, at);
  const virtual = { ...sub, items: { ...sub.items, data: plan.items } } as SubRecord;
  if (plan.intervalChange && sub.status !== 'trialing') {
    // A new billing interval is invoiced at once: the invoice the update would create.
    const bill = intervalChangeBill(emu, sub, plan, at, now, behavior);
    return createInvoice(emu, {
      ...subscriptionDraft(sub),
      billingReason: 'subscription_update',
      lines: [...bill.credits, ...bill.charges],
      periodStart: now,
      periodEnd: now,
      autoAdvance: false,
      preview: true,
      previewProrationDate: at,
    });
  }
  if (behavior === 'always_invoice') {
    return createInvoice(emu, {
      ...subscriptionDraft(sub),
      billingReason: 'subscription_update',
      lines: prorations,
      periodStart: at,
      periodEnd: at,
      autoAdvance: false,
      preview: true,
      previewProrationDate: at,
    });
  }
  // The next renewal: at the current period end (or trial end).
  const first: ItemRecord = plan.items[0]!;
  const periodStart = first.current_period_start;
  const periodEnd = first.current_period_end;
  if ((cancelAtPeriodEnd ?? sub.cancel_at_period_end) === true) {
    throw invalidRequest(`No upcoming invoices for customer: ${customer}`, undefined, 'invoice_upcoming_none');
  }
  const price0 = itemPrice(emu, first);
  const anchor = sub.status === 'trialing' ? periodEnd : sub.billing_cycle_anchor;
  const nextEnd = nextBoundary(anchor, price0.recurring!.interval as Interval, price0.recurring!.interval_count ?? 1, periodEnd);
  const lines: LineInput[] = [
    ...prorations,
    ...licensedLines(emu, virtual, periodEnd, nextEnd),
    ...(sub.status === 'trialing'
      ? []
      : plan.items
          .filter((it) => isMetered(itemPrice(emu, it)))
          .map((it) => usageLine(emu, virtual, it, periodStart, Math.min(now + 1, periodEnd)))
          .filter((l): l is LineInput => l !== null)),
  ];
  const inv = createInvoice(emu, {
    ...subscriptionDraft(sub),
    billingReason: 'upcoming',
    lines,
    periodStart,
    periodEnd,
    autoAdvance: false,
    preview: true,
    ...(items ? { previewProrationDate: at } : {}),
  });
  inv.created = periodEnd;
  inv.automatically_finalizes_at = null;
  return inv;
}
