/**
 * Turns each processed Stripe event into the schema's BillingEvents: stored once in `billing_events`
 * (stable ids, `on conflict do nothing`), one log line each, and published on the bus only after the
 * surrounding transaction commits. After events that may change subscriptions it reads MRR from the
 * incrementally kept totals (src/billing/metrics/mrr-totals.ts: no recount per event), and
 * records MRR_UPDATED when a currency's MRR changed and MILESTONE_REACHED when it reached a threshold
 * of MRR_MILESTONES for the first time (the `milestones` primary key makes that once, across restarts
 * and replicas).
 *
 * The seam with the webhook worker: call `afterEvent(tx, event)` inside the worker's transaction, after
 * the mirror is updated, with the transaction's EntityManager (the `tx` of `em.transactional(tx => …)`).
 * Publishing is hooked to that transaction's commit (src/db/after-commit.ts) and dropped on
 * rollback. Called outside a transaction, it opens its own and publishes after it commits.
 */
import type { EntityManager } from '@mikro-orm/core';
import { Counter } from 'prom-client';
import type Stripe from 'stripe';
import { mrrOf } from '../metrics/current-mrr.js';
import { ACTIVE_TOTALS_SQL, COMPACT_AFTER_ROWS, compactMrrTotals, mrrTotalsOf, readMrrTotals, type ActiveTotalRow } from '../metrics/mrr-totals.js';
import { movementKindOf, movementKindsOf, type MovementKindAsk } from '../metrics/revenue.js';
import { mrrReportOf } from '../metrics/mrr-report.js';
import { queryRows } from '../../db/sql.js';
import type { Config } from '../../config.js';
import { afterCommit } from '../../db/after-commit.js';
import type { BillingEventTypeValue } from '../../db/entities/billing-event.js';
import type { MrrMovementKind } from '../../db/entities/revenue.js';
import { metricsRegistry } from '../../metrics.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { minorUnitDigits } from '../../money.js';
import type { AfterEventHook } from '../../stripe/webhooks/after-event.js';
import type { HandleResult } from '../../stripe/sync/handlers.js';
import type { SignalBus } from '../../events/bus.js';
import { billingEventId, currencyOf, deriveSignals, mayChangeMrr, type SignalDraft } from './derive.js';
import { flushMirrorRows, mirrorBatch, type MirrorBatch } from '../../stripe/mirror/batch.js';
import { idOf } from '../../stripe/mirror/common.js';
import { addExact, fraction, roundHalfUp, ZERO, type Fraction } from '../../mrr/index.js';
import { signalMessage } from './messages.js';
import { TOPICS, type BillingEventPayload, type MilestonePayload, type MrrReportPayload } from '../../events/topics.js';

export interface SignalsDeps {
  bus: SignalBus;
  config: Pick<Config, 'mrrMilestones'>;
  log?: Logger;
}

export interface Signals {
  /**
   * Derive, store and (after commit) publish the signals of one processed Stripe event. Run it inside
   * the transaction that updated the mirror, with that transaction's `em`. Idempotent: a redelivered
   * event stores and publishes nothing new.
   */
  afterEvent: AfterEventHook;
  /**
   * Store and (after commit) publish signals that no Stripe event carries (dunning steps), by the same
   * rules: stable ids from their dedup keys, stored once, one log line each. Inside a batch of the
   * webhook worker they join it, so they keep their order with the batch's other signals.
   */
  record(em: EntityManager, drafts: SignalDraft[]): Promise<void>;
}

/** The MRR a currency's last MRR_UPDATED reported (no row: none yet). */
const LAST_REPORTED_MRR_SQL = `select amount from billing_events where type = 'MRR_UPDATED' and currency = ? order by created_at desc limit 1`;

/** Serialises MRR steps across workers and replicas (a transaction-level advisory lock). */
const MRR_LOCK_KEY = 0x6d72725f; // "mrr_"

const signalsTotal = new Counter({
  name: 'billing_signals_total',
  help: 'Billing events derived from Stripe events, by type',
  labelNames: ['type'] as const,
  registers: [metricsRegistry],
});

type Publish = () => void;

interface StoredSignal extends SignalDraft {
  id: string;
  message: string;
  sourceEventId: string | null;
}

/** A threshold of MRR_MILESTONES (major units) in minor units of `currency` ($10,000 → 1000000 cents, ¥10,000 → 10000). */
export function thresholdMinor(major: number, currency: string): number {
  return Math.round(major * 10 ** minorUnitDigits(currency));
}

export function createSignals(deps: SignalsDeps): Signals {
  const log = (deps.log ?? rootLogger).child({ module: 'signals' });
  const { bus } = deps;
  /** Runs publishes in order; the signals are stored, so a lost live delivery must not fail anything. */
  const publishAll = (publishes: Publish[]): void => {
    for (const publish of publishes) {
      try {
        publish();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'publishing a signal failed');
      }
    }
  };

  /** Publishes after the transaction behind `em` commits (dropped if it, or the savepoint, rolls back). */
  const enqueue = (em: EntityManager, publishes: Publish[]): void => {
    if (publishes.length === 0) return;
    afterCommit(em, () => publishAll(publishes));
  };

  /**
   * Inserts the signals; returns those that were new (a conflict means it was stored before) and the
   * owners (externalId) of their customers, read in the same statement (one round trip fewer per batch).
   */
  async function store(em: EntityManager, signals: StoredSignal[]): Promise<{ fresh: Set<string>; owners: Map<string, string | null> }> {
    if (signals.length === 0) return { fresh: new Set(), owners: new Map() };
    const values: unknown[] = [];
    const rows = signals.map((s, i) => {
      values.push(s.id, s.type, s.occurredAt, s.customerId, s.subscriptionId, s.invoiceId, s.amount, s.currency, s.message, JSON.stringify(s.data), s.sourceEventId, i);
      // clock_timestamp(), not now(): the order of rows must follow the (serialised) MRR steps, not transaction starts.
      // Plus the row's position: rows of one statement (a batch) could share a microsecond, and readers order by it.
      return "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, clock_timestamp() + ? * interval '1 microsecond')";
    });
    const inserted = await queryRows<{ id: string; customer_id: string | null; external_id: string | null }>(
      em,
      `insert into billing_events (id, type, occurred_at, customer_id, subscription_id, invoice_id, amount, currency, message, data, source_event_id, created_at)
       values ${rows.join(', ')} on conflict do nothing
       returning id, customer_id, (select c.external_id from customers c where c.id = billing_events.customer_id) as external_id`,
      values,
    );
    const owners = new Map<string, string | null>();
    for (const r of inserted) if (r.customer_id) owners.set(r.customer_id, r.external_id);
    return { fresh: new Set(inserted.map((r) => r.id)), owners };
  }

  async function previousMrr(em: EntityManager, currency: string): Promise<number> {
    const rows = await queryRows<{ amount: string | number }>(em, LAST_REPORTED_MRR_SQL, [currency]);
    return rows.length ? Number(rows[0]!.amount) : 0;
  }

  /** Thresholds (minor units) reached for the first time: inserted now, so exactly one caller ever gets each. */
  async function claimMilestones(em: EntityManager, currency: string, mrr: number, reachedAt: Date): Promise<number[]> {
    const thresholds = [...new Set(deps.config.mrrMilestones.map((m) => thresholdMinor(m, currency)))].filter((t) => t > 0 && t <= mrr);
    if (thresholds.length === 0) return [];
    const values = thresholds.flatMap((t) => [currency, t, mrr, reachedAt]);
    const rows = await queryRows<{ threshold: string | number }>(
      em,
      `insert into milestones (currency, threshold, mrr_amount, reached_at) values ${thresholds.map(() => '(?, ?, ?, ?)').join(', ')}
       on conflict do nothing returning threshold`,
      values,
    );
    return rows.map((r) => Number(r.threshold)).sort((a, b) => a - b);
  }

  /** A subscription payload whose price arrived as a bare id names no plan: the mirror row (written just before) does. */
  async function fillPlans(em: EntityManager, drafts: SignalDraft[]): Promise<void> {
    for (const d of drafts) {
      if (d.subscriptionId && 'plan' in d.data && !d.data.plan) {
        // The row may still be kept for the batch's statement (src/stripe/mirror/batch.ts).
        await flushMirrorRows(em);
        const rows = await queryRows<{ plan_id: string | null }>(em, 'select plan_id from subscriptions where id = ?', [d.subscriptionId]);
        d.data.plan = rows[0]?.plan_id ?? null;
      }
    }
  }

  /**
   * What one batch's MRR steps remember: the MRR reported last per currency, whether the MRR lock is
   * held, and the MRR each currency's last step read (`read`), valid while no subscription row of the
   * batch has been written since (subscription events step their own currency right after their write).
   */
  interface BatchMrr {
    reported: Map<string, number>;
    locked: boolean;
    read: Map<string, number>;
    /**
     * The mirror batch the events' writes are recorded in (src/stripe/mirror/batch.ts), when there is
     * one: then the MRR steps are taken at the batch's end from its recorded deltas (`stepsFromDeltas`).
     */
    mirror?: MirrorBatch;
    /**
     * Steps to take at the end: the event's derived entry, its currency, how many deltas were recorded
     * before it, and the kind of movement read right after the event when its writes changed the
     * currency's MRR (`kind`, for a change of sign `kindFor`): what the movements said at that point.
     */
    steps: Step[];
    /** Per currency, how many deltas were recorded at its last step. */
    stepped: Map<string, number>;
    /**
     * Steps whose movement kind is still to be read (`resolveKinds`): at the batch's end in one statement,
     * or earlier, before a write that changes the movements of one of their customers (`pendingCustomers`),
     * so each still reads the history as it was right after its event.
     */
    pending: { step: Step; ask: MovementKindAsk }[];
    pendingCustomers: Set<string>;
  }

  interface Step {
    derived: Derived;
    currency: string;
    deltas: number;
    kind?: MrrMovementKind;
    kindFor?: number;
  }

  /** Reads the movement kinds the batch's steps asked for so far, in one statement. */
  async function resolveKinds(em: EntityManager, batch: BatchMrr): Promise<void> {
    if (batch.pending.length === 0) return;
    const pending = batch.pending;
    batch.pending = [];
    batch.pendingCustomers.clear();
    const kinds = await movementKindsOf(em, pending.map((p) => p.ask));
    pending.forEach((p, i) => (p.step.kind = kinds[i]));
  }

  /** One event's signals before storing: what `finish` stores and publishes. */
  interface Derived {
    /** Null for recorded signals (no Stripe event). */
    event: Stripe.Event | null;
    signals: StoredSignal[];
    report?: MrrReportPayload;
    milestones: MilestonePayload[];
  }

  /**
   * Derives one event's signals and takes its MRR step. `batch` (several events in one transaction,
   * stored together by `finish`): the MRR reported last in this batch, per currency, since those
   * MRR_UPDATED rows are not stored yet, and whether its transaction holds the MRR lock already.
   */
  async function derive(em: EntityManager, event: Stripe.Event, batch?: BatchMrr, handled?: HandleResult): Promise<Derived> {
    const drafts = deriveSignals(event);
    await fillPlans(em, drafts);
    let report: MrrReportPayload | undefined;
    const milestones: MilestonePayload[] = [];

    const currency = mayChangeMrr(event.type) ? currencyOf(event) : null;
    if (batch?.mirror) {
      // The step is taken at the batch's end, from the deltas recorded up to this event.
      const derived: Derived = { event, signals: toStored(event, drafts), milestones: [] };
      if (currency) {
        const deltas = batch.mirror.mrrDeltas;
        let change: Fraction = ZERO;
        for (let i = batch.stepped.get(currency) ?? 0; i < deltas.length; i++) if (deltas[i]!.currency === currency) change = addExact(change, deltas[i]!.exact);
        batch.stepped.set(currency, deltas.length);
        const step: Step = { derived, currency, deltas: deltas.length };
        batch.steps.push(step);
        if (change.numerator !== 0n) {
          // The movement's kind as of this event (later same-second writes rewrite the movements at its
          // time): read with the batch's other steps' at its end, or before this customer's next write.
          const sign = change.numerator < 0n ? -1 : 1;
          const ask: MovementKindAsk = { customer: idOf((event.data.object as { customer?: unknown }).customer), currency, at: new Date(event.created * 1000), change: sign };
          step.kindFor = sign;
          batch.pending.push({ step, ask });
          if (ask.customer !== null) batch.pendingCustomers.add(ask.customer);
        }
      }
      return derived;
    }
    const subscriptionEvent = event.type.startsWith('customer.subscription.');
    if (batch && !(currency && subscriptionEvent) && mayHaveWrittenSubscription(handled)) batch.read.clear();
    // A subscription copy the mirror skipped changed no row: when this batch's last step for the currency
    // came after its last subscription write, the totals are what that step read, so after = before and
    // there is nothing to report (the statement that reads them is saved). Another transaction's write
    // that does not step (a mutation's write-through) is reported by the next step, as between any two events.
    const unchanged = currency !== null && subscriptionEvent && handled?.action === 'skipped' && batch?.read.has(currency) === true;
    if (currency && !unchanged) {
      // Held until the transaction ends: once per batch is enough.
      if (!batch?.locked) await queryRows(em, 'select pg_advisory_xact_lock(?)', [MRR_LOCK_KEY]);
      if (batch) batch.locked = true;
      const before = batch?.reported.get(currency) ?? (await previousMrr(em, currency));
      const totals = await readMrrTotals(em);
      // Under the MRR lock, so compactions never run side by side.
      if (totals.rows > COMPACT_AFTER_ROWS) await compactMrrTotals(em);
      const { snapshot } = totals;
      const after = mrrOf(snapshot, currency);
      if (batch) {
        if (subscriptionEvent) batch.read.set(currency, after);
        else batch.read.clear();
      }
      const now = snapshot.asOf;
      if (after !== before) {
        batch?.reported.set(currency, after);
        report = mrrReportOf(snapshot, totals.movements);
        drafts.push(mrrUpdatedDraft(event.id, currency, before, after, now, await movementKindOf(em, event, currency, after - before)));
      }
      if (after > before) {
        for (const threshold of await claimMilestones(em, currency, after, now)) {
          milestones.push({ threshold: { amount: threshold, currency }, mrr: { amount: after, currency }, reachedAt: now.toISOString() });
          drafts.push(milestoneDraft(currency, threshold, after, now, event.id));
        }
      }
    }

    return { event, signals: toStored(event, drafts), report, milestones };
  }

  /** A milestone belongs to no Stripe event (one event can cross several thresholds; the id is unique anyway). */
  const toStored = (event: Stripe.Event, drafts: SignalDraft[]): StoredSignal[] =>
    drafts.map((d) => ({
      ...d,
      id: billingEventId(d.dedupKey),
      message: signalMessage(d),
      sourceEventId: d.type === 'MILESTONE_REACHED' ? null : event.id,
    }));

  /**
   * The batch's MRR steps, taken at its end under the MRR lock (held from here to the commit, not for
   * the whole batch, so batches of other loops and replicas run side by side until their own end).
   * One read of the exact 'active' totals gives each currency's MRR after the batch (its own writes
   * included, and every batch committed before the lock); the MRR after step k is that, less the
   * deltas the batch recorded after step k (src/stripe/mirror/batch.ts: what each subscription write
   * added, as the totals' trigger adds it). So each event still reports the change its writes made,
   * in order, with one statement per batch instead of a read of the totals per subscription event.
   */
  async function stepsFromDeltas(em: EntityManager, batch: BatchMrr): Promise<void> {
    if (batch.steps.length === 0 || !batch.mirror) return;
    await resolveKinds(em, batch);
    await queryRows(em, 'select pg_advisory_xact_lock(?)', [MRR_LOCK_KEY]);
    batch.locked = true;
    // One statement under the lock: the 'active' totals, the MRR each step currency last reported (not
    // reported in this batch yet), and the milestones already reached.
    const unreported = [...new Set(batch.steps.map((s) => s.currency))].filter((c) => !batch.reported.has(c));
    const rows = await queryRows<ActiveTotalRow & { part: 'total' | 'previous' | 'milestone' }>(
      em,
      [
        `select 'total' as part, t.* from (${ACTIVE_TOTALS_SQL}) t`,
        ...unreported.map(
          () => `select 'previous', ?::text, null, null, (${LAST_REPORTED_MRR_SQL})::text, null, null`,
        ),
        `select 'milestone', currency, null, null, threshold::text, null, null from milestones`,
      ].join(' union all '),
      unreported.flatMap((c) => [c, c]),
    );
    const totalRows: ActiveTotalRow[] = [];
    const total = new Map<string, { exact: Fraction; subscriptions: number }>();
    const claimed = new Map<string, Set<number>>();
    let read = 0;
    for (const r of rows) {
      if (r.part === 'previous') batch.reported.set(r.currency, r.numerator === null ? 0 : Number(r.numerator));
      else if (r.part === 'milestone') claimed.set(r.currency, (claimed.get(r.currency) ?? new Set()).add(Number(r.numerator)));
      else {
        totalRows.push(r);
        read += Number(r.r);
        const t = total.get(r.currency) ?? { exact: ZERO, subscriptions: 0 };
        total.set(r.currency, { exact: addExact(t.exact, fraction(BigInt(r.numerator), BigInt(r.denominator))), subscriptions: t.subscriptions + Number(r.n) });
      }
    }
    // Under the MRR lock, so compactions never run side by side.
    if (read > COMPACT_AFTER_ROWS) await compactMrrTotals(em);
    // Walking back from the end: the MRR after each step is the total less the deltas recorded after it.
    const deltas = batch.mirror.mrrDeltas;
    const after: number[] = new Array<number>(batch.steps.length);
    const running = new Map(total);
    let next = deltas.length;
    for (let k = batch.steps.length - 1; k >= 0; k--) {
      const step = batch.steps[k]!;
      for (; next > step.deltas; next--) {
        const d = deltas[next - 1]!;
        const t = running.get(d.currency) ?? { exact: ZERO, subscriptions: 0 };
        running.set(d.currency, { exact: addExact(t.exact, fraction(-d.exact.numerator, d.exact.denominator)), subscriptions: t.subscriptions - d.subscriptions });
      }
      const t = running.get(step.currency);
      // As the totals' reader counts it: a currency without counting subscriptions has no MRR.
      after[k] = t && t.subscriptions > 0 ? roundHalfUp(t.exact) : 0;
    }
    const now = new Date();
    let last: { derived: Derived } | undefined;
    const unclaimedBelow = (currency: string, mrr: number): boolean => {
      if (!claimed.has(currency)) claimed.set(currency, new Set());
      const have = claimed.get(currency)!;
      return deps.config.mrrMilestones.some((m) => {
        const t = thresholdMinor(m, currency);
        return t > 0 && t <= mrr && !have.has(t);
      });
    };
    for (let k = 0; k < batch.steps.length; k++) {
      const { derived, currency, kind, kindFor } = batch.steps[k]!;
      const event = derived.event!;
      // Every step's currency was read above, with the totals.
      const before = batch.reported.get(currency)!;
      const value = after[k]!;
      const drafts: SignalDraft[] = [];
      if (value !== before) {
        batch.reported.set(currency, value);
        const movement = kind && Math.sign(value - before) === kindFor ? kind : await movementKindOf(em, event, currency, value - before);
        drafts.push(mrrUpdatedDraft(event.id, currency, before, value, now, movement));
        last = { derived };
      }
      // Thresholds already reached (read once per batch) need no insert: most increases cross none.
      if (value > before && unclaimedBelow(currency, value)) {
        // Every threshold up to `value` is taken once this returns (by this batch or before it).
        for (const m of deps.config.mrrMilestones) if (thresholdMinor(m, currency) <= value) claimed.get(currency)?.add(thresholdMinor(m, currency));
        for (const threshold of await claimMilestones(em, currency, value, now)) {
          derived.milestones.push({ threshold: { amount: threshold, currency }, mrr: { amount: value, currency }, reachedAt: now.toISOString() });
          drafts.push(milestoneDraft(currency, threshold, value, now, event.id));
        }
      }
      derived.signals.push(...toStored(event, drafts));
    }
    // The report as of the batch's end goes with its last MRR_UPDATED: all of them are published at once,
    // after the commit, when the earlier states are already past.
    if (last) {
      // The totals read above: nothing in the batch has written them since (compaction keeps their sums).
      const totals = await mrrTotalsOf(em, totalRows);
      last.derived.report = mrrReportOf(totals.snapshot, totals.movements);
    }
  }

  /** Stores the signals of one or more events in one statement and returns their publishes, in order. */
  async function finish(em: EntityManager, derived: Derived[]): Promise<Publish[]> {
    const all = derived.flatMap((d) => d.signals);
    const { fresh, owners } = await store(em, all);
    const publishes: Publish[] = [];
    const done = new Set<string>();
    for (const { event, signals, report, milestones } of derived) {
      for (const s of signals) {
        // Two events of one batch may name the same signal (invoice.paid and invoice.payment_succeeded).
        if (!fresh.has(s.id) || done.has(s.id)) continue;
        done.add(s.id);
        signalsTotal.inc({ type: s.type });
        log.info({ signal: s.type.toLowerCase(), billingEventId: s.id, stripeEventId: event?.id }, s.message);
        const payload: BillingEventPayload = {
          id: s.id,
          type: s.type as BillingEventTypeValue,
          occurredAt: s.occurredAt.toISOString(),
          customerId: s.customerId,
          customerExternalId: s.customerId ? (owners.get(s.customerId) ?? null) : null,
          subscriptionId: s.subscriptionId,
          invoiceId: s.invoiceId,
          amount: s.amount !== null && s.currency ? { amount: s.amount, currency: s.currency.toLowerCase() } : null,
          message: s.message,
        };
        publishes.push(() => bus.publish(TOPICS.billingEvents, payload));
        if (s.type === 'MRR_UPDATED' && report) {
          const r = report;
          publishes.push(() => bus.publish(TOPICS.mrrUpdated, r));
        }
        if (s.type === 'MILESTONE_REACHED') {
          const m = milestones.find((x) => x.threshold.amount === s.amount);
          if (m) publishes.push(() => bus.publish(TOPICS.milestoneReached, m));
        }
      }
    }
    return publishes;
  }

  const run = async (em: EntityManager, event: Stripe.Event): Promise<Publish[]> => finish(em, [await derive(em, event)]);

  /** Open batches, by transaction em: events derived so far and the batch's MRR memory. */
  const batches = new WeakMap<object, { derived: Derived[]; mrr: BatchMrr }>();

  const afterEvent: AfterEventHook = async (em, event, handled) => {
    const batch = batches.get(em);
    if (batch) {
      batch.derived.push(await derive(em, event, batch.mrr, handled));
      return;
    }
    if (em.isInTransaction()) {
      enqueue(em, await run(em, event));
      return;
    }
    const publishes = await em.transactional((tx) => run(tx, event));
    publishAll(publishes);
  };
  afterEvent.batch = {
    begin(em) {
      if (!em.isInTransaction()) throw new Error('signals: a batch needs a transaction');
      const mirror = mirrorBatch(em);
      const mrr: BatchMrr = { reported: new Map(), locked: false, read: new Map(), mirror, steps: [], stepped: new Map(), pending: [], pendingCustomers: new Set() };
      if (mirror) mirror.beforeCustomerWrite = async (tx, customerId) => (mrr.pendingCustomers.has(customerId) ? resolveKinds(tx, mrr) : undefined);
      batches.set(em, { derived: [], mrr });
    },
    async end(em) {
      const batch = batches.get(em);
      if (!batch) return;
      await stepsFromDeltas(em, batch.mrr);
      batches.delete(em);
      enqueue(em, await finish(em, batch.derived));
    },
  };

  const record = async (em: EntityManager, drafts: SignalDraft[]): Promise<void> => {
    if (drafts.length === 0) return;
    const derived: Derived = {
      event: null,
      signals: drafts.map((d) => ({ ...d, id: billingEventId(d.dedupKey), message: signalMessage(d), sourceEventId: null })),
      milestones: [],
    };
    const batch = batches.get(em);
    if (batch) {
      batch.derived.push(derived);
      return;
    }
    if (em.isInTransaction()) {
      enqueue(em, await finish(em, [derived]));
      return;
    }
    const publishes = await em.transactional((tx) => finish(tx, [derived]));
    publishAll(publishes);
  };

  return { afterEvent, record };
}

/** Whether an event may have written a subscription row (unknown: assume it did). */
function mayHaveWrittenSubscription(handled: HandleResult | undefined): boolean {
  if (!handled) return true;
  return handled.kind === 'subscription' && handled.action !== 'skipped' && handled.action !== 'noop';
}

/** The signal of a currency's MRR moved by one event (one per event: its dedup key). */
function mrrUpdatedDraft(stripeEventId: string, currency: string, before: number, after: number, at: Date, kind: MrrMovementKind): SignalDraft {
  return {
    type: 'MRR_UPDATED',
    dedupKey: `MRR_UPDATED:${stripeEventId}`,
    occurredAt: at,
    customerId: null,
    subscriptionId: null,
    invoiceId: null,
    amount: after,
    currency,
    data: { change: after - before, previous: before, kind },
  };
}

/** The signal of an MRR milestone crossed (one per currency and threshold, ever: its dedup key). */
function milestoneDraft(currency: string, threshold: number, mrr: number, at: Date, stripeEventId: string): SignalDraft {
  return {
    type: 'MILESTONE_REACHED',
    dedupKey: `MILESTONE_REACHED:${currency}:${threshold}`,
    occurredAt: at,
    customerId: null,
    subscriptionId: null,
    invoiceId: null,
    amount: threshold,
    currency,
    data: { mrr, stripeEventId },
  };
}
