import type Stripe from 'stripe';

/**
 * Advances a test clock and waits until it is `ready`: as at Stripe, `advance` answers while the clock
 * is still `advancing` and the billing runs after. Throws on `internal_failure` or after `deadlineMs`.
 */
export async function advanceClock(stripe: Stripe, clockId: string, frozenTime: number, deadlineMs = 30_000): Promise<Stripe.TestHelpers.TestClock> {
  await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime });
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const clock = await stripe.testHelpers.testClocks.retrieve(clockId);
    if (clock.status === 'ready' && clock.frozen_time === frozenTime) return clock;
    if (clock.status === 'internal_failure') throw new Error(`test clock ${clockId} failed to advance to ${frozenTime}`);
    if (Date.now() > deadline) throw new Error(`test clock ${clockId} still ${clock.status} after ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
