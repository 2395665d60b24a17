/**
 * Exact rational amounts in minor units. MRR divides by 12 (and 52/365 multiply), so per-subscription
 * values are fractions of a cent; the reports sum them exactly and rounds once per currency, at the end.
 * BigInt keeps every intermediate exact (no float, no overflow).
 */
export interface Fraction {
  numerator: bigint;
  /** Always > 0. */
  denominator: bigint;
}

export const ZERO: Fraction = Object.freeze({ numerator: 0n, denominator: 1n });

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

function gcd(a: bigint, b: bigint): bigint {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** n/d in lowest terms with a positive denominator. */
export function fraction(numerator: bigint, denominator: bigint = 1n): Fraction {
  if (denominator === 0n) throw new RangeError('fraction: denominator must not be zero');
  if (denominator < 0n) {
    numerator = -numerator;
    denominator = -denominator;
  }
  const g = gcd(numerator, denominator);
  return g > 1n ? { numerator: numerator / g, denominator: denominator / g } : { numerator, denominator };
}

export function addExact(a: Fraction, b: Fraction): Fraction {
  return fraction(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator);
}

export function multiplyExact(a: Fraction, b: Fraction): Fraction {
  return fraction(a.numerator * b.numerator, a.denominator * b.denominator);
}

/** The exact sum (0 for none). */
export function sumExact(fractions: Iterable<Fraction>): Fraction {
  let total = ZERO;
  for (const f of fractions) total = addExact(total, f);
  return total;
}

/**
 * Rounds to a whole minor unit, halves away from zero (so 416.5 → 417 and −416.5 → −417: "half-up" as
 * in accounting, symmetric for credits). Throws when the result is beyond Number's safe integers.
 */
export function roundHalfUp(f: Fraction): number {
  const { numerator: n, denominator: d } = fraction(f.numerator, f.denominator);
  const negative = n < 0n;
  const a = abs(n);
  // floor((2a + d) / 2d) = floor(a/d + 1/2)
  let q = (2n * a + d) / (2n * d);
  if (negative) q = -q;
  const out = Number(q);
  if (!Number.isSafeInteger(out)) throw new RangeError(`roundHalfUp: ${q} is beyond the safe integer range`);
  return out;
}
