/**
 * Exact money arithmetic in integer minor units. Decimal prices ("0.1" cents) are held as
 * BigInt numerators over 10^12 so sums are exact; rounding happens once per invoice line.
 */

const SCALE = 10n ** 12n;

/** A non-negative decimal string ("0.1", "12", "0.000001") as an exact BigInt over 10^12. */
export function decimalToScaled(decimal: string | number): bigint {
  const s = String(decimal);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new Error(`not a decimal: ${s}`);
  const frac = (m[3] ?? '').padEnd(12, '0').slice(0, 12);
  const v = BigInt(m[2]!) * SCALE + BigInt(frac || '0');
  return m[1] === '-' ? -v : v;
}

/**
 * Rounds numerator/denominator to an integer, halves away from zero ("half-up" on the absolute
 * value), which is how Stripe rounds a line's amount to the minor unit.
 */
export function roundRatio(numerator: bigint, denominator: bigint): number {
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const negative = numerator < 0n;
  const abs = negative ? -numerator : numerator;
  const q = (abs * 2n + denominator) / (2n * denominator);
  return Number(negative ? -q : q);
}

/** A scaled (×10^12) amount rounded to minor units. */
export function roundScaled(scaled: bigint): number {
  return roundRatio(scaled, SCALE);
}

/** quantity × unit price (decimal minor units), rounded once. */
export function unitTimesQuantity(unitAmountDecimal: string, quantity: number): number {
  return roundScaled(decimalToScaled(unitAmountDecimal) * BigInt(quantity));
}

/**
 * Stripe's per-second proration: amount × (to − from) / (periodEnd − periodStart), rounded per line.
 * `scaledAmount` is the unrounded full-period amount (×10^12).
 */
export function prorate(scaledAmount: bigint, from: number, to: number, periodStart: number, periodEnd: number): number {
  const span = BigInt(periodEnd - periodStart);
  if (span <= 0n) return 0;
  return roundRatio(scaledAmount * BigInt(Math.max(0, to - from)), span * SCALE);
}

export interface Tier {
  up_to: number | null;
  unit_amount: number | null;
  unit_amount_decimal: string | null;
  flat_amount: number | null;
  flat_amount_decimal: string | null;
}

function tierUnit(t: Tier): bigint {
  if (t.unit_amount_decimal !== null && t.unit_amount_decimal !== undefined) return decimalToScaled(t.unit_amount_decimal);
  return BigInt(t.unit_amount ?? 0) * SCALE;
}

function tierFlat(t: Tier): bigint {
  if (t.flat_amount_decimal !== null && t.flat_amount_decimal !== undefined) return decimalToScaled(t.flat_amount_decimal);
  return BigInt(t.flat_amount ?? 0) * SCALE;
}

/**
 * The exact (scaled) amount of `quantity` on tiers. Graduated: each tier prices the units that
 * fall in it (plus its flat fee when any unit does). Volume: the tier the total falls in prices all.
 */
export function tieredScaled(tiers: Tier[], mode: 'graduated' | 'volume', quantity: number): bigint {
  if (mode === 'volume') {
    const tier = tiers.find((t) => t.up_to === null || quantity <= t.up_to) ?? tiers[tiers.length - 1]!;
    return tierUnit(tier) * BigInt(quantity) + (quantity > 0 ? tierFlat(tier) : 0n);
  }
  let total = 0n;
  let lower = 0;
  for (const t of tiers) {
    if (quantity <= lower) break;
    const upper = t.up_to === null ? quantity : Math.min(quantity, t.up_to);
    const units = upper - lower;
    if (units > 0) total += tierUnit(t) * BigInt(units) + tierFlat(t);
    lower = upper;
    if (t.up_to === null) break;
  }
  return total;
}

/**
 * Splits `total` across `weights` proportionally with the largest-remainder method, so the parts
 * sum exactly to the total (used to spread an invoice-level discount over its lines).
 */
export function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0 || total === 0) return weights.map(() => 0);
  const raw = weights.map((w) => (total * w) / sum);
  const parts = raw.map(Math.floor);
  let rest = total - parts.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (rest <= 0) break;
    parts[i]!++;
    rest--;
  }
  return parts;
}
