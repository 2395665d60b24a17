import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError, invalidRequest, resourceMissing } from '../errors.js';
import { newId } from '../ids.js';
import { resolvePaymentMethod } from '../resources/payment-methods.js';
import { createDiscounts, discountedAmount, validateDiscounts, type DiscountRequest } from './discounts.js';
import { createInvoice, finalizeInvoice, productName, type LineInput } from './invoices.js';
import { prorate } from './money.js';
import { attemptInvoicePayment, declineBody, findPaymentMethod, needsAuthentication, requiresActionBody, wouldSucceed, type ChargeSession } from './payments.js';
import { addIntervals } from './periods.js';
import { idOf, isMetered, type CustomerRecord, type PriceRecord, type SubRecord } from './records.js';
import { type PaymentBehavior, type ItemInput, requirePrice, intervalOf, newItem, itemPrice, fmtDate, periodLine, subscriptionPmFor } from './subscription-lookups.js';
import { afterInvoicePaid } from './subscription-payments.js';
import { priceAmount, scaledPriceAmount } from './usage.js';

// Creating a subscription and billing its first invoice.

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
