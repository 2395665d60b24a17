import { invalidRequest } from '../errors.js';

/**
 * Chaos delivery for tests of webhook consumers: duplicate, reorder, delay, or hold deliveries.
 * Set with the `chaos` emulator option or `POST /_emulator/chaos` (JSON), cleared with `{}`.
 */
export interface ChaosSpec {
  /** Probability (0..1) that a delivery is sent twice (same event id, as Stripe may do). */
  duplicate?: number;
  /** Shuffle events within a window before delivery: `true` = windows of 10, or the window size. */
  reorder?: boolean | number;
  /** Random delay before each delivery, in ms: `[min, max]`. */
  delayMs?: [number, number];
  /** Keep events back until `POST /_emulator/chaos/release`. */
  hold?: boolean;
  /** Seeds the random choices, so a chaotic run can be replayed. */
  seed?: number;
}

const DEFAULT_REORDER_WINDOW = 10;

export function reorderWindow(spec: ChaosSpec): number {
  if (spec.reorder === true) return DEFAULT_REORDER_WINDOW;
  if (typeof spec.reorder === 'number' && spec.reorder > 1) return Math.floor(spec.reorder);
  return 0;
}

/** Validates a chaos spec sent as JSON (or the option); throws Stripe-shaped errors naming the field. */
export function parseChaos(raw: Record<string, unknown>): ChaosSpec {
  const spec: ChaosSpec = {};
  for (const key of Object.keys(raw)) {
    if (!['duplicate', 'reorder', 'delayMs', 'hold', 'seed'].includes(key)) throw invalidRequest(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
  }
  const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
  const bool = (v: unknown): boolean | undefined => (v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined);
  if (raw.duplicate !== undefined) {
    const d = num(raw.duplicate);
    if (!(d >= 0 && d <= 1)) throw invalidRequest('duplicate must be a number between 0 and 1', 'duplicate', 'parameter_invalid');
    spec.duplicate = d;
  }
  if (raw.reorder !== undefined) {
    const b = bool(raw.reorder);
    if (b !== undefined) spec.reorder = b;
    else {
      const w = num(raw.reorder);
      if (!(Number.isInteger(w) && w >= 0)) throw invalidRequest('reorder must be a boolean or a window size', 'reorder', 'parameter_invalid');
      spec.reorder = w;
    }
  }
  if (raw.delayMs !== undefined) {
    const arr = Array.isArray(raw.delayMs) ? raw.delayMs.map(num) : typeof raw.delayMs === 'object' && raw.delayMs ? Object.values(raw.delayMs).map(num) : [num(raw.delayMs), num(raw.delayMs)];
    const [min, max] = arr as [number, number];
    if (arr.length !== 2 || !(min >= 0) || !(max >= min) || max > 600_000) {
      throw invalidRequest('delayMs must be [min, max] in milliseconds (0 ≤ min ≤ max ≤ 600000)', 'delayMs', 'parameter_invalid');
    }
    spec.delayMs = [min, max];
  }
  if (raw.hold !== undefined) {
    const h = bool(raw.hold);
    if (h === undefined) throw invalidRequest('hold must be a boolean', 'hold', 'parameter_invalid');
    spec.hold = h;
  }
  if (raw.seed !== undefined) {
    const s = num(raw.seed);
    if (!Number.isInteger(s)) throw invalidRequest('seed must be an integer', 'seed', 'parameter_invalid');
    spec.seed = s;
  }
  return spec;
}

/** mulberry32: a tiny seedable PRNG, enough for reproducible chaos (not for secrets). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with the given random source. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
