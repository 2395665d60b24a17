import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { meteredLookupKey, type Catalog, type CatalogMeter, type CatalogPlan } from '../catalog.js';
import { isResourceMissing } from './client.js';

/**
 * Idempotent sync of the declarative catalog to Stripe.
 * - products by their fixed id (created with that id; name kept in step);
 * - billing meters by `event_name`;
 * - prices by lookup key: the plan id for the licensed price, `meteredLookupKey(plan, meter)` for each
 *   metered overage price. Amount, currency, interval and tiers of a Stripe price cannot change, so a
 *   difference there creates a new price that takes over the lookup key (`transfer_lookup_key`) and
 *   archives the old one; nickname/metadata/active are updated in place.
 * A second run against the same catalog makes no write.
 */

export type SyncKind = 'product' | 'meter' | 'price';
/** `replaced`: a new price took over the lookup key and the old one was archived. */
export type SyncAction = 'created' | 'updated' | 'replaced' | 'unchanged';

export interface SyncItem {
  kind: SyncKind;
  /** Product id, meter event name or price lookup key. */
  key: string;
  action: SyncAction;
  /** Stripe id; null only for a creation in a dry run. */
  id: string | null;
  /** The archived price of a replacement. */
  previousId?: string;
  /** What differed (field names), for updates and replacements. */
  changes?: string[];
}

export interface SyncProgress {
  done: number;
  total: number;
  item: SyncItem;
}

export interface SyncOptions {
  onProgress?: (progress: SyncProgress) => void;
  /** Read Stripe and report what would change, without writing. */
  dryRun?: boolean;
}

export interface SyncReport {
  dryRun: boolean;
  created: number;
  updated: number;
  replaced: number;
  unchanged: number;
  /** created + updated + replaced: zero means Stripe already matched the catalog. */
  changed: number;
  items: SyncItem[];
  /** Things the sync cannot fix by itself (e.g. a meter's aggregation, which Stripe never changes). */
  warnings: string[];
  /** The Stripe objects the catalog maps to after the sync (empty for creations in a dry run), for the mirror. */
  products: Stripe.Product[];
  meters: Stripe.Billing.Meter[];
  prices: Stripe.Price[];
  /** Prices archived by this run. */
  archivedPrices: Stripe.Price[];
}

/** The prices the catalog asks for, keyed by lookup key. */
export interface DesiredPrice {
  lookupKey: string;
  planId: string;
  /** Set for a metered (overage) price. */
  meterId?: string;
  productId: string;
  currency: string;
  interval: CatalogPlan['interval'];
  intervalCount: number;
  nickname: string;
  metadata: Record<string, string>;
  /** Licensed price: per unit (a seat when the plan is per-seat), in minor units. */
  unitAmount?: number;
  /** Metered price: units free per period, then `overageUnitAmountDecimal` per unit (minor units). */
  included?: number;
  overageUnitAmountDecimal?: string;
}

export function desiredPrices(catalog: Catalog): DesiredPrice[] {
  const out: DesiredPrice[] = [];
  for (const plan of catalog.plans) {
    if (!plan.price) continue; // custom-priced: product only
    const base = {
      planId: plan.id,
      productId: plan.product,
      currency: plan.price.currency,
      interval: plan.interval,
      intervalCount: plan.intervalCount,
    };
    out.push({
      ...base,
      lookupKey: plan.id,
      nickname: plan.name,
      unitAmount: plan.price.amount,
      metadata: { plan_id: plan.id, per_seat: String(plan.perSeat) },
    });
    for (const pm of plan.meters) {
      out.push({
        ...base,
        lookupKey: meteredLookupKey(plan.id, pm.meter),
        meterId: pm.meter,
        nickname: `${plan.name} · ${pm.meter} overage`,
        included: pm.included,
        overageUnitAmountDecimal: pm.unitAmountDecimal,
        metadata: { plan_id: plan.id, meter_id: pm.meter, included: String(pm.included) },
      });
    }
  }
  return out;
}

/** Content-derived idempotency key: a retried create (same content, same predecessor) is replayed, not duplicated. */
function idempotencyKey(op: string, content: unknown): string {
  return `billing-gateway:${op}:${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 40)}`;
}

function decimalString(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return String(v);
}

function sameDecimal(a: unknown, b: unknown): boolean {
  const x = decimalString(a);
  const y = decimalString(b);
  if (x === null || y === null) return x === y;
  return Stripe.Decimal.from(x).eq(Stripe.Decimal.from(y));
}

/** A tier's per-unit amount as a decimal string (Stripe fills `unit_amount` and/or `unit_amount_decimal`). */
function tierUnit(t: Stripe.Price.Tier): string {
  return decimalString(t.unit_amount_decimal) ?? String(t.unit_amount ?? 0);
}

/** `tiers` is expandable: without asking, a created or updated tiered price comes back without them. */
function withTiers(params: Stripe.PriceCreateParams): Stripe.PriceCreateParams {
  return { ...params, expand: ['tiers'] };
}

function priceParams(d: DesiredPrice, meterStripeId: string | null): Stripe.PriceCreateParams {
  const recurring: Stripe.PriceCreateParams.Recurring = {
    interval: d.interval,
    interval_count: d.intervalCount,
    usage_type: d.meterId ? 'metered' : 'licensed',
  };
  const params: Stripe.PriceCreateParams = {
    product: d.productId,
    currency: d.currency,
    lookup_key: d.lookupKey,
    nickname: d.nickname,
    metadata: d.metadata,
    recurring,
  };
  if (!d.meterId) {
    params.billing_scheme = 'per_unit';
    params.unit_amount = d.unitAmount!;
    return params;
  }
  if (meterStripeId) recurring.meter = meterStripeId;
  const overage = Stripe.Decimal.from(d.overageUnitAmountDecimal!);
  if (d.included! > 0) {
    params.billing_scheme = 'tiered';
    params.tiers_mode = 'graduated';
    params.tiers = [
      { up_to: d.included!, unit_amount: 0 },
      { up_to: 'inf', unit_amount_decimal: overage },
    ];
  } else {
    // Nothing included: a graduated first tier would be `up_to: 0`, which Stripe rejects.
    params.billing_scheme = 'per_unit';
    params.unit_amount_decimal = overage;
  }
  return params;
}

/** Fields that Stripe cannot change on an existing price: any difference needs a new price. */
function immutableDifferences(p: Stripe.Price, d: DesiredPrice, meterStripeId: string | null): string[] {
  const diffs: string[] = [];
  const productId = typeof p.product === 'string' ? p.product : p.product.id;
  if (productId !== d.productId) diffs.push('product');
  if (p.currency !== d.currency) diffs.push('currency');
  if (!p.recurring) {
    diffs.push('recurring');
    return diffs;
  }
  if (p.recurring.interval !== d.interval) diffs.push('recurring.interval');
  if (p.recurring.interval_count !== d.intervalCount) diffs.push('recurring.interval_count');
  if (p.recurring.usage_type !== (d.meterId ? 'metered' : 'licensed')) diffs.push('recurring.usage_type');
  if (!d.meterId) {
    if (p.billing_scheme !== 'per_unit') diffs.push('billing_scheme');
    if (p.unit_amount !== d.unitAmount) diffs.push('unit_amount');
    return diffs;
  }
  if (meterStripeId && p.recurring.meter !== meterStripeId) diffs.push('recurring.meter');
  if (d.included! > 0) {
    if (p.billing_scheme !== 'tiered') diffs.push('billing_scheme');
    if (p.tiers_mode !== 'graduated') diffs.push('tiers_mode');
    const tiers = p.tiers;
    if (tiers) {
      const ok =
        tiers.length === 2 &&
        tiers[0]!.up_to === d.included &&
        sameDecimal(tierUnit(tiers[0]!), '0') &&
        !tiers[0]!.flat_amount &&
        tiers[1]!.up_to === null &&
        sameDecimal(tierUnit(tiers[1]!), d.overageUnitAmountDecimal) &&
        !tiers[1]!.flat_amount;
      if (!ok) diffs.push('tiers');
    }
  } else {
    if (p.billing_scheme !== 'per_unit') diffs.push('billing_scheme');
    if (!sameDecimal(decimalString(p.unit_amount_decimal) ?? p.unit_amount, d.overageUnitAmountDecimal)) {
      diffs.push('unit_amount_decimal');
    }
  }
  return diffs;
}

function metadataDiffers(current: Stripe.Metadata | null | undefined, desired: Record<string, string>): boolean {
  return Object.entries(desired).some(([k, v]) => current?.[k] !== v);
}

class Sync {
  readonly report: SyncReport;
  private done = 0;

  constructor(
    private readonly stripe: Stripe,
    private readonly total: number,
    private readonly opts: SyncOptions,
  ) {
    this.report = {
      dryRun: !!opts.dryRun,
      created: 0,
      updated: 0,
      replaced: 0,
      unchanged: 0,
      changed: 0,
      items: [],
      warnings: [],
      products: [],
      meters: [],
      prices: [],
      archivedPrices: [],
    };
  }

  private get dry(): boolean {
    return !!this.opts.dryRun;
  }

  private record(item: SyncItem): void {
    this.report.items.push(item);
    this.report[item.action] += 1;
    if (item.action !== 'unchanged') this.report.changed += 1;
    this.done += 1;
    this.opts.onProgress?.({ done: this.done, total: this.total, item });
  }

  async product(spec: Catalog['products'][number]): Promise<void> {
    let existing: Stripe.Product | null = null;
    try {
      existing = await this.stripe.products.retrieve(spec.id);
    } catch (err) {
      if (!isResourceMissing(err)) throw err;
    }
    if (!existing) {
      if (this.dry) return this.record({ kind: 'product', key: spec.id, action: 'created', id: null });
      const params: Stripe.ProductCreateParams = { id: spec.id, name: spec.name };
      const created = await this.stripe.products.create(params, {
        idempotencyKey: idempotencyKey('product.create', params),
      });
      this.report.products.push(created);
      return this.record({ kind: 'product', key: spec.id, action: 'created', id: created.id });
    }
    const changes: string[] = [];
    if (existing.name !== spec.name) changes.push('name');
    if (!existing.active) changes.push('active');
    if (changes.length === 0) {
      this.report.products.push(existing);
      return this.record({ kind: 'product', key: spec.id, action: 'unchanged', id: existing.id });
    }
    const updated = this.dry ? existing : await this.stripe.products.update(spec.id, { name: spec.name, active: true });
    this.report.products.push(updated);
    this.record({ kind: 'product', key: spec.id, action: 'updated', id: existing.id, changes });
  }

  /** Returns the Stripe meter id (null when a dry run would create it). */
  async meter(spec: CatalogMeter, existingMeters: Stripe.Billing.Meter[]): Promise<string | null> {
    const existing = existingMeters.find((m) => m.event_name === spec.eventName);
    if (!existing) {
      if (this.dry) {
        this.record({ kind: 'meter', key: spec.eventName, action: 'created', id: null });
        return null;
      }
      const params: Stripe.Billing.MeterCreateParams = {
        display_name: spec.displayName,
        event_name: spec.eventName,
        default_aggregation: { formula: spec.aggregation },
        customer_mapping: { type: 'by_id', event_payload_key: 'stripe_customer_id' },
        value_settings: { event_payload_key: 'value' },
      };
      const created = await this.stripe.billing.meters.create(params, {
        idempotencyKey: idempotencyKey('meter.create', params),
      });
      this.report.meters.push(created);
      this.record({ kind: 'meter', key: spec.eventName, action: 'created', id: created.id });
      return created.id;
    }
    if (existing.default_aggregation?.formula !== spec.aggregation) {
      this.report.warnings.push(
        `meter ${spec.eventName}: Stripe aggregates with "${existing.default_aggregation?.formula}", the catalog says "${spec.aggregation}"; Stripe cannot change a meter's aggregation`,
      );
    }
    const changes: string[] = [];
    if (existing.status !== 'active') changes.push('status');
    if (existing.display_name !== spec.displayName) changes.push('display_name');
    let current = existing;
    if (changes.length && !this.dry) {
      if (existing.status !== 'active') current = await this.stripe.billing.meters.reactivate(existing.id);
      if (existing.display_name !== spec.displayName) {
        current = await this.stripe.billing.meters.update(existing.id, { display_name: spec.displayName });
      }
    }
    this.report.meters.push(current);
    this.record({
      kind: 'meter',
      key: spec.eventName,
      action: changes.length ? 'updated' : 'unchanged',
      id: existing.id,
      ...(changes.length ? { changes } : {}),
    });
    return existing.id;
  }

  async price(d: DesiredPrice, existing: Stripe.Price | undefined, meterStripeId: string | null): Promise<void> {
    const params = priceParams(d, meterStripeId);
    if (d.meterId && !meterStripeId && !this.dry) throw new Error(`price ${d.lookupKey}: meter ${d.meterId} has no Stripe id`);
    if (!existing) {
      if (this.dry) return this.record({ kind: 'price', key: d.lookupKey, action: 'created', id: null });
      const created = await this.stripe.prices.create(withTiers(params), {
        idempotencyKey: idempotencyKey('price.create', { params, replaces: null }),
      });
      this.report.prices.push(created);
      return this.record({ kind: 'price', key: d.lookupKey, action: 'created', id: created.id });
    }

    if (existing.tiers === undefined && existing.billing_scheme === 'tiered') {
      // `tiers` is an expandable field; fetch it when the list did not include it.
      existing = await this.stripe.prices.retrieve(existing.id, { expand: ['tiers'] });
    }
    const immutable = immutableDifferences(existing, d, meterStripeId);
    if (immutable.length) {
      if (this.dry) {
        return this.record({ kind: 'price', key: d.lookupKey, action: 'replaced', id: null, previousId: existing.id, changes: immutable });
      }
      const created = await this.stripe.prices.create(
        withTiers({ ...params, transfer_lookup_key: true }),
        // The predecessor's id is part of the key: going back to an earlier amount must create a fresh price,
        // not replay the (now archived) first one.
        { idempotencyKey: idempotencyKey('price.create', { params, replaces: existing.id }) },
      );
      const archived = existing.active ? await this.stripe.prices.update(existing.id, { active: false, expand: ['tiers'] }) : existing;
      this.report.prices.push(created);
      this.report.archivedPrices.push(archived);
      return this.record({
        kind: 'price',
        key: d.lookupKey,
        action: 'replaced',
        id: created.id,
        previousId: existing.id,
        changes: immutable,
      });
    }

    const changes: string[] = [];
    if (!existing.active) changes.push('active');
    if (existing.nickname !== d.nickname) changes.push('nickname');
    if (metadataDiffers(existing.metadata, d.metadata)) changes.push('metadata');
    if (!changes.length) {
      this.report.prices.push(existing);
      return this.record({ kind: 'price', key: d.lookupKey, action: 'unchanged', id: existing.id });
    }
    const updated = this.dry
      ? existing
      : await this.stripe.prices.update(existing.id, { active: true, nickname: d.nickname, metadata: d.metadata, expand: ['tiers'] });
    this.report.prices.push(updated);
    this.record({ kind: 'price', key: d.lookupKey, action: 'updated', id: existing.id, changes });
  }
}

/** Stripe's `lookup_keys` filter takes at most 10 keys per request. */
async function pricesByLookupKey(stripe: Stripe, keys: string[]): Promise<Map<string, Stripe.Price>> {
  const found = new Map<string, Stripe.Price>();
  for (let i = 0; i < keys.length; i += 10) {
    const chunk = keys.slice(i, i + 10);
    const page = await stripe.prices.list({ lookup_keys: chunk, limit: 100, expand: ['data.tiers'] });
    for (const p of page.data) {
      if (!p.lookup_key) continue;
      const seen = found.get(p.lookup_key);
      // A lookup key belongs to one price; if a server ever shows two, prefer the active, newest one.
      if (!seen || (p.active && !seen.active) || (p.active === seen.active && p.created > seen.created)) found.set(p.lookup_key, p);
    }
  }
  return found;
}

export async function syncCatalog(stripe: Stripe, catalog: Catalog, opts: SyncOptions = {}): Promise<SyncReport> {
  const prices = desiredPrices(catalog);
  const meters = catalog.meters;
  const sync = new Sync(stripe, catalog.products.length + meters.length + prices.length, opts);

  for (const product of catalog.products) await sync.product(product);

  const existingMeters: Stripe.Billing.Meter[] = [];
  if (meters.length) {
    for await (const m of stripe.billing.meters.list({ limit: 100 })) existingMeters.push(m);
  }
  const meterIds = new Map<string, string | null>();
  for (const meter of meters) meterIds.set(meter.id, await sync.meter(meter, existingMeters));

  const existing = await pricesByLookupKey(
    stripe,
    prices.map((p) => p.lookupKey),
  );
  for (const d of prices) {
    await sync.price(d, existing.get(d.lookupKey), d.meterId ? (meterIds.get(d.meterId) ?? null) : null);
  }
  return sync.report;
}
