/**
 * Delivery orders of a corpus (the same for every system in a run) and a closed-loop sender.
 *
 * - `in-order`: as emitted;
 * - `chaos`: 20% of deliveries duplicated, reordered within windows of 64, 10% held back and released
 *   at the end newest first (the emulator's seeded PRNG, so every system gets the same order);
 * - `same-second`: in order, but every event's `created` rounded down to its hour: many more ties than
 *   the test clock's frozen seconds already make (a body re-signed, as Stripe would send it).
 */
import type Stripe from 'stripe';
import { loadDist } from '../../lib/dist.ts';

export type Scenario = 'in-order' | 'chaos' | 'same-second';
export const SCENARIOS: Scenario[] = ['in-order', 'chaos', 'same-second'];

export async function deliveries(events: Stripe.Event[], scenario: Scenario, seed: number): Promise<string[]> {
  const { seededRandom, shuffle } = await import('@billing-gateway/stripe-emulator');
  if (scenario === 'in-order') return events.map((e) => JSON.stringify(e));
  if (scenario === 'same-second') return events.map((e) => JSON.stringify({ ...e, created: e.created - (e.created % 3600) }));
  const random = seededRandom(seed);
  const out: Stripe.Event[] = [];
  const held: Stripe.Event[] = [];
  for (let i = 0; i < events.length; i += 64) {
    const window: Stripe.Event[] = [];
    for (const e of events.slice(i, i + 64)) {
      if (random() < 0.1) held.push(e);
      else window.push(e);
      if (random() < 0.2) window.push(e);
    }
    out.push(...shuffle(window, random));
  }
  out.push(...held.reverse());
  return out.map((e) => JSON.stringify(e));
}

/** Sends every body (the i-th by `send(body, i)`) with `concurrency` senders; resolves with the non-2xx count. */
export async function sendAll(bodies: string[], concurrency: number, send: (body: string, i: number) => Promise<number>): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const status = await send(bodies[i]!, i);
        if (status < 200 || status >= 300) failed++;
      }
    }),
  );
  return failed;
}
