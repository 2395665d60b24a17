/**
 * Billing meters, meter events and meter event summaries.
 *
 * For the billing engine: usage of a customer on a meter over a half-open interval [start, end),
 * aggregated with the meter's formula (sum | count | last), from the stored meter events:
 *
 *   meterUsage(emu: Emulator, q: { meterId?: string; eventName?: string; customer: string; start: number; end: number }): number
 *
 * Give `meterId` (a price's `recurring.meter`) or `eventName`. Events are stored in kind
 * `billing.meter_event` (`MeterEventRecord`), deduplicated by `identifier` within 24 h (a second event
 * with a held identifier is refused with Stripe's 400 "An event already exists with identifier …"),
 * and counted by their `timestamp` (clock time for customers on a test clock).
 */
import type Stripe from 'stripe';
import { createHash } from 'node:crypto';
import type { Emulator } from '../emulator.js';
import { invalidRequest, rateLimited, resourceMissing, StripeError } from '../errors.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { updateWithEvent } from './common.js';

export type MeterRecord = Stripe.Billing.Meter & Stored;
/** A meter event as Stripe returns it, stored under its `identifier` as id. */
export type MeterEventRecord = Stripe.Billing.MeterEvent & Stored;

const FORMULAS = ['sum', 'count', 'last'] as const;
const DEDUP_WINDOW_S = 24 * 3600;
const MAX_PAST_S = 35 * 24 * 3600;
const MAX_FUTURE_S = 5 * 60;

export interface MeterUsageQuery {
  meterId?: string;
  eventName?: string;
  customer: string;
  /** Inclusive, unix seconds. */
  start: number;
  /** Exclusive, unix seconds. */
  end: number;
}

/** The meter named by id, or the active meter with that event name (else any with it). */
export function findMeter(emu: Emulator, q: { meterId?: string; eventName?: string }): MeterRecord | undefined {
  if (q.meterId) return emu.store.get<MeterRecord>('billing.meter', q.meterId);
  const all = emu.store.all<MeterRecord>('billing.meter').filter((m) => m.event_name === q.eventName);
  return all.find((m) => m.status === 'active') ?? all[all.length - 1];
}

/** Aggregated usage of `customer` on a meter in [start, end): see the comment at the top of this file. */
export function meterUsage(emu: Emulator, q: MeterUsageQuery): number {
  const meter = findMeter(emu, q);
  if (!meter) return 0;
  return aggregate(meter, eventsFor(emu, meter, q.customer, q.start, q.end));
}

function eventsFor(emu: Emulator, meter: MeterRecord, customer: string, start: number, end: number): MeterEventRecord[] {
  const key = indexKey(meter.event_name, meter.customer_mapping.event_payload_key, customer);
  return (eventIndex(emu).byKey.get(key) ?? []).filter((e) => e.timestamp >= start && e.timestamp < end);
}

/**
 * Meter events by (event name, payload key, payload value), so usage of one customer does not scan
 * every event (billing asks per item and period). Kept in memory beside the store: rebuilt when the
 * store's count differs (reset, restart), extended on each new event.
 */
interface EventIndex {
  size: number;
  byKey: Map<string, MeterEventRecord[]>;
}
const indexes = new WeakMap<Emulator, EventIndex>();

function indexKey(eventName: string, payloadKey: string, value: string): string {
  return `${eventName}\u0000${payloadKey}\u0000${value}`;
}

function addToIndex(ix: EventIndex, e: MeterEventRecord): void {
  for (const [k, v] of Object.entries(e.payload)) {
    const key = indexKey(e.event_name, k, v);
    const list = ix.byKey.get(key);
    if (list) list.push(e);
    else ix.byKey.set(key, [e]);
  }
}

function eventIndex(emu: Emulator): EventIndex {
  const size = emu.store.count('billing.meter_event');
  let ix = indexes.get(emu);
  if (!ix || ix.size !== size) {
    ix = { size, byKey: new Map() };
    for (const e of emu.store.all<MeterEventRecord>('billing.meter_event')) addToIndex(ix, e);
    indexes.set(emu, ix);
  }
  return ix;
}

function storeMeterEvent(emu: Emulator, event: MeterEventRecord): void {
  const ix = eventIndex(emu);
  emu.store.insert('billing.meter_event', event);
  addToIndex(ix, event);
  ix.size++;
}

function aggregate(meter: MeterRecord, events: MeterEventRecord[]): number {
  const valueKey = meter.value_settings.event_payload_key;
  switch (meter.default_aggregation.formula) {
    case 'count':
      return events.length;
    case 'last': {
      let last: MeterEventRecord | undefined;
      for (const e of events) if (!last || e.timestamp >= last.timestamp) last = e;
      return last ? Number(last.payload[valueKey] ?? 0) : 0;
    }
    default:
      return events.reduce((sum, e) => sum + Number(e.payload[valueKey] ?? 0), 0);
  }
}

/** A meter event as the API shows it (without the storage id). */
function publicEvent(e: MeterEventRecord): Stripe.Billing.MeterEvent {
  const { id: _id, ...rest } = e;
  return rest as Stripe.Billing.MeterEvent;
}

export function registerMeters(router: Router, emu: Emulator): void {
  const limiter = emu.options.meterEventsPerSecond ? new PerSecondLimit(emu.options.meterEventsPerSecond) : null;

  router.post('/v1/billing/meters', ({ params: p }) => {
    const displayName = p.string('display_name', { required: true });
    const eventName = p.string('event_name', { required: true });
    const aggregation = p.object('default_aggregation', { required: true });
    const formula = aggregation.enum('formula', FORMULAS, { required: true });
    const mapping = p.object('customer_mapping');
    const mappingKey = mapping?.string('event_payload_key', { required: true }) ?? 'stripe_customer_id';
    mapping?.enum('type', ['by_id'] as const, { required: true });
    const valueSettings = p.object('value_settings');
    const valueKey = valueSettings?.string('event_payload_key', { required: true }) ?? 'value';
    const window = p.enum('event_time_window', ['day', 'hour'] as const);
    p.done();
    if (eventName.length > 100) throw invalidRequest('event_name must be at most 100 characters.', 'event_name', 'parameter_invalid');
    requireFreeEventName(emu, eventName);
    const now = emu.realNow();
    const meter: MeterRecord = {
      id: newId('mtr_test', 24),
      object: 'billing.meter',
      created: now,
      customer_mapping: { event_payload_key: mappingKey, type: 'by_id' },
      default_aggregation: { formula },
      display_name: displayName,
      event_name: eventName,
      event_time_window: window ?? null,
      livemode: false,
      status: 'active',
      status_transitions: { deactivated_at: null },
      updated: now,
      value_settings: { event_payload_key: valueKey },
    };
    emu.store.insert('billing.meter', meter);
    emu.events.emit('billing.meter.created', meter);
    return meter;
  });

  router.get('/v1/billing/meters/:id', ({ params: p, path }) => {
    p.done();
    return requireMeter(emu, path.id!);
  });

  router.post('/v1/billing/meters/:id', ({ params: p, path }) => {
    const meter = requireMeter(emu, path.id!);
    const displayName = p.string('display_name');
    p.done();
    return updateWithEvent(emu, 'billing.meter.updated', meter, (m) => {
      if (displayName !== undefined && displayName !== m.display_name) {
        m.display_name = displayName;
        m.updated = emu.realNow();
      }
    });
  });

  router.post('/v1/billing/meters/:id/deactivate', ({ params: p, path }) => {
    const meter = requireMeter(emu, path.id!);
    p.done();
    if (meter.status !== 'active') throw invalidRequest('This meter is already inactive.', 'id');
    const now = emu.realNow();
    Object.assign(meter, { status: 'inactive', status_transitions: { deactivated_at: now }, updated: now });
    emu.store.changed();
    emu.events.emit('billing.meter.deactivated', meter);
    return meter;
  });

  router.post('/v1/billing/meters/:id/reactivate', ({ params: p, path }) => {
    const meter = requireMeter(emu, path.id!);
    p.done();
    if (meter.status === 'active') throw invalidRequest('This meter is already active.', 'id');
    requireFreeEventName(emu, meter.event_name);
    Object.assign(meter, { status: 'active', status_transitions: { deactivated_at: null }, updated: emu.realNow() });
    emu.store.changed();
    emu.events.emit('billing.meter.reactivated', meter);
    return meter;
  });

  router.get('/v1/billing/meters', ({ params: p, url }) => {
    const status = p.enum('status', ['active', 'inactive'] as const);
    const list = newestFirst(emu.store.all<MeterRecord>('billing.meter')).filter((m) => !status || m.status === status);
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.post('/v1/billing/meter_events', ({ params: p }) => {
    // The limiter counts requests, as Stripe's does: a refused duplicate or a bad event uses the budget too.
    if (limiter && !limiter.take(Date.now())) {
      throw rateLimited(`Request rate limit exceeded: at most ${emu.options.meterEventsPerSecond} meter events per second.`);
    }
    const eventName = p.string('event_name', { required: true });
    const payloadP = p.object('payload', { required: true });
    const identifier = p.string('identifier');
    const timestampParam = p.int('timestamp', { min: 0 });
    const payload = readPayload(payloadP);
    p.done();
    if (identifier !== undefined && identifier.length > 100) {
      throw invalidRequest('identifier must be at most 100 characters.', 'identifier', 'parameter_invalid');
    }
    const meter = findMeter(emu, { eventName });
    const customerKey = meter?.customer_mapping.event_payload_key ?? 'stripe_customer_id';
    const valueKey = meter?.value_settings.event_payload_key ?? 'value';
    const customer = payload[customerKey];
    if (!customer) throw invalidRequest(`Missing required param: payload[${customerKey}].`, `payload[${customerKey}]`, 'parameter_missing');
    const value = payload[valueKey];
    if (value === undefined && meter && meter.default_aggregation.formula !== 'count') {
      throw invalidRequest(`Missing required param: payload[${valueKey}].`, `payload[${valueKey}]`, 'parameter_missing');
    }
    if (value !== undefined && !/^-?\d+$/.test(value)) {
      throw invalidRequest(`Invalid payload[${valueKey}]: must be a whole number`, `payload[${valueKey}]`, 'parameter_invalid');
    }
    const now = emu.nowFor(customer);
    const timestamp = timestampParam ?? now;
    if (timestamp < now - MAX_PAST_S) {
      throw invalidRequest('timestamp must be within the past 35 days.', 'timestamp', 'parameter_invalid');
    }
    if (timestamp > now + MAX_FUTURE_S) {
      throw invalidRequest('timestamp must not be more than 5 minutes in the future.', 'timestamp', 'parameter_invalid');
    }
    if (identifier !== undefined) {
      const prior = emu.store.get<MeterEventRecord>('billing.meter_event', identifier);
      // Stripe refuses a second event with the same identifier (it does not answer with the first one):
      // 400 invalid_request_error, `Stripe-Should-Retry: false`. A sender that retries after a crash
      // treats this answer as "already delivered".
      if (prior && now - prior.created < DEDUP_WINDOW_S) throw duplicateIdentifier(identifier);
      if (prior) {
        // Outside the window the identifier may be reused: keep the old event under another key
        // (the index keeps pointing at an equal record, so only its count needs no change).
        eventIndex(emu);
        emu.store.delete('billing.meter_event', identifier);
        emu.store.insert('billing.meter_event', { ...prior, id: `${identifier}@${prior.created}` });
      }
    }
    const id = identifier ?? newId('mev', 24);
    const event = {
      id,
      object: 'billing.meter_event',
      created: now,
      event_name: eventName,
      identifier: id,
      livemode: false,
      payload,
      timestamp,
    } as MeterEventRecord;
    storeMeterEvent(emu, event);
    return publicEvent(event);
  });

  router.get('/v1/billing/meters/:id/event_summaries', ({ params: p, path, url }) => {
    const meter = requireMeter(emu, path.id!);
    const customer = p.string('customer', { required: true });
    const start = p.int('start_time', { min: 0, required: true });
    const end = p.int('end_time', { min: 0, required: true });
    const grouping = p.enum('value_grouping_window', ['day', 'hour'] as const);
    if (start % 60 !== 0) throw invalidRequest('start_time must be aligned with minute boundaries.', 'start_time');
    if (end % 60 !== 0) throw invalidRequest('end_time must be aligned with minute boundaries.', 'end_time');
    if (end <= start) throw invalidRequest('end_time must be after start_time.', 'end_time');
    const step = grouping === 'day' ? 86_400 : grouping === 'hour' ? 3600 : end - start;
    if (grouping && start % step !== 0) throw invalidRequest(`start_time must be aligned with ${grouping} boundaries.`, 'start_time');
    if (grouping && end % step !== 0) throw invalidRequest(`end_time must be aligned with ${grouping} boundaries.`, 'end_time');
    if ((end - start) / step > 10_000) throw invalidRequest('The time range holds too many windows; use a coarser value_grouping_window.', 'value_grouping_window');
    const events = eventsFor(emu, meter, customer, start, end);
    const summaries: Stripe.Billing.MeterEventSummary[] = [];
    for (let t = start; t < end; t += step) {
      const windowEnd = Math.min(t + step, end);
      summaries.push({
        id: summaryId(meter.id, customer, t, windowEnd),
        object: 'billing.meter_event_summary',
        aggregated_value: aggregate(
          meter,
          events.filter((e) => e.timestamp >= t && e.timestamp < windowEnd),
        ),
        end_time: windowEnd,
        livemode: false,
        meter: meter.id,
        start_time: t,
      });
    }
    const page = paginate(summaries, p, url);
    p.done();
    return page;
  });
}

/** Stripe's answer to an identifier it already holds (wording as the live API writes it). */
function duplicateIdentifier(identifier: string): StripeError {
  return new StripeError(
    400,
    { type: 'invalid_request_error', message: `An event already exists with identifier ${identifier}.` },
    { 'Stripe-Should-Retry': 'false' },
  );
}

function requireMeter(emu: Emulator, id: string): MeterRecord {
  const meter = emu.store.get<MeterRecord>('billing.meter', id);
  if (!meter) throw resourceMissing('billing.meter', id);
  return meter;
}

function requireFreeEventName(emu: Emulator, eventName: string): void {
  const taken = emu.store.all<MeterRecord>('billing.meter').find((m) => m.status === 'active' && m.event_name === eventName);
  if (taken) {
    throw invalidRequest(`An active meter with event_name \`${eventName}\` already exists (${taken.id}).`, 'event_name', 'resource_already_exists');
  }
}

/** Payload values are strings (Stripe's `payload[key]=value`). */
function readPayload(p: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(p.raw)) out[key] = p.string(key, { required: true });
  return out;
}

function summaryId(meter: string, customer: string, start: number, end: number): string {
  return `mtrusum_${createHash('sha256').update(`${meter}|${customer}|${start}|${end}`).digest('base64url').slice(0, 24)}`;
}

/** A fixed one-second window counter: enough to emulate Stripe's per-second meter event limit. */
class PerSecondLimit {
  private second = 0;
  private used = 0;
  constructor(private readonly perSecond: number) {}
  take(nowMs: number): boolean {
    const s = Math.floor(nowMs / 1000);
    if (s !== this.second) {
      this.second = s;
      this.used = 0;
    }
    if (this.used >= this.perSecond) return false;
    this.used++;
    return true;
  }
}
