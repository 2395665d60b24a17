/**
 * Coupons and promotion codes (`promotion: { type: 'coupon', coupon }`, the current API shape).
 *
 * For the billing engine:
 *   requireCoupon(emu, id, param?): CouponRecord                        — 404 `resource_missing` naming `param`
 *   findPromotionCode(emu, idOrCode): PromotionCodeRecord | undefined   — by `promo_…` id or by active code (case-insensitive)
 *   assertRedeemable(emu, coupon, promo?, param?, now?): void            — 400 when expired / used up / inactive
 *   recordRedemption(emu, coupon, promo?): void                          — times_redeemed += 1 (and `valid`)
 */
import type Stripe from 'stripe';
import { randomBytes } from 'node:crypto';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';

export type CouponRecord = Stripe.Coupon & Stored;
export type PromotionCodeRecord = Stripe.PromotionCode & Stored;

export function requireCoupon(emu: Emulator, id: string, param = 'id'): CouponRecord {
  const coupon = emu.store.get<CouponRecord>('coupon', id);
  if (!coupon) throw resourceMissing('coupon', id, param);
  return coupon;
}

export function findPromotionCode(emu: Emulator, idOrCode: string): PromotionCodeRecord | undefined {
  const byId = emu.store.get<PromotionCodeRecord>('promotion_code', idOrCode);
  if (byId) return byId;
  const code = idOrCode.toUpperCase();
  const all = emu.store.all<PromotionCodeRecord>('promotion_code').filter((p) => p.code.toUpperCase() === code);
  return all.find((p) => p.active) ?? all[all.length - 1];
}

/** Whether a coupon can still be redeemed: not past `redeem_by`, not used up. */
export function couponValid(coupon: Stripe.Coupon, now: number): boolean {
  if (coupon.redeem_by !== null && now > coupon.redeem_by) return false;
  if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions) return false;
  return true;
}

export function assertRedeemable(
  emu: Emulator,
  coupon: CouponRecord,
  promo?: PromotionCodeRecord,
  param = promo ? 'promotion_code' : 'coupon',
  now = emu.realNow(),
): void {
  if (promo) {
    if (!promo.active) throw invalidRequest(`This promotion code is inactive: '${promo.code}'.`, param);
    if (promo.expires_at !== null && now > promo.expires_at) throw invalidRequest(`This promotion code has expired: '${promo.code}'.`, param);
    if (promo.max_redemptions !== null && promo.times_redeemed >= promo.max_redemptions) {
      throw invalidRequest(`This promotion code has been redeemed the maximum number of times: '${promo.code}'.`, param);
    }
  }
  if (!couponValid(coupon, now)) throw invalidRequest(`Coupon expired or fully redeemed: '${coupon.id}'.`, param);
}

export function recordRedemption(emu: Emulator, coupon: CouponRecord, promo?: PromotionCodeRecord): void {
  coupon.times_redeemed++;
  coupon.valid = couponValid(coupon, emu.realNow());
  if (promo) promo.times_redeemed++;
  emu.store.changed();
}

/** Coupons read `valid` live: it turns false once `redeem_by` passes. */
function withValidity(emu: Emulator, coupon: CouponRecord): CouponRecord {
  const valid = couponValid(coupon, emu.realNow());
  if (coupon.valid !== valid) {
    coupon.valid = valid;
    emu.store.changed();
  }
  return coupon;
}

export function registerCoupons(router: Router, emu: Emulator): void {
  router.post('/v1/coupons', ({ params: p }) => {
    const id = p.string('id');
    const percentOff = p.number('percent_off', { min: 0, max: 100 });
    const amountOff = p.int('amount_off', { min: 1 });
    const currency = p.currency('currency');
    const duration = p.enum('duration', ['once', 'repeating', 'forever'] as const) ?? 'once';
    const durationInMonths = p.int('duration_in_months', { min: 1, max: 120 });
    const maxRedemptions = p.int('max_redemptions', { min: 1 });
    const redeemBy = p.int('redeem_by', { min: 0 });
    const name = p.string('name');
    const metadata = p.metadata();
    const appliesTo = p.object('applies_to');
    const products = appliesTo?.strings('products');
    p.done();
    if (percentOff === undefined && amountOff === undefined) {
      throw invalidRequest('Missing required param: percent_off or amount_off.', 'percent_off', 'parameter_missing');
    }
    if (percentOff !== undefined && amountOff !== undefined) {
      throw invalidRequest('You may only specify one of these parameters: amount_off, percent_off.', 'amount_off');
    }
    if (percentOff !== undefined && percentOff <= 0) throw invalidRequest('percent_off must be greater than 0.', 'percent_off', 'parameter_invalid');
    if (amountOff !== undefined && !currency) throw invalidRequest('Missing required param: currency.', 'currency', 'parameter_missing');
    if (currency !== undefined && !/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}`, 'currency');
    if (percentOff !== undefined && currency !== undefined) throw invalidRequest('currency can only be set with amount_off.', 'currency');
    if (duration === 'repeating' && durationInMonths === undefined) {
      throw invalidRequest('Missing required param: duration_in_months.', 'duration_in_months', 'parameter_missing');
    }
    if (duration !== 'repeating' && durationInMonths !== undefined) {
      throw invalidRequest('duration_in_months can only be set when duration is repeating.', 'duration_in_months');
    }
    if (redeemBy !== undefined && redeemBy <= emu.realNow()) throw invalidRequest('redeem_by must be in the future.', 'redeem_by');
    if (id !== undefined && emu.store.get('coupon', id)) throw invalidRequest('Coupon already exists.', 'id', 'resource_already_exists');
    for (const [i, product] of (products ?? []).entries()) emu.store.require('product', product, 'product', `applies_to[products][${i}]`);
    const coupon: CouponRecord = {
      id: id ?? randomBytes(6).toString('base64url').replace(/[-_]/g, 'x'),
      object: 'coupon',
      amount_off: amountOff ?? null,
      ...(products ? { applies_to: { products } } : {}),
      created: emu.realNow(),
      currency: currency ?? null,
      duration,
      duration_in_months: durationInMonths ?? null,
      livemode: false,
      max_redemptions: maxRedemptions ?? null,
      metadata: mergeMetadata({}, metadata),
      name: name ?? null,
      percent_off: percentOff ?? null,
      redeem_by: redeemBy ?? null,
      times_redeemed: 0,
      valid: true,
    };
    emu.store.insert('coupon', coupon);
    emu.events.emit('coupon.created', coupon);
    return coupon;
  });

  router.get('/v1/coupons/:id', ({ params: p, path }) => {
    p.done();
    return withValidity(emu, requireCoupon(emu, path.id!));
  });

  router.post('/v1/coupons/:id', ({ params: p, path }) => {
    const coupon = requireCoupon(emu, path.id!);
    const name = p.nullableString('name');
    const metadata = p.metadata();
    p.done();
    return updateWithEvent(emu, 'coupon.updated', coupon, (c) => {
      if (name !== undefined) c.name = name;
      c.metadata = mergeMetadata((c.metadata ?? {}) as Record<string, string>, metadata);
    });
  });

  router.delete('/v1/coupons/:id', ({ params: p, path }) => {
    p.done();
    const coupon = requireCoupon(emu, path.id!);
    emu.store.delete('coupon', coupon.id);
    emu.events.emit('coupon.deleted', coupon);
    return { id: coupon.id, object: 'coupon', deleted: true };
  });

  router.get('/v1/coupons', ({ params: p, url }) => {
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<CouponRecord>('coupon')).filter((c) => !created || created(c.created));
    const page = paginate(list, p, url);
    p.done();
    for (const c of page.data) withValidity(emu, c);
    return page;
  });

  router.post('/v1/promotion_codes', ({ params: p }) => {
    const promotion = p.object('promotion', { required: true });
    promotion.enum('type', ['coupon'] as const, { required: true });
    const couponId = promotion.string('coupon', { required: true });
    const code = p.string('code');
    const active = p.bool('active') ?? true;
    const customer = p.string('customer');
    p.string('customer_account');
    const expiresAt = p.int('expires_at', { min: 0 });
    const maxRedemptions = p.int('max_redemptions', { min: 1 });
    const metadata = p.metadata();
    const restrictions = p.object('restrictions');
    const firstTime = restrictions?.bool('first_time_transaction') ?? false;
    const minimumAmount = restrictions?.int('minimum_amount', { min: 0 });
    const minimumCurrency = restrictions?.string('minimum_amount_currency')?.toLowerCase();
    p.done();
    const coupon = requireCoupon(emu, couponId, 'promotion[coupon]');
    if (!couponValid(coupon, emu.realNow())) throw invalidRequest(`Coupon is no longer valid: '${coupon.id}'.`, 'promotion[coupon]');
    if (code !== undefined && !/^[a-zA-Z0-9_-]{1,500}$/.test(code)) {
      throw invalidRequest('code may only contain letters, digits, dashes and underscores.', 'code', 'parameter_invalid');
    }
    if (minimumAmount !== undefined && !minimumCurrency) {
      throw invalidRequest('Missing required param: restrictions[minimum_amount_currency].', 'restrictions[minimum_amount_currency]', 'parameter_missing');
    }
    if (customer) emu.store.require('customer', customer, 'customer', 'customer');
    if (expiresAt !== undefined && expiresAt <= emu.realNow()) throw invalidRequest('expires_at must be in the future.', 'expires_at');
    if (expiresAt !== undefined && coupon.redeem_by !== null && expiresAt > coupon.redeem_by) {
      throw invalidRequest("expires_at cannot be after the coupon's redeem_by.", 'expires_at');
    }
    const finalCode = code ?? randomBytes(6).toString('hex').toUpperCase();
    if (active) requireFreeCode(emu, finalCode);
    const promo: PromotionCodeRecord = {
      id: newId('promo', 24),
      object: 'promotion_code',
      active,
      code: finalCode,
      created: emu.realNow(),
      customer: customer ?? null,
      customer_account: null,
      expires_at: expiresAt ?? null,
      livemode: false,
      max_redemptions: maxRedemptions ?? null,
      metadata: mergeMetadata({}, metadata),
      promotion: { coupon: coupon.id, type: 'coupon' },
      restrictions: {
        first_time_transaction: firstTime,
        minimum_amount: minimumAmount ?? null,
        minimum_amount_currency: minimumAmount !== undefined ? (minimumCurrency ?? null) : null,
      },
      times_redeemed: 0,
    };
    emu.store.insert('promotion_code', promo);
    emu.events.emit('promotion_code.created', promo);
    return promo;
  });

  router.get('/v1/promotion_codes/:id', ({ params: p, path }) => {
    p.done();
    return requirePromotionCode(emu, path.id!);
  });

  router.post('/v1/promotion_codes/:id', ({ params: p, path }) => {
    const promo = requirePromotionCode(emu, path.id!);
    const active = p.bool('active');
    const metadata = p.metadata();
    const restrictions = p.object('restrictions');
    restrictions?.object('currency_options');
    p.done();
    if (active === true && !promo.active) requireFreeCode(emu, promo.code);
    return updateWithEvent(emu, 'promotion_code.updated', promo, (o) => {
      if (active !== undefined) o.active = active;
      o.metadata = mergeMetadata((o.metadata ?? {}) as Record<string, string>, metadata);
    });
  });

  router.get('/v1/promotion_codes', ({ params: p, url }) => {
    const active = p.bool('active');
    const code = p.string('code');
    const coupon = p.string('coupon');
    const customer = p.string('customer');
    p.string('customer_account');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<PromotionCodeRecord>('promotion_code')).filter(
      (o) =>
        (active === undefined || o.active === active) &&
        (code === undefined || o.code.toUpperCase() === code.toUpperCase()) &&
        (coupon === undefined || o.promotion.coupon === coupon) &&
        (customer === undefined || o.customer === customer) &&
        (!created || created(o.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}

function requirePromotionCode(emu: Emulator, id: string): PromotionCodeRecord {
  const promo = emu.store.get<PromotionCodeRecord>('promotion_code', id);
  if (!promo) throw resourceMissing('promotion_code', id);
  return promo;
}

/** Codes are unique (case-insensitively) among active promotion codes. */
function requireFreeCode(emu: Emulator, code: string): void {
  const upper = code.toUpperCase();
  if (emu.store.all<PromotionCodeRecord>('promotion_code').some((p) => p.active && p.code.toUpperCase() === upper)) {
    throw invalidRequest(`An active promotion code with code: ${code} already exists.`, 'code', 'resource_already_exists');
  }
}
