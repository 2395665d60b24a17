import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import { mergeMetadata, updateWithEvent } from '../resources/common.js';
import { liveCustomer } from '../resources/customers.js';
import type { Stored } from '../store.js';
import { addIntervals, DAY_SECONDS, type Interval } from './periods.js';
import { idOf, type SubRecord } from './records.js';
import { updateSubscription } from './subscription-update.js';
import { cancelSubscriptionNow } from './subscription-cancel.js';
import { createSubscription } from './subscription-create.js';
import { liveSubscription, requirePrice } from './subscription-lookups.js';

export type ScheduleRecord = Stripe.SubscriptionSchedule & Stored;
type Phase = Stripe.SubscriptionSchedule.Phase;

/** Stripe: `subscription_schedule.expiring` "occurs 7 days before a subscription schedule will expire". */
const EXPIRING_BEFORE = 7 * DAY_SECONDS;
const META = 'billing.schedule_meta';
interface ScheduleMeta extends Stored {
  expiringSentFor?: number;
}

interface PhaseInput {
  items: { price: string; quantity: number; metadata?: Record<string, string> }[];
  startDate?: number | 'now';
  endDate?: number | 'now';
  /** Deprecated by Stripe in favour of `duration`, still sent by older integrations (and `stripe trigger`). */
  iterations?: number;
  duration?: { interval: Interval; count: number };
  metadata?: Record<string, string>;
  prorationBehavior?: Stripe.SubscriptionSchedule.Phase.ProrationBehavior;
}

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

function readPhases(p: Params): PhaseInput[] | undefined {
  return p.objects('phases')?.map((ph) => {
    const items = ph.objects('items', { required: true })!.map((it) => {
      const price = it.string('price') ?? it.string('plan', { required: true });
      const metadata = it.metadata();
      return { price, quantity: it.int('quantity', { min: 0 }) ?? 1, ...(metadata ? { metadata: metadata as Record<string, string> } : {}) };
    });
    const d = ph.object('duration');
    const duration = d ? { interval: d.enum('interval', INTERVALS, { required: true })!, count: d.int('interval_count', { min: 1 }) ?? 1 } : undefined;
    const startDate = ph.timestamp('start_date', ['now'] as const);
    const endDate = ph.timestamp('end_date', ['now'] as const);
    const iterations = ph.int('iterations', { min: 1 });
    const metadata = ph.metadata();
    const prorationBehavior = ph.enum('proration_behavior', ['always_invoice', 'create_prorations', 'none'] as const);
    return {
      items,
      ...(startDate !== undefined ? { startDate } : {}),
      ...(endDate !== undefined ? { endDate } : {}),
      ...(iterations !== undefined ? { iterations } : {}),
      ...(duration ? { duration } : {}),
      ...(metadata ? { metadata: metadata as Record<string, string> } : {}),
      ...(prorationBehavior ? { prorationBehavior } : {}),
    };
  });
}

/** Phases back to back from `start`; a phase lasts until `end_date`, else `duration`, else `iterations` (default 1) of its first price's interval. */
function buildPhases(emu: Emulator, inputs: PhaseInput[], start: number, now: number): Phase[] {
  if (inputs.length === 0) throw invalidRequest('Missing required param: phases.', 'phases', 'parameter_missing');
  let at = start;
  return inputs.map((ph, i) => {
    const param = `phases[${i}]`;
    if ([ph.endDate, ph.duration, ph.iterations].filter((v) => v !== undefined).length > 1) {
      throw invalidRequest('You may only specify one of these parameters: end_date, duration, iterations.', `${param}[end_date]`);
    }
    const prices = ph.items.map((it, j) => requirePrice(emu, it.price, `${param}[items][${j}][price]`));
    const first = prices[0];
    if (!first) throw invalidRequest('Missing required param: items.', `${param}[items]`, 'parameter_missing');
    const interval = first.recurring!.interval as Interval;
    const count = first.recurring!.interval_count ?? 1;
    const end =
      ph.endDate !== undefined
        ? ph.endDate === 'now'
          ? now
          : ph.endDate
        : ph.duration
          ? addIntervals(at, ph.duration.interval, ph.duration.count)
          : addIntervals(at, interval, count * (ph.iterations ?? 1));
    if (end <= at) throw invalidRequest('The end_date of a phase must be after its start_date.', `${param}[end_date]`);
    const phase: Phase = {
      add_invoice_items: [],
      application_fee_percent: null,
      billing_cycle_anchor: null,
      billing_thresholds: null,
      collection_method: null,
      currency: first.currency,
      default_payment_method: null,
      default_tax_rates: [],
      description: null,
      discounts: [],
      end_date: end,
      invoice_settings: null,
      items: ph.items.map((it, j) => ({
        billing_thresholds: null,
        discounts: [],
        metadata: it.metadata ?? {},
        plan: prices[j]!.id,
        price: prices[j]!.id,
        quantity: it.quantity,
        tax_rates: [],
      })),
      metadata: ph.metadata ?? {},
      on_behalf_of: null,
      proration_behavior: ph.prorationBehavior ?? 'create_prorations',
      start_date: at,
      transfer_data: null,
      trial_end: null,
    };
    at = end;
    return phase;
  });
}

function phaseAt(s: ScheduleRecord, t: number): Phase | undefined {
  return s.phases.find((ph) => ph.start_date <= t && t < ph.end_date);
}

function phaseItems(ph: Phase): { price: string; quantity: number }[] {
  return ph.items.map((it) => ({ price: idOf(it.price)!, quantity: it.quantity ?? 1 }));
}

/** Starts a schedule's subscription with its first phase's items. */
function startSchedule(emu: Emulator, s: ScheduleRecord): void {
  const first = s.phases[0]!;
  const sub = createSubscription(emu, { customer: idOf(s.customer)!, items: phaseItems(first), schedule: s.id });
  s.status = 'active';
  s.subscription = sub.id;
  s.current_phase = { start_date: first.start_date, end_date: first.end_date };
  emu.store.changed();
}

/** The subscription takes the items of the phase that begins now (no proration: phases change at their boundaries). */
function enterPhase(emu: Emulator, s: ScheduleRecord, sub: SubRecord, ph: Phase): void {
  const wanted = phaseItems(ph);
  const current = sub.items.data.map((it) => ({ price: it.price.id, quantity: it.quantity ?? 1 }));
  if (JSON.stringify(wanted) !== JSON.stringify(current)) {
    updateSubscription(emu, sub, {
      items: [...sub.items.data.map((it) => ({ id: it.id, deleted: true })), ...wanted],
      prorationBehavior: 'none',
    });
  }
  s.current_phase = { start_date: ph.start_date, end_date: ph.end_date };
}

/** The last phase is over: `release` leaves the subscription running, `cancel` cancels it. */
function completeSchedule(emu: Emulator, s: ScheduleRecord, at: number): void {
  const sub = s.subscription ? emu.store.get<SubRecord>('subscription', idOf(s.subscription)!) : undefined;
  if (sub && s.end_behavior === 'cancel' && sub.status !== 'canceled') cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested' });
  if (sub && s.end_behavior === 'release') detach(emu, sub);
  s.status = 'completed';
  s.completed_at = at;
  s.current_phase = null;
  if (s.end_behavior === 'release') {
    s.released_subscription = s.subscription as string | null;
    s.subscription = null;
  }
  emu.store.changed();
  emu.events.emit('subscription_schedule.completed', s);
}

function detach(emu: Emulator, sub: SubRecord): void {
  if (!sub.schedule) return;
  updateWithEvent(emu, 'customer.subscription.updated', sub, (x) => {
    x.schedule = null;
  });
}

/** What falls due for a schedule on its clock: its start, each phase end, `expiring` a week before the end. */
export function scheduleDues(emu: Emulator, s: ScheduleRecord): { at: number; rank: number; key: string; run: () => void }[] {
  const last = s.phases[s.phases.length - 1];
  if (!last) return [];
  const out: { at: number; rank: number; key: string; run: () => void }[] = [];
  if (s.status === 'not_started') {
    const start = s.phases[0]!.start_date;
    out.push({
      at: start,
      rank: 2.5,
      key: `schedule_start:${s.id}`,
      run: () => updateWithEvent(emu, 'subscription_schedule.updated', s, () => startSchedule(emu, s)),
    });
  }
  if (s.status === 'active' && s.current_phase) {
    const end = s.current_phase.end_date;
    out.push({
      at: end,
      rank: 2.5,
      key: `schedule_phase:${s.id}`,
      run: () => {
        const next = phaseAt(s, end);
        const sub = emu.store.get<SubRecord>('subscription', idOf(s.subscription)!);
        if (next && sub && sub.status !== 'canceled') updateWithEvent(emu, 'subscription_schedule.updated', s, () => enterPhase(emu, s, sub, next));
        else completeSchedule(emu, s, end);
      },
    });
  }
  if ((s.status === 'active' || s.status === 'not_started') && emu.store.get<ScheduleMeta>(META, s.id)?.expiringSentFor !== last.end_date) {
    const at = last.end_date - EXPIRING_BEFORE;
    if (at > s.created) {
      out.push({
        at,
        rank: 0,
        key: `schedule_expiring:${s.id}`,
        run: () => {
          emu.store.insert<ScheduleMeta>(META, { id: s.id, expiringSentFor: last.end_date });
          emu.events.emit('subscription_schedule.expiring', s);
        },
      });
    }
  }
  return out;
}

function liveSchedule(emu: Emulator, id: string): ScheduleRecord {
  return emu.store.require<ScheduleRecord>('subscription_schedule', id, 'subscription_schedule');
}

function requireStatus(s: ScheduleRecord, action: string): void {
  if (s.status !== 'active' && s.status !== 'not_started') {
    throw invalidRequest(`You cannot ${action} a subscription schedule that is currently in the \`${s.status}\` status. It must be in one of the following statuses: \`active\`, \`not_started\`.`);
  }
}

export function registerScheduleRoutes(router: Router, emu: Emulator): void {
  router.post('/v1/subscription_schedules', ({ params: p }) => {
    const customerId = p.string('customer');
    const fromSub = p.string('from_subscription');
    const startDate = p.timestamp('start_date', ['now'] as const);
    const endBehavior = p.enum('end_behavior', ['release', 'cancel'] as const);
    const metadata = p.metadata();
    const phases = readPhases(p);
    p.done();
    if (fromSub && (customerId || phases || startDate !== undefined)) {
      throw invalidRequest('You cannot set `customer`, `phases` or `start_date` when `from_subscription` is set.', 'from_subscription');
    }
    if (!fromSub && !customerId) throw invalidRequest('Missing required param: customer.', 'customer', 'parameter_missing');
    const sub = fromSub ? liveSubscription(emu, fromSub, 'from_subscription') : undefined;
    if (sub?.schedule) throw invalidRequest(`The subscription \`${sub.id}\` is already attached to a schedule.`, 'from_subscription');
    const customer = liveCustomer(emu, sub ? idOf(sub.customer)! : customerId!, 'customer');
    const now = emu.nowFor(customer);
    let built: Phase[];
    if (sub) {
      const item = sub.items.data[0]!;
      built = buildPhases(emu, [{ items: sub.items.data.map((it) => ({ price: it.price.id, quantity: it.quantity ?? 1 })), endDate: item.current_period_end }], item.current_period_start, now);
    } else {
      if (!phases) throw invalidRequest('Missing required param: phases.', 'phases', 'parameter_missing');
      const start = startDate === undefined || startDate === 'now' ? now : startDate;
      built = buildPhases(emu, phases, start, now);
    }
    const s: ScheduleRecord = {
      id: newId('sub_sched', 24),
      object: 'subscription_schedule',
      application: null,
      billing_mode: { flexible: null, type: 'flexible', updated_at: now },
      canceled_at: null,
      completed_at: null,
      created: now,
      current_phase: null,
      customer: customer.id,
      customer_account: null,
      default_settings: {
        application_fee_percent: null,
        billing_cycle_anchor: 'automatic',
        billing_thresholds: null,
        collection_method: 'charge_automatically',
        default_payment_method: null,
        description: null,
        invoice_settings: { account_tax_ids: null, custom_fields: null, days_until_due: null, description: null, footer: null, issuer: { type: 'self' } },
        on_behalf_of: null,
        transfer_data: null,
      },
      end_behavior: endBehavior ?? 'release',
      livemode: false,
      metadata: mergeMetadata({}, metadata),
      pause_schedules: [],
      phases: built,
      released_at: null,
      released_subscription: null,
      status: 'not_started',
      subscription: null,
      test_clock: customer.test_clock ?? null,
    };
    emu.store.insert('subscription_schedule', s);
    if (sub) {
      s.status = 'active';
      s.subscription = sub.id;
      s.current_phase = { start_date: built[0]!.start_date, end_date: built[0]!.end_date };
      updateWithEvent(emu, 'customer.subscription.updated', sub, (x) => {
        x.schedule = s.id;
      });
    } else if (built[0]!.start_date <= now) {
      startSchedule(emu, s);
    }
    emu.events.emit('subscription_schedule.created', s);
    return s;
  });

  router.get('/v1/subscription_schedules/:id', ({ params: p, path }) => {
    p.done();
    return liveSchedule(emu, path.id!);
  });

  router.post('/v1/subscription_schedules/:id', ({ params: p, path }) => {
    const s = liveSchedule(emu, path.id!);
    const endBehavior = p.enum('end_behavior', ['release', 'cancel'] as const);
    const metadata = p.metadata();
    const phases = readPhases(p);
    p.enum('proration_behavior', ['always_invoice', 'create_prorations', 'none'] as const);
    p.done();
    requireStatus(s, 'update');
    const now = emu.nowFor(s);
    let built: Phase[] | undefined;
    if (phases) {
      const first = phases[0]?.startDate;
      const start = first === undefined ? (s.phases[0]?.start_date ?? now) : first === 'now' ? now : first;
      built = buildPhases(emu, phases, start, now);
    }
    return updateWithEvent(emu, 'subscription_schedule.updated', s, (x) => {
      if (endBehavior) x.end_behavior = endBehavior;
      x.metadata = mergeMetadata((x.metadata ?? {}) as Record<string, string>, metadata);
      if (!built) return;
      x.phases = built;
      const sub = x.subscription ? emu.store.get<SubRecord>('subscription', idOf(x.subscription)!) : undefined;
      const current = phaseAt(x, now);
      if (sub && current) enterPhase(emu, x, sub, current);
    });
  });

  router.get('/v1/subscription_schedules', ({ params: p, url }) => {
    const customer = p.string('customer');
    const created = createdFilter(p);
    const scheduled = p.bool('scheduled');
    const list = newestFirst(emu.store.all<ScheduleRecord>('subscription_schedule')).filter(
      (s) =>
        (customer === undefined || idOf(s.customer) === customer) &&
        (scheduled === undefined || (s.status === 'not_started') === scheduled) &&
        (!created || created(s.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.post('/v1/subscription_schedules/:id/cancel', ({ params: p, path }) => {
    const s = liveSchedule(emu, path.id!);
    const invoiceNow = p.bool('invoice_now');
    const prorate = p.bool('prorate');
    p.done();
    requireStatus(s, 'cancel');
    const started = s.status === 'active';
    const sub = s.subscription ? emu.store.get<SubRecord>('subscription', idOf(s.subscription)!) : undefined;
    if (sub && sub.status !== 'canceled') {
      cancelSubscriptionNow(emu, sub, { reason: 'cancellation_requested', ...(invoiceNow ? { invoiceNow } : {}), ...(prorate ? { prorate } : {}) });
    }
    s.status = 'canceled';
    s.canceled_at = emu.nowFor(s);
    s.current_phase = null;
    emu.store.changed();
    // A schedule canceled before it started never ran: Stripe reports it as aborted (what `stripe trigger subscription_schedule.aborted` does).
    emu.events.emit(started ? 'subscription_schedule.canceled' : 'subscription_schedule.aborted', s);
    return s;
  });

  router.post('/v1/subscription_schedules/:id/release', ({ params: p, path }) => {
    const s = liveSchedule(emu, path.id!);
    p.bool('preserve_cancel_date');
    p.done();
    requireStatus(s, 'release');
    const sub = s.subscription ? emu.store.get<SubRecord>('subscription', idOf(s.subscription)!) : undefined;
    if (sub) detach(emu, sub);
    s.status = 'released';
    s.released_at = emu.nowFor(s);
    s.released_subscription = sub?.id ?? null;
    s.subscription = null;
    s.current_phase = null;
    emu.store.changed();
    emu.events.emit('subscription_schedule.released', s);
    return s;
  });
}
