import type Stripe from 'stripe';
import { eventually } from './eventually.js';

/**
 * Advances a test clock and waits until it is `ready`: as at Stripe, `advance` answers while the clock
 * is still `advancing` and the billing runs after. Throws on `internal_failure` or after `deadlineMs`.
 */
export async function advanceClock(stripe: Stripe, clockId: string, frozenTime: number, deadlineMs = 30_000): Promise<Stripe.TestHelpers.TestClock> {
  await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime });
  let failed = false;
  const clock = await eventually(
    `test clock ${clockId} to be ready at ${frozenTime}`,
    async () => {
      const c = await stripe.testHelpers.testClocks.retrieve(clockId);
      failed ||= c.status === 'internal_failure';
      return { status: c.status, frozen_time: c.frozen_time, clock: c };
    },
    (c) => failed || (c.status === 'ready' && c.frozen_time === frozenTime),
    { timeout: deadlineMs, interval: 10 },
  );
  if (failed) throw new Error(`test clock ${clockId} failed to advance to ${frozenTime}`);
  return clock.clock;
}
