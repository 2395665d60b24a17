import type { Emulator } from '../emulator.js';
import { meterUsage } from '../resources/meters.js';
import { decimalToScaled, roundScaled, tieredScaled } from './money.js';
import { priceTiers, type PriceRecord } from './records.js';

/**
 * A customer's usage on a meter in [from, to) by event `timestamp`, aggregated by the meter's
 * formula (`meterUsage` in resources/meters.ts). Meter values are whole numbers, so the quantity is exact.
 */
export function meteredQuantity(emu: Emulator, meterId: string, customer: string, from: number, to: number): number {
  return meterUsage(emu, { meterId, customer, start: from, end: to });
}

/** The exact (×10^12) amount of `quantity` units on a price: per unit (decimal) or tiered. */
export function scaledPriceAmount(emu: Emulator, price: PriceRecord, quantity: number): bigint {
  if (price.billing_scheme === 'tiered') {
    return tieredScaled(priceTiers(emu, price.id), (price.tiers_mode ?? 'graduated') as 'graduated' | 'volume', quantity);
  }
  const unit = String(price.unit_amount_decimal ?? price.unit_amount ?? 0);
  return decimalToScaled(unit) * BigInt(quantity);
}

/** `quantity` units on a price in minor units, rounded once for the line (half away from zero). */
export function priceAmount(emu: Emulator, price: PriceRecord, quantity: number): number {
  return roundScaled(scaledPriceAmount(emu, price, quantity));
}
