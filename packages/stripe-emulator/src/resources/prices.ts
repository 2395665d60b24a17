import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, missingParam } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';

export type PriceRecord = Stripe.Price & Stored;
type Tier = Stripe.Price.Tier;

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** What a create call decides about a new price; the rest is the same for every new price. */
export type NewPrice = {
  id?: string | undefined;
  active?: boolean | undefined;
  billing_scheme: string;
  currency: string;
  lookup_key?: string | undefined;
  metadata: Parameters<typeof mergeMetadata>[1];
  nickname?: string | undefined;
  product: string;
  recurring: object | null;
  tax_behavior?: string | undefined;
  tiers_mode?: string | undefined;
  type: 'one_time' | 'recurring';
  unit_amount: number | null;
  unit_amount_decimal: string | null;
};

/** Stores a new price (`/v1/prices` and `/v1/plans`) and its tiers; the caller emits the events. */
export function insertPrice(emu: Emulator, f: NewPrice, tiers: Tier[] | null): PriceRecord {
  const price = {
    id: f.id ?? newId('price', 24),
    object: 'price',
    active: f.active ?? true,
    billing_scheme: f.billing_scheme,
    created: emu.realNow(),
    currency: f.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: f.lookup_key ?? null,
    metadata: mergeMetadata({}, f.metadata),
    nickname: f.nickname ?? null,
    product: f.product,
    recurring: f.recurring,
    tax_behavior: f.tax_behavior ?? 'unspecified',
    tiers_mode: f.tiers_mode ?? null,
    transform_quantity: null,
    type: f.type,
    unit_amount: f.unit_amount,
    unit_amount_decimal: f.unit_amount_decimal,
  } as unknown as PriceRecord; // (typed loosely: the wire's decimal strings are Stripe.Decimal in the SDK types)
  emu.store.insert('price', price);
  if (tiers) emu.store.insert('price_tiers', { id: price.id, tiers });
  return price;
}

/** Stripe returns `tiers` only when expanded; they are kept beside the price. */
export function priceTiers(emu: Emulator, priceId: string): Tier[] | null {
  return emu.store.get<{ id: string; tiers: Tier[] }>('price_tiers', priceId)?.tiers ?? null;
}

export function registerPrices(router: Router, emu: Emulator): void {
  emu.includable('price', 'tiers', (price) => priceTiers(emu, price.id));

  router.post('/v1/prices', ({ params: p }) => {
    const currency = p.currency('currency', { required: true });
    let product = p.string('product');
    const productData = p.object('product_data');
    // Read before `p.done()`, which checks nested hashes too. Checkout's `price_data[product_data]`
    // also takes description and images.
    const newProduct = productData && {
      name: productData.string('name', { required: true }),
      description: productData.string('description'),
      images: productData.strings('images'),
      metadata: productData.metadata(),
      unitLabel: productData.string('unit_label'),
      taxCode: productData.string('tax_code'),
      statementDescriptor: productData.string('statement_descriptor'),
    };
    const unitAmount = p.int('unit_amount', { min: 0 });
    const unitAmountDecimal = p.decimal('unit_amount_decimal');
    const billingScheme = p.enum('billing_scheme', ['per_unit', 'tiered'] as const) ?? 'per_unit';
    const tiersMode = p.enum('tiers_mode', ['graduated', 'volume'] as const);
    const tierParams = p.objects('tiers');
    const recurringP = p.object('recurring');
    const lookupKey = p.string('lookup_key');
    const transfer = p.bool('transfer_lookup_key') ?? false;
    const nickname = p.string('nickname');
    const metadata = p.metadata();
    const active = p.bool('active');
    const taxBehavior = p.enum('tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
    let recurring: Stripe.Price.Recurring | null = null;
    if (recurringP) {
      const interval = recurringP.enum('interval', INTERVALS, { required: true });
      const intervalCount = recurringP.int('interval_count', { min: 1, max: interval === 'year' ? 3 : interval === 'month' ? 36 : 156 }) ?? 1;
      const usageType = recurringP.enum('usage_type', ['licensed', 'metered'] as const) ?? 'licensed';
      const meter = recurringP.string('meter');
      const trialDays = recurringP.int('trial_period_days', { min: 1 });
      if (usageType === 'metered' && !meter) throw missingParam('recurring[meter]');
      if (meter) emu.store.require('billing.meter', meter, 'billing meter', 'recurring[meter]');
      recurring = { interval, interval_count: intervalCount, meter: meter ?? null, trial_period_days: trialDays ?? null, usage_type: usageType } as Stripe.Price.Recurring;
    }
    const tiers = tierParams ? parseTiers(tierParams) : null;
    p.done();

    if (product && productData) throw invalidRequest('You may only specify one of these parameters: product, product_data.', 'product');
    if (!product && !productData) throw missingParam('product');
    if (product) emu.store.require('product', product, 'product', 'product');
    if (billingScheme === 'tiered') {
      if (!tiers) throw missingParam('tiers');
      if (!tiersMode) throw missingParam('tiers_mode');
      if (unitAmount !== undefined || unitAmountDecimal !== undefined) {
        throw invalidRequest('unit_amount cannot be set when billing_scheme is tiered.', 'unit_amount');
      }
    } else {
      if (tiers) throw invalidRequest('tiers can only be set when billing_scheme is tiered.', 'tiers');
      if (unitAmount === undefined && unitAmountDecimal === undefined) throw missingParam('unit_amount');
      if (unitAmount !== undefined && unitAmountDecimal !== undefined) {
        throw invalidRequest('You may only specify one of these parameters: unit_amount, unit_amount_decimal.', 'unit_amount');
      }
    }
    if (lookupKey) releaseLookupKey(emu, lookupKey, transfer);
    if (productData && newProduct) {
      product = newId('prod', 14);
      const now = emu.realNow();
      emu.store.insert('product', {
        id: product, object: 'product', active: true, created: now, default_price: null, description: newProduct.description ?? null, images: newProduct.images ?? [],
        livemode: false, marketing_features: [], metadata: mergeMetadata({}, newProduct.metadata), name: newProduct.name, package_dimensions: null, shippable: null,
        statement_descriptor: newProduct.statementDescriptor ?? null, tax_code: newProduct.taxCode ?? null, tax_details: null, type: 'service', unit_label: newProduct.unitLabel ?? null, updated: now, url: null,
      });
    }
    const price = insertPrice(emu, {
      active,
      billing_scheme: billingScheme,
      currency,
      lookup_key: lookupKey,
      metadata,
      nickname,
      product: product!,
      recurring,
      tax_behavior: taxBehavior,
      tiers_mode: tiersMode,
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: billingScheme === 'tiered' ? null : (unitAmount ?? decimalToInt(unitAmountDecimal!)),
      unit_amount_decimal: billingScheme === 'tiered' ? null : (unitAmountDecimal ?? String(unitAmount)),
    }, tiers);
    emu.events.emit('price.created', price);
    return price;
  });

  router.get('/v1/prices/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<PriceRecord>('price', path.id!, 'price');
  });

  router.post('/v1/prices/:id', ({ params: p, path }) => {
    const price = emu.store.require<PriceRecord>('price', path.id!, 'price');
    const active = p.bool('active');
    const nickname = p.nullableString('nickname');
    const metadata = p.metadata();
    const lookupKey = p.nullableString('lookup_key');
    const transfer = p.bool('transfer_lookup_key') ?? false;
    p.enum('tax_behavior', ['exclusive', 'inclusive', 'unspecified'] as const);
    p.done();
    if (lookupKey && lookupKey !== price.lookup_key) releaseLookupKey(emu, lookupKey, transfer);
    return updateWithEvent(emu, 'price.updated', price, (o) => {
      if (active !== undefined) o.active = active;
      if (nickname !== undefined) o.nickname = nickname;
      if (lookupKey !== undefined) o.lookup_key = lookupKey;
      o.metadata = mergeMetadata(o.metadata as Record<string, string>, metadata);
    });
  });

  router.get('/v1/prices', ({ params: p, url }) => {
    const active = p.bool('active');
    const currency = p.string('currency');
    const product = p.string('product');
    const type = p.enum('type', ['one_time', 'recurring'] as const);
    const lookupKeys = p.strings('lookup_keys');
    const recurringP = p.object('recurring');
    const interval = recurringP?.enum('interval', INTERVALS);
    const usageType = recurringP?.enum('usage_type', ['licensed', 'metered'] as const);
    const meter = recurringP?.string('meter');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<PriceRecord>('price')).filter(
      (o) =>
        (active === undefined || o.active === active) &&
        (currency === undefined || o.currency === currency) &&
        (product === undefined || o.product === product) &&
        (type === undefined || o.type === type) &&
        (!lookupKeys || (o.lookup_key !== null && lookupKeys.includes(o.lookup_key))) &&
        (interval === undefined || o.recurring?.interval === interval) &&
        (usageType === undefined || o.recurring?.usage_type === usageType) &&
        (meter === undefined || o.recurring?.meter === meter) &&
        (!created || created(o.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}

/** Frees a lookup key held by another price (transfer), or refuses as Stripe does. */
function releaseLookupKey(emu: Emulator, lookupKey: string, transfer: boolean): void {
  const holder = emu.store.all<PriceRecord>('price').find((o) => o.lookup_key === lookupKey);
  if (!holder) return;
  if (!transfer) {
    throw invalidRequest(
      `A price (\`${holder.id}\`) already uses that lookup key. Set \`transfer_lookup_key\` to true to transfer it to the new price.`,
      'lookup_key',
    );
  }
  updateWithEvent(emu, 'price.updated', holder, (o) => {
    o.lookup_key = null;
  });
}

export function parseTiers(list: Params[]): Tier[] {
  const tiers = list.map((t, i) => {
    const upToRaw = t.raw['up_to'];
    let upTo: number | null;
    if (upToRaw === 'inf') {
      t.string('up_to');
      upTo = null;
    } else {
      upTo = t.int('up_to', { min: 1, required: true });
    }
    const unitAmount = t.int('unit_amount', { min: 0 });
    const unitAmountDecimal = t.decimal('unit_amount_decimal');
    const flatAmount = t.int('flat_amount', { min: 0 });
    const flatAmountDecimal = t.decimal('flat_amount_decimal');
    if (unitAmount === undefined && unitAmountDecimal === undefined && flatAmount === undefined && flatAmountDecimal === undefined) {
      throw missingParam(`tiers[${i}][unit_amount]`);
    }
    return {
      flat_amount: flatAmount ?? (flatAmountDecimal ? decimalToInt(flatAmountDecimal) : null),
      flat_amount_decimal: flatAmountDecimal ?? (flatAmount !== undefined ? String(flatAmount) : null),
      unit_amount: unitAmount ?? (unitAmountDecimal !== undefined ? decimalToInt(unitAmountDecimal) : null),
      unit_amount_decimal: unitAmountDecimal ?? (unitAmount !== undefined ? String(unitAmount) : null),
      up_to: upTo,
    } as Tier;
  });
  for (let i = 0; i < tiers.length; i++) {
    const isLast = i === tiers.length - 1;
    if (isLast && tiers[i]!.up_to !== null) throw invalidRequest('The last tier must have up_to set to inf.', `tiers[${i}][up_to]`);
    if (!isLast && tiers[i]!.up_to === null) throw invalidRequest('Only the last tier may have up_to set to inf.', `tiers[${i}][up_to]`);
    if (i > 0 && !isLast && tiers[i]!.up_to! <= tiers[i - 1]!.up_to!) {
      throw invalidRequest('Tiers must be in ascending order of up_to.', `tiers[${i}][up_to]`);
    }
  }
  return tiers;
}

/** Stripe reports `unit_amount` as the decimal rounded to an integer where one exists. */
function decimalToInt(decimal: string): number | null {
  return /^\d+$/.test(decimal) ? Number(decimal) : null;
}
