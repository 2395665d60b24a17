import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Stored } from '../store.js';
import { DAY_SECONDS, HOUR } from './periods.js';
import { previewSubscriptionInvoice } from './preview.js';
import { scheduleDues, type ScheduleRecord } from './schedules.js';
import { upcomingDays } from './settings.js';
import { idOf, invoiceMeta, invoiceSubscriptionId, SUB_META, subMeta, type InvoiceRecord, type SubMeta, type SubRecord } from './records.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { chargeInvoice } from './subscription-payments.js';
import { expireIncomplete, finalizeDueInvoice, renewSubscription, sendTrialWillEnd } from './renewal.js';

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

/** What falls due for one subscription (expiry, trial_will_end, trial end, renewal, cancel_at, pause end). */
function subDues(emu: Emulator, sub: SubRecord): Due[] {
  const out: Due[] = [];
  switch (sub.status) {
    case 'incomplete':
      out.push({ at: sub.created + INCOMPLETE_TTL, rank: 0, key: `expire:${sub.id}`, run: () => expireIncomplete(emu, sub) });
      break;
    case 'trialing': {
      const sent = emu.store.get<SubMeta>(SUB_META, sub.id)?.trialWillEndSentFor;
      if (sub.trial_end && sent !== sub.trial_end) {
        out.push({
          at: Math.max(sub.trial_end - TRIAL_WILL_END_BEFORE, sub.created),
          rank: 1,
          key: `trial_will_end:${sub.id}`,
          run: () => {
            subMeta(emu, sub.id).trialWillEndSentFor = sub.trial_end;
            emu.store.changed();
            sendTrialWillEnd(emu, sub);
          },
        });
      }
      if (sub.cancel_at !== null && sub.cancel_at < (sub.trial_end ?? Infinity)) {
        out.push({ at: sub.cancel_at, rank: 2, key: `cancel:${sub.id}`, run: () => cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' }) });
      } else if (sub.trial_end) {
        out.push({ at: sub.trial_end, rank: 3, key: `renew:${sub.id}`, run: () => renewSubscription(emu, sub, sub.trial_end!) });
        upcomingDue(emu, sub, sub.trial_end, out);
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
        if (!sub.cancel_at_period_end && sub.pause_collection === null) upcomingDue(emu, sub, end, out);
      }
      const resumesAt = sub.pause_collection?.resumes_at;
      if (resumesAt) {
        out.push({
          at: resumesAt,
          rank: 1,
          key: `resume_collection:${sub.id}`,
          run: () => {
            const previous = structuredClone(sub.pause_collection);
            sub.pause_collection = null;
            emu.store.changed();
            emu.events.emit('customer.subscription.updated', sub, { previousAttributes: { pause_collection: previous } });
          },
        });
      }
      break;
    }
    default:
      break;
  }
  return out;
}

/**
 * `invoice.upcoming` `upcoming_days` before a renewal (once per renewal), with the invoice the renewal
 * would issue as `create_preview` shows it. Not when the lead time does not fit in the period.
 */
function upcomingDue(emu: Emulator, sub: SubRecord, renewalAt: number, out: Due[]): void {
  const days = upcomingDays(emu);
  if (days <= 0) return;
  const at = renewalAt - days * DAY_SECONDS;
  const start = sub.items.data[0]?.current_period_start ?? sub.created;
  if (at <= start || emu.store.get<SubMeta>(SUB_META, sub.id)?.upcomingSentFor === renewalAt) return;
  out.push({
    at,
    rank: 0,
    key: `upcoming:${sub.id}`,
    run: () => {
      subMeta(emu, sub.id).upcomingSentFor = renewalAt;
      emu.store.changed();
      let upcoming: InvoiceRecord;
      try {
        upcoming = previewSubscriptionInvoice(emu, sub);
      } catch {
        return; // nothing upcoming after all (e.g. ends at the period end)
      }
      emu.events.emit('invoice.upcoming', upcoming);
    },
  });
}

/** What falls due for one invoice: a renewal draft's finalization, the next automatic payment attempt. */
function invoiceDues(emu: Emulator, inv: InvoiceRecord): Due[] {
  if (inv.status === 'draft') {
    const at = invoiceMeta(emu, inv.id).finalize_at;
    return at !== null ? [{ at, rank: 4, key: `finalize:${inv.id}`, run: () => finalizeDueInvoice(emu, inv) }] : [];
  }
  if (inv.status === 'open' && inv.next_payment_attempt !== null && inv.collection_method === 'charge_automatically') {
    return [{ at: inv.next_payment_attempt, rank: 5, key: `retry:${inv.id}`, run: () => chargeInvoice(emu, inv, null, false) }];
  }
  if (inv.status === 'open' && inv.collection_method === 'send_invoice' && inv.due_date !== null) {
    // A sent invoice unpaid by its due date makes an active subscription past_due.
    const subId = invoiceSubscriptionId(inv);
    const sub = subId ? emu.store.get<SubRecord>('subscription', subId) : undefined;
    if (sub?.status === 'active') {
      return [{ at: inv.due_date, rank: 5, key: `overdue:${inv.id}`, run: () => markOverdue(emu, sub) }];
    }
  }
  return [];
}

function markOverdue(emu: Emulator, sub: SubRecord): void {
  if (sub.status !== 'active') return;
  sub.status = 'past_due';
  emu.store.changed();
  emu.events.emit('customer.subscription.updated', sub, { previousAttributes: { status: 'active' } });
}

type Billable = { kind: 'subscription'; obj: SubRecord } | { kind: 'invoice'; obj: InvoiceRecord } | { kind: 'schedule'; obj: ScheduleRecord };

function duesOf(emu: Emulator, b: Billable): Due[] {
  return b.kind === 'subscription' ? subDues(emu, b.obj) : b.kind === 'invoice' ? invoiceDues(emu, b.obj) : scheduleDues(emu, b.obj);
}

interface Entry {
  due: Due;
  of: Billable;
  seq: number;
}

function before(a: Entry, b: Entry): boolean {
  return a.due.at !== b.due.at ? a.due.at < b.due.at : a.due.rank !== b.due.rank ? a.due.rank < b.due.rank : a.seq < b.seq;
}

/** A binary min-heap of due entries (a few lines; no dependency needed for it). */
class DueHeap {
  private readonly items: Entry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Runs everything due up to `to`, earliest first. After each step only the objects it touched
 * are re-planned (the subscription and its latest invoice, the invoice's subscription, invoices
 * created by the step: a renewal's draft finalizes an hour later, a failure schedules a retry), so
 * a clock with thousands of subscriptions advances in one pass. `setTime` moves the test clock to
 * each moment first, so `emu.nowFor` and event `created` follow the clock.
 */
export function processDue(emu: Emulator, clockId: string | null, to: number, setTime: (t: number) => void): number {
  const heap = new DueHeap();
  const done = new Set<string>();
  let seq = 0;
  const plan = (b: Billable): void => {
    for (const due of duesOf(emu, b)) {
      if (due.at <= to && !done.has(`${due.key}@${due.at}`)) heap.push({ due, of: b, seq: seq++ });
    }
  };
  const subOf = (inv: InvoiceRecord): SubRecord | undefined => {
    const id = invoiceSubscriptionId(inv);
    return id ? emu.store.get<SubRecord>('subscription', id) : undefined;
  };
  for (const sub of emu.store.all<SubRecord>('subscription')) if (emu.clockIdOf(sub) === clockId) plan({ kind: 'subscription', obj: sub });
  for (const inv of emu.store.all<InvoiceRecord>('invoice')) if (emu.clockIdOf(inv) === clockId) plan({ kind: 'invoice', obj: inv });
  for (const s of emu.store.all<ScheduleRecord>('subscription_schedule')) if (emu.clockIdOf(s) === clockId) plan({ kind: 'schedule', obj: s });

  let steps = 0;
  while (heap.size > 0 && steps < 1_000_000) {
    const entry = heap.pop()!;
    // Entries go stale when their object changed since planning: run only what is still due then.
    const fresh = duesOf(emu, entry.of).find((d) => d.key === entry.due.key);
    if (!fresh || fresh.at !== entry.due.at || done.has(`${fresh.key}@${fresh.at}`)) continue;
    done.add(`${fresh.key}@${fresh.at}`);
    const invoicesBefore = emu.store.count('invoice');
    setTime(fresh.at);
    fresh.run();
    steps++;
    // Re-plan what the step touched.
    plan(entry.of);
    if (entry.of.kind === 'schedule') {
      // A phase change or the start touches the schedule's subscription.
      const sub = entry.of.obj.subscription ? emu.store.get<SubRecord>('subscription', idOf(entry.of.obj.subscription)!) : undefined;
      if (sub) plan({ kind: 'subscription', obj: sub });
    } else if (entry.of.kind === 'subscription') {
      const latest = entry.of.obj.latest_invoice ? emu.store.get<InvoiceRecord>('invoice', idOf(entry.of.obj.latest_invoice)!) : undefined;
      if (latest) plan({ kind: 'invoice', obj: latest });
    } else {
      const sub = subOf(entry.of.obj);
      if (sub) plan({ kind: 'subscription', obj: sub });
    }
    if (entry.of.kind === 'subscription' && entry.of.obj.schedule) {
      const sched = emu.store.get<ScheduleRecord>('subscription_schedule', idOf(entry.of.obj.schedule)!);
      if (sched) plan({ kind: 'schedule', obj: sched });
    }
    const invoicesAfter = emu.store.count('invoice');
    if (invoicesAfter > invoicesBefore) {
      for (const inv of emu.store.all<InvoiceRecord>('invoice').slice(invoicesBefore)) plan({ kind: 'invoice', obj: inv });
    }
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
 * whatever is due (renewals, retries, expiries) runs. A pass looks at every subscription and
 * invoice, so the next one waits at least 20× as long as the last took (with a million objects
 * the passes space out instead of taking the emulator's time; what falls due runs a little later).
 * The timer does not keep the process alive. Returns the function that stops it.
 */
export function startWallClockBilling(emu: Emulator, everyMs = 2000): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (delay: number): void => {
    if (stopped) return;
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  const tick = (): void => {
    const started = performance.now();
    try {
      processDue(emu, null, emu.realNow(), () => {});
    } catch (err) {
      process.emitWarning(`emulator billing: ${(err as Error).message}`);
    }
    schedule(Math.max(everyMs, Math.min(20 * (performance.now() - started), 60_000)));
  };
  schedule(everyMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

