import { inspect } from 'node:util';
import { vi } from 'vitest';

export interface EventuallyOptions {
  /** The deadline on the wait (a bound, never a timing assertion). */
  timeout?: number;
  /** How often `probe` runs. */
  interval?: number;
}

/**
 * Runs `probe` until `accept` holds for what it returns (truthiness by default) and returns that value.
 * A probe that throws is tried again. At the deadline it fails with `what` and the last value seen, or
 * the probe's last error, so a failure says how far the system got.
 */
export async function eventually<T>(
  what: string,
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean = Boolean,
  { timeout = 50_000, interval = 20 }: EventuallyOptions = {},
): Promise<T> {
  return vi.waitFor(
    async () => {
      const value = await probe();
      if (!accept(value)) throw new Error(`last value: ${inspect(value, { depth: 4, breakLength: Infinity })}`);
      return value;
    },
    { timeout, interval, message: `timed out after ${timeout} ms waiting for ${what}` },
  );
}
