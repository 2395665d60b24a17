import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, missingParam, resourceMissing } from '../errors.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { insertPrice, parseTiers, type PriceRecord } from './prices.js';
import { newProduct } from './products.js';

/** Plans Stripe deleted: their prices stay (subscriptions may still carry them), inactive and no longer a plan. */
const DELETED = 'plan_deleted';
const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** The legacy `plan` view of a recurring price (the Plans API, and what subscription items still carry). */
export function planOf(price: PriceRecord): Stripe.Plan {
  return {
    id: price.id,
    object: 'plan',
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring!.interval,
    interval_count: price.recurring!.interval_count ?? 1,
    livemode: false,
    metadata: price.metadata,
    meter: price.recurring!.meter ?? null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: price.tiers_mode,
    transform_usage: null,
    trial_period_days: price.recurring!.trial_period_days ?? null,
    usage_type: price.recurring!.usage_type ?? 'licensed',
  } as unknown as Stripe.Plan;
}

function livePlan(emu: Emulator, id: string): PriceRecord {
  const price = emu.store.get<PriceRecord>('price', id);
  if (!price || !price.recurring || emu.store.get(DELETED, id)) throw resourceMissing('plan', id);
  return price;
}

/** A plan is stored as the recurring price it is; every change is announced as both (`plan.*` and `price.*`). */
export function registerPlans(router: Router, emu: Emulator): void {
  router.post('/v1/plans', ({ params: p }) => {
    const currency = p.currency('currency', { required: true });
    const interval = p.enum('interval', INTERVALS, { required: true })!;
    const intervalCount = p.int('interval_count', { min: 1, max: interval === 'year' ? 3 : interval === 'month' ? 36 : 156 }) ?? 1;
    const id = p.string('id');
    const amount = p.int('amount', { min: 0 });
    const amountDecimal = p.decimal('amount_decimal');
    const billingScheme = p.enum('billing_scheme', ['per_unit', 'tiered'] as const) ?? 'per_unit';
    const tiersMode = p.enum('tiers_mode', ['graduated', 'volume'] as const);
    const tierParams = p.objects('tiers');
    const usageType = p.enum('usage_type', ['licensed', 'metered'] as const) ?? 'licensed';
    const meter = p.string('meter');
    const trialDays = p.int('trial_period_days', { min: 1, max: 730 });
    const nickname = p.string('nickname');
    const active = p.bool('active');
    const metadata = p.metadata();
    let productId: string | undefined;
    let productData: { name: string; active?: boolean; metadata?: Record<string, string>; statement_descriptor?: string; unit_label?: string; id?: string } | undefined;
    if (typeof p.raw['product'] === 'object' && p.raw['product'] !== null) {
      const pd = p.object('product', { required: true });
      const pdMeta = pd.metadata();
      const pdId = pd.string('id');
      const pdActive = pd.bool('active');
      const sd = pd.string('statement_descriptor');
      const ul = pd.string('unit_label');
      pd.string('tax_code');
      productData = {
        name: pd.string('name', { required: true }),
        ...(pdId ? { id: pdId } : {}),
        ...(pdActive !== undefined ? { active: pdActive } : {}),
        ...(pdMeta ? { metadata: pdMeta as Record<string, string> } : {}),
        ...(sd ? { statement_descriptor: sd } : {}),
        ...(ul ? { unit_label: ul } : {}),
      };
    } else {
      productId = p.string('product');
    }
    const tiers = tierParams ? parseTiers(tierParams) : null;
    p.done();
    if (!productId && !productData) throw missingParam('product');
    if (productId) emu.store.require('product', productId, 'product', 'product');
    if (id && emu.store.get('price', id)) throw invalidRequest('Plan already exists.', 'id', 'resource_already_exists');
    if (usageType === 'metered' && !meter) throw missingParam('meter');
    if (meter) emu.store.require('billing.meter', meter, 'billing meter', 'meter');
    if (billingScheme === 'tiered') {
      if (!tiers) throw missingParam('tiers');
      if (!tiersMode) throw missingParam('tiers_mode');
    } else if (amount === undefined && amountDecimal === undefined) {
      throw missingParam('amount');
    }
    const product = productId ?? newProduct(emu, productData!).id;
    const unitAmount = billingScheme === 'tiered' ? null : (amount ?? (amountDecimal && /^\d+$/.test(amountDecimal) ? Number(amountDecimal) : null));
    const price = insertPrice(emu, {
      id,
      active,
      billing_scheme: billingScheme,
      currency,
      metadata,
      nickname,
      product,
      recurring: { interval, interval_count: intervalCount, meter: meter ?? null, trial_period_days: trialDays ?? null, usage_type: usageType },
      tiers_mode: tiersMode,
      type: 'recurring',
      unit_amount: unitAmount,
      unit_amount_decimal: billingScheme === 'tiered' ? null : (amountDecimal ?? String(amount)),
    }, tiers);
    const plan = planOf(price);
    emu.events.emit('plan.created', plan);
    emu.events.emit('price.created', price);
    return plan;
  });

  router.get('/v1/plans/:id', ({ params: p, path }) => {
    p.done();
    return planOf(livePlan(emu, path.id!));
  });

  router.post('/v1/plans/:id', ({ params: p, path }) => {
    const price = livePlan(emu, path.id!);
    const active = p.bool('active');
    const nickname = p.nullableString('nickname');
    const metadata = p.metadata();
    const product = p.string('product');
    const trialDays = p.int('trial_period_days', { min: 0, max: 730 });
    p.done();
    if (product) emu.store.require('product', product, 'product', 'product');
    const before = planOf(price);
    updateWithEvent(emu, 'price.updated', price, (o) => {
      if (active !== undefined) o.active = active;
      if (nickname !== undefined) o.nickname = nickname;
      if (product) o.product = product;
      if (trialDays !== undefined) o.recurring = { ...o.recurring!, trial_period_days: trialDays || null };
      o.metadata = mergeMetadata(o.metadata as Record<string, string>, metadata);
    });
    const plan = planOf(price);
    const previous = Object.fromEntries(
      Object.entries(before).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify((plan as unknown as Record<string, unknown>)[k])),
    );
    if (Object.keys(previous).length > 0) emu.events.emit('plan.updated', plan, { previousAttributes: previous });
    return plan;
  });

  router.delete('/v1/plans/:id', ({ params: p, path }) => {
    p.done();
    const price = livePlan(emu, path.id!);
    const plan = planOf(price);
    emu.store.insert<Stored>(DELETED, { id: price.id });
    price.active = false;
    emu.store.changed();
    emu.events.emit('plan.deleted', plan);
    return { id: price.id, object: 'plan', deleted: true };
  });

  router.get('/v1/plans', ({ params: p, url }) => {
    const active = p.bool('active');
    const product = p.string('product');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<PriceRecord>('price'))
      .filter(
        (o) =>
          o.recurring !== null &&
          !emu.store.get(DELETED, o.id) &&
          (active === undefined || o.active === active) &&
          (product === undefined || o.product === product) &&
          (!created || created(o.created)),
      )
      .map(planOf);
    const page = paginate(list as (Stripe.Plan & Stored)[], p, url);
    p.done();
    return page;
  });
}
