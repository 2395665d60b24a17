import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import { readDiscounts } from './discounts.js';
import { idOf, type ItemRecord, type SubRecord } from './records.js';
import { readItemUpdates, resumeSubscription, updateSubscription, type UpdateSubscriptionInput } from './subscription-update.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { createSubscription, type CreateSubscriptionInput } from './subscription-create.js';
import { liveSubscription, type PaymentBehavior, type ProrationBehavior } from './subscription-lookups.js';

const PAYMENT_BEHAVIORS = ['allow_incomplete', 'default_incomplete', 'error_if_incomplete', 'pending_if_incomplete'] as const;
const PRORATION_BEHAVIORS = ['create_prorations', 'none', 'always_invoice'] as const;
const FEEDBACK = ['customer_service', 'low_quality', 'missing_features', 'other', 'switched_service', 'too_complex', 'too_expensive', 'unused'] as const;

function readPaymentSettings(p: Params): 'on_subscription' | 'off' | undefined {
  const ps = p.object('payment_settings');
  const save = ps?.enum('save_default_payment_method', ['on_subscription', 'off'] as const);
  ps?.strings('payment_method_types');
  return save;
}

/** Stripe's status filter: default = not ended; `all`; `ended` = canceled + incomplete_expired. */
function statusMatches(status: string, filter: string | undefined): boolean {
  if (filter === 'all') return true;
  if (filter === undefined) return status !== 'canceled' && status !== 'incomplete_expired';
  if (filter === 'ended') return status === 'canceled' || status === 'incomplete_expired';
  return status === filter;
}

export function registerSubscriptionRoutes(router: Router, emu: Emulator): void {
  router.post('/v1/subscriptions', ({ params: p }) => {
    const customer = p.string('customer', { required: true });
    const items = p.objects('items', { required: true })!.map((it) => {
      const price = it.string('price', { required: true });
      const quantity = it.int('quantity', { min: 0 });
      const metadata = it.metadata();
      return { price, ...(quantity !== undefined ? { quantity } : {}), ...(metadata ? { metadata: metadata as Record<string, string> } : {}) };
    });
    const trialPeriodDays = p.int('trial_period_days', { min: 0, max: 730 });
    const trialEnd = p.timestamp('trial_end', ['now'] as const);
    const paymentBehavior = p.enum('payment_behavior', PAYMENT_BEHAVIORS);
    const defaultPaymentMethod = p.string('default_payment_method');
    const discounts = readDiscounts(p);
    const metadata = p.metadata();
    const cancelAtPeriodEnd = p.bool('cancel_at_period_end');
    const cancelAt = p.int('cancel_at', { min: 0 });
    const prorationBehavior = p.enum('proration_behavior', PRORATION_BEHAVIORS);
    const billingCycleAnchor = p.int('billing_cycle_anchor', { min: 0 });
    const collectionMethod = p.enum('collection_method', ['charge_automatically', 'send_invoice'] as const);
    const daysUntilDue = p.int('days_until_due', { min: 0 });
    const description = p.string('description');
    const saveDefault = readPaymentSettings(p);
    const trialSettings = p.object('trial_settings');
    const endBehavior = trialSettings?.object('end_behavior', { required: true });
    const missingPm = endBehavior?.enum('missing_payment_method', ['create_invoice', 'pause', 'cancel'] as const, { required: true });
    p.bool('off_session');
    p.currency('currency');
    p.done();
    const input: CreateSubscriptionInput = {
      customer,
      items,
      ...(trialPeriodDays !== undefined ? { trialPeriodDays } : {}),
      ...(trialEnd !== undefined ? { trialEnd } : {}),
      ...(paymentBehavior ? { paymentBehavior: paymentBehavior as PaymentBehavior } : {}),
      ...(defaultPaymentMethod ? { defaultPaymentMethod } : {}),
      ...(discounts ? { discounts } : {}),
      ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
      ...(cancelAtPeriodEnd !== undefined ? { cancelAtPeriodEnd } : {}),
      ...(cancelAt !== undefined ? { cancelAt } : {}),
      ...(collectionMethod ? { collectionMethod } : {}),
      ...(daysUntilDue !== undefined ? { daysUntilDue } : {}),
      ...(description ? { description } : {}),
      ...(saveDefault ? { saveDefaultPaymentMethod: saveDefault } : {}),
      ...(missingPm ? { trialEndBehavior: missingPm } : {}),
      ...(billingCycleAnchor !== undefined ? { billingCycleAnchor } : {}),
      ...(prorationBehavior ? { prorationBehavior } : {}),
    };
    return createSubscription(emu, input);
  });

  router.get('/v1/subscriptions/:id', ({ params: p, path }) => {
    p.done();
    return liveSubscription(emu, path.id!);
  });

  router.post('/v1/subscriptions/:id', ({ params: p, path }) => {
    const sub = liveSubscription(emu, path.id!);
    const items = readItemUpdates(p);
    const prorationBehavior = p.enum('proration_behavior', PRORATION_BEHAVIORS) as ProrationBehavior | undefined;
    const prorationDate = p.int('proration_date', { min: 0 });
    const cancelAtPeriodEnd = p.bool('cancel_at_period_end');
    const cancelAtRaw = p.isEmpty('cancel_at') ? null : p.int('cancel_at', { min: 0 });
    if (cancelAtRaw === null) p.string('cancel_at');
    const trialEnd = p.timestamp('trial_end', ['now'] as const);
    const defaultPaymentMethod = p.nullableString('default_payment_method');
    const discounts = readDiscounts(p);
    const metadata = p.metadata();
    let pauseCollection: UpdateSubscriptionInput['pauseCollection'];
    if (p.isEmpty('pause_collection')) {
      p.string('pause_collection');
      pauseCollection = null;
    } else {
      const pc = p.object('pause_collection');
      if (pc) {
        const behavior = pc.enum('behavior', ['keep_as_draft', 'mark_uncollectible', 'void'] as const, { required: true });
        pauseCollection = { behavior, resumesAt: pc.int('resumes_at', { min: 0 }) ?? null };
      }
    }
    const paymentBehavior = p.enum('payment_behavior', PAYMENT_BEHAVIORS) as PaymentBehavior | undefined;
    const collectionMethod = p.enum('collection_method', ['charge_automatically', 'send_invoice'] as const);
    const daysUntilDue = p.int('days_until_due', { min: 0 });
    const description = p.nullableString('description');
    const saveDefault = readPaymentSettings(p);
    const cd = p.object('cancellation_details');
    const comment = cd?.nullableString('comment');
    const feedback = cd?.enum('feedback', FEEDBACK);
    p.bool('off_session');
    p.done();
    if (cancelAtPeriodEnd && cancelAtRaw) {
      throw invalidRequest('You may only specify one of these parameters: cancel_at, cancel_at_period_end.', 'cancel_at');
    }
    return updateSubscription(emu, sub, {
      ...(items ? { items } : {}),
      ...(prorationBehavior ? { prorationBehavior } : {}),
      ...(prorationDate !== undefined ? { prorationDate } : {}),
      ...(cancelAtPeriodEnd !== undefined ? { cancelAtPeriodEnd } : {}),
      ...(cancelAtRaw !== undefined ? { cancelAt: cancelAtRaw } : {}),
      ...(trialEnd !== undefined ? { trialEnd } : {}),
      ...(defaultPaymentMethod !== undefined ? { defaultPaymentMethod } : {}),
      ...(discounts ? { discounts } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      ...(pauseCollection !== undefined ? { pauseCollection } : {}),
      ...(paymentBehavior ? { paymentBehavior } : {}),
      ...(collectionMethod ? { collectionMethod } : {}),
      ...(daysUntilDue !== undefined ? { daysUntilDue } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(saveDefault ? { saveDefaultPaymentMethod: saveDefault } : {}),
      ...(cd ? { cancellationDetails: { ...(comment !== undefined ? { comment } : {}), ...(feedback ? { feedback } : {}) } } : {}),
    });
  });

  router.delete('/v1/subscriptions/:id', ({ params: p, path }) => {
    const sub = liveSubscription(emu, path.id!);
    const invoiceNow = p.bool('invoice_now');
    const prorate = p.bool('prorate');
    const cd = p.object('cancellation_details');
    const comment = cd?.nullableString('comment');
    const feedback = cd?.enum('feedback', FEEDBACK);
    p.done();
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      throw invalidRequest(`No such subscription: '${sub.id}'; it has already been canceled.`, 'id', 'resource_missing');
    }
    return cancelSubscriptionNow(emu, sub, {
      ...(invoiceNow ? { invoiceNow } : {}),
      ...(prorate ? { prorate } : {}),
      reason: 'cancellation_requested',
      ...(comment !== undefined ? { comment } : {}),
      ...(feedback ? { feedback } : {}),
    });
  });

  router.post('/v1/subscriptions/:id/resume', ({ params: p, path }) => {
    const sub = liveSubscription(emu, path.id!);
    p.enum('billing_cycle_anchor', ['now', 'unchanged'] as const);
    p.enum('proration_behavior', PRORATION_BEHAVIORS);
    p.int('proration_date', { min: 0 });
    p.done();
    return resumeSubscription(emu, sub);
  });

  router.get('/v1/subscriptions', ({ params: p, url }) => {
    const customer = p.string('customer');
    const price = p.string('price');
    const status = p.enum('status', ['active', 'all', 'canceled', 'ended', 'incomplete', 'incomplete_expired', 'past_due', 'paused', 'trialing', 'unpaid'] as const);
    const testClock = p.string('test_clock');
    const collection = p.enum('collection_method', ['charge_automatically', 'send_invoice'] as const);
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<SubRecord>('subscription')).filter(
      (s) =>
        statusMatches(s.status, status) &&
        (customer === undefined || idOf(s.customer) === customer) &&
        (price === undefined || s.items.data.some((it) => it.price.id === price)) &&
        (testClock === undefined || idOf(s.test_clock) === testClock) &&
        (collection === undefined || s.collection_method === collection) &&
        (!created || created(s.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  // ---- subscription items ----

  const findItem = (id: string, param = 'id'): { sub: SubRecord; item: ItemRecord } => {
    for (const sub of emu.store.all<SubRecord>('subscription')) {
      const item = sub.items.data.find((it) => it.id === id);
      if (item) return { sub, item };
    }
    throw resourceMissing('subscription_item', id, param);
  };

  router.get('/v1/subscription_items', ({ params: p, url }) => {
    const subId = p.string('subscription', { required: true });
    const sub = liveSubscription(emu, subId, 'subscription');
    const page = paginate(newestFirst(sub.items.data as (ItemRecord & { id: string })[]), p, url);
    p.done();
    return page;
  });

  router.get('/v1/subscription_items/:id', ({ params: p, path }) => {
    p.done();
    return findItem(path.id!).item;
  });

  router.post('/v1/subscription_items', ({ params: p }) => {
    const subId = p.string('subscription', { required: true });
    const price = p.string('price', { required: true });
    const quantity = p.int('quantity', { min: 0 });
    const metadata = p.metadata();
    const prorationBehavior = p.enum('proration_behavior', PRORATION_BEHAVIORS) as ProrationBehavior | undefined;
    const prorationDate = p.int('proration_date', { min: 0 });
    const paymentBehavior = p.enum('payment_behavior', PAYMENT_BEHAVIORS) as PaymentBehavior | undefined;
    p.done();
    const sub = liveSubscription(emu, subId, 'subscription');
    const before = new Set(sub.items.data.map((it) => it.id));
    updateSubscription(emu, sub, {
      items: [{ price, ...(quantity !== undefined ? { quantity } : {}), ...(metadata !== undefined ? { metadata } : {}) }],
      ...(prorationBehavior ? { prorationBehavior } : {}),
      ...(prorationDate !== undefined ? { prorationDate } : {}),
      ...(paymentBehavior ? { paymentBehavior } : {}),
    });
    return sub.items.data.find((it) => !before.has(it.id))!;
  });

  router.post('/v1/subscription_items/:id', ({ params: p, path }) => {
    const { sub } = findItem(path.id!);
    const price = p.string('price');
    const quantity = p.int('quantity', { min: 0 });
    const metadata = p.metadata();
    const prorationBehavior = p.enum('proration_behavior', PRORATION_BEHAVIORS) as ProrationBehavior | undefined;
    const prorationDate = p.int('proration_date', { min: 0 });
    const paymentBehavior = p.enum('payment_behavior', PAYMENT_BEHAVIORS) as PaymentBehavior | undefined;
    p.bool('off_session');
    p.done();
    updateSubscription(emu, sub, {
      items: [{ id: path.id!, ...(price ? { price } : {}), ...(quantity !== undefined ? { quantity } : {}), ...(metadata !== undefined ? { metadata } : {}) }],
      ...(prorationBehavior ? { prorationBehavior } : {}),
      ...(prorationDate !== undefined ? { prorationDate } : {}),
      ...(paymentBehavior ? { paymentBehavior } : {}),
    });
    return sub.items.data.find((it) => it.id === path.id)!;
  });

  router.delete('/v1/subscription_items/:id', ({ params: p, path }) => {
    const { sub } = findItem(path.id!);
    const prorationBehavior = p.enum('proration_behavior', PRORATION_BEHAVIORS) as ProrationBehavior | undefined;
    const prorationDate = p.int('proration_date', { min: 0 });
    p.bool('clear_usage');
    p.done();
    updateSubscription(emu, sub, {
      items: [{ id: path.id!, deleted: true }],
      ...(prorationBehavior ? { prorationBehavior } : {}),
      ...(prorationDate !== undefined ? { prorationDate } : {}),
    });
    return { id: path.id!, object: 'subscription_item', deleted: true } satisfies Partial<Stripe.DeletedSubscriptionItem>;
  });
}
