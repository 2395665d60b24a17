import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Stored } from '../store.js';
import { decimalToScaled, roundScaled, tieredScaled } from './money.js';
import { priceTiers, type PriceRecord } from './records.js';

type MeterRecord = Stripe.Billing.Meter & Stored;
type MeterEventRecord = Stripe.Billing.MeterEvent & Stored;

/**
 * A customer's usage on a meter in [from, to) by event `timestamp`, aggregated by the meter's
 * formula (sum / count / last). Reads the stored meter events directly.
 */
export function meteredQuantity(emu: Emulator, meterId: string, customer: string, from: number, to: number): number {
  const meter = emu.store.get<MeterRecord>('billing.meter', meterId);
  if (!meter) return 0;
  const customerKey = meter.customer_mapping?.event_payload_key ?? 'stripe_customer_id';
  const valueKey = meter.value_settings?.event_payload_key ?? 'value';
  const events = emu.store
    .all<MeterEventRecord>('billing.meter_event')
    .filter((e) => e.event_name === meter.event_name && e.payload?.[customerKey] === customer && e.timestamp >= from && e.timestamp < to);
  const formula = meter.default_aggregation?.formula ?? 'sum';
  if (formula === 'count') return events.length;
  if (formula === 'last') {
    const last = [...events].sort((a, b) => a.timestamp - b.timestamp).pop();
    return last ? Number(last.payload[valueKey] ?? 0) : 0;
  }
  // Meter values may be decimals; Stripe bills whole units of the summed quantity.
  return Math.round(events.reduce((a, e) => a + Number(e.payload[valueKey] ?? 0), 0));
}

/** The exact (×10^12) amount of `quantity` units on a price: per unit (decimal) or tiered. */
export function scaledPriceAmount(emu: Emulator, price: PriceRecord, quantity: number): bigint {
  if (price.billing_scheme === 'tiered') {
    return tieredScaled(priceTiers(emu, price.id), (price.tiers_mode ?? 'graduated') as 'graduated' | 'volume', quantity);
  }
  const unit = price.unit_amount_decimal ?? String(price.unit_amount ?? 0);
  return decimalToScaled(unit) * BigInt(quantity);
}

/** `quantity` units on a price in minor units, rounded once for the line (half away from zero). */
export function priceAmount(emu: Emulator, price: PriceRecord, quantity: number): number {
  return roundScaled(scaledPriceAmount(emu, price, quantity));
}
