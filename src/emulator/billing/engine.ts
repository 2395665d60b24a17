import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Stored } from '../store.js';
import { DAY_SECONDS, HOUR } from './periods.js';
import { idOf, invoiceMeta, subMeta, type InvoiceRecord, type SubRecord } from './records.js';
import {
  cancelSubscriptionNow,
  chargeInvoice,
  expireIncomplete,
  finalizeDueInvoice,
  renewSubscription,
  sendTrialWillEnd,
} from './subscriptions.js';

/** Stripe voids an unpaid first invoice and expires the subscription after 23 hours. */
const INCOMPLETE_TTL = 23 * HOUR;
const TRIAL_WILL_END_BEFORE = 3 * DAY_SECONDS;

interface Due {
  at: number;
  /** Order among things due at the same second. */
  rank: number;
  /** What and whom (e.g. `renew:sub_…`), so a step that changed nothing is not run again. */
  key: string;
  run: () => void;
}

type TestClock = Stripe.TestHelpers.TestClock & Stored;

/** Everything that falls due for the objects governed by `clockId` (null: wall-clock objects). */
function dueMoments(emu: Emulator, clockId: string | null): Due[] {
  const out: Due[] = [];
  for (const sub of emu.store.all<SubRecord>('subscription')) {
    if (emu.clockIdOf(sub) !== clockId) continue;
    switch (sub.status) {
      case 'incomplete':
        out.push({ at: sub.created + INCOMPLETE_TTL, rank: 0, key: `expire:${sub.id}`, run: () => expireIncomplete(emu, sub) });
        break;
      case 'trialing': {
        const meta = subMeta(emu, sub.id);
        if (sub.trial_end && meta.trialWillEndSentFor !== sub.trial_end) {
          out.push({
            at: Math.max(sub.trial_end - TRIAL_WILL_END_BEFORE, sub.created),
            rank: 1,
            key: `trial_will_end:${sub.id}`,
            run: () => {
              meta.trialWillEndSentFor = sub.trial_end;
              emu.store.changed();
              sendTrialWillEnd(emu, sub);
            },
          });
        }
        if (sub.cancel_at !== null && sub.cancel_at < (sub.trial_end ?? Infinity)) {
          out.push({ at: sub.cancel_at, rank: 2, key: `cancel:${sub.id}`, run: () => cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' }) });
        } else if (sub.trial_end) {
          out.push({ at: sub.trial_end, rank: 3, key: `renew:${sub.id}`, run: () => renewSubscription(emu, sub, sub.trial_end!) });
        }
        break;
      }
      case 'active':
      case 'past_due':
      case 'unpaid': {
        const end = sub.items.data[0]?.current_period_end;
        if (sub.cancel_at !== null && (end === undefined || sub.cancel_at < end)) {
          out.push({ at: sub.cancel_at, rank: 2, key: `cancel:${sub.id}`, run: () => cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' }) });
        } else if (end !== undefined) {
          out.push({ at: end, rank: 3, key: `renew:${sub.id}`, run: () => renewSubscription(emu, sub, end) });
        }
        const resumesAt = sub.pause_collection?.resumes_at;
        if (resumesAt) {
          out.push({
            at: resumesAt,
            rank: 1,
            key: `resume_collection:${sub.id}`,
            run: () => {
              const before = structuredClone(sub.pause_collection);
              sub.pause_collection = null;
              emu.store.changed();
              emu.events.emit('customer.subscription.updated', sub, { previousAttributes: { pause_collection: before } });
            },
          });
        }
        break;
      }
      default:
        break;
    }
  }
  for (const inv of emu.store.all<InvoiceRecord>('invoice')) {
    if (emu.clockIdOf(inv) !== clockId) continue;
    if (inv.status === 'draft') {
      const at = invoiceMeta(emu, inv.id).finalize_at;
      if (at !== null) out.push({ at, rank: 4, key: `finalize:${inv.id}`, run: () => finalizeDueInvoice(emu, inv) });
    } else if (inv.status === 'open' && inv.next_payment_attempt !== null && inv.collection_method === 'charge_automatically') {
      out.push({ at: inv.next_payment_attempt, rank: 5, key: `retry:${inv.id}`, run: () => chargeInvoice(emu, inv, null, false) });
    }
  }
  return out;
}

/**
 * Runs everything due up to `to`, earliest first, re-planning after each step (a renewal creates
 * a draft that finalizes an hour later, a failure schedules a retry, …). `setTime` moves the
 * test clock to each moment first, so `emu.nowFor` and event `created` follow the clock.
 */
export function processDue(emu: Emulator, clockId: string | null, to: number, setTime: (t: number) => void): number {
  let steps = 0;
  const done = new Set<string>();
  for (; steps < 100_000; steps++) {
    const due = dueMoments(emu, clockId)
      .filter((d) => d.at <= to && !done.has(`${d.key}@${d.at}`))
      .sort((a, b) => a.at - b.at || a.rank - b.rank);
    const next = due[0];
    if (!next) break;
    done.add(`${next.key}@${next.at}`);
    setTime(next.at);
    next.run();
  }
  return steps;
}

/** The test-clock hook: walk the clock from `from` to `to`, then leave it frozen at `to`. */
export function advanceClockBilling(emu: Emulator, clock: Stripe.TestHelpers.TestClock, _from: number, to: number): void {
  const stored = emu.store.get<TestClock>('test_helpers.test_clock', clock.id);
  const setTime = (t: number): void => {
    if (stored && stored.frozen_time < t) stored.frozen_time = t;
    if (clock !== stored && clock.frozen_time < t) (clock as { frozen_time: number }).frozen_time = t;
  };
  processDue(emu, clock.id, to, setTime);
  setTime(to);
  emu.store.changed();
}

/**
 * The same engine on wall-clock time for customers without a test clock: every few seconds,
 * whatever is due (renewals, retries, expiries) runs. The timer does not keep the process alive.
 */
export function startWallClockBilling(emu: Emulator, everyMs = 2000): NodeJS.Timeout {
  const timer = setInterval(() => {
    try {
      processDue(emu, null, emu.realNow(), () => {});
    } catch (err) {
      process.emitWarning(`emulator billing: ${(err as Error).message}`);
    }
  }, everyMs);
  timer.unref();
  return timer;
}

export { idOf };
