/**
 * Event handlers per type: which mirrored object an event is about, whether it carries a usable copy
 * of it, and how to re-read it. The convergence rule itself is in `convergence.ts`.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { isResourceMissing } from '../client.js';
import {
  customerRaw,
  deleteInvoice,
  flushMirrorRows,
  idOf,
  COUNTED_MRR_COLUMNS,
  countedOf,
  type CountedMrr,
  type CountedMrrColumns,
  invoiceRaw,
  mirrorBatch,
  mirrorObject,
  mirrorTestClock,
  recordEventMrrPoint,
  rememberCountedMrr,
  subscriptionRaw,
  withDeferredChildRows,
  type PlanCatalog,
  type TestClockPayload,
} from '../mirror/index.js';
import {
  decide,
  lockObject,
  lockObjects,
  MIRROR_TABLES,
  payloadOrder,
  rereadStamp,
  rowStamp,
  type ConvergenceDecision,
  type MirrorKind,
  type RowContent,
} from './convergence.js';
import { BatchRereads, rereadBudget, type RereadObject } from './reread.js';

export const HANDLED_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.finalized',
  'invoice.paid',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice.marked_uncollectible',
  'invoice.upcoming',
  'checkout.session.completed',
  'payment_method.attached',
  'payment_method.detached',
  // Test clocks (sandbox): the customer's clock for dunning and usage periods (mirror/test-clocks.ts).
  'test_helpers.test_clock.created',
  'test_helpers.test_clock.advancing',
  'test_helpers.test_clock.ready',
  'test_helpers.test_clock.internal_failure',
  'test_helpers.test_clock.deleted',
] as const;

export type HandledEventType = (typeof HANDLED_EVENT_TYPES)[number];

const HANDLED = new Set<string>(HANDLED_EVENT_TYPES);

export function isHandledEventType(type: string): type is HandledEventType {
  return HANDLED.has(type);
}

export interface HandlerContext {
  stripe: Stripe;
  catalog: PlanCatalog;
}

/** What processing one event did to the mirror. */
export interface HandleResult {
  action: 'applied' | 'reread' | 'skipped' | 'noop';
  kind?: MirrorKind;
  objectId?: string;
  reason?: string;
}

/** The mirrored object an event is about, and the event's copy of it (null: re-read it). */
interface Target {
  kind: MirrorKind;
  id: string;
  payload: Stripe.Customer | Stripe.Subscription | Stripe.Invoice | null;
}

/** A test clock event: its own monotonic rule, no object lock or stamp (mirror/test-clocks.ts). */
interface ClockTarget {
  clock: TestClockPayload;
  deleted: boolean;
}

type Routed = Target | ClockTarget | { none: string };

const isObjectTarget = (t: Routed): t is Target => 'kind' in t;

async function targetOf(em: EntityManager, event: Stripe.Event): Promise<Routed> {
  const obj = event.data.object as unknown as Record<string, unknown>;
  const type = event.type as string;
  if (type.startsWith('test_helpers.test_clock.')) {
    return { clock: obj as unknown as TestClockPayload, deleted: type === 'test_helpers.test_clock.deleted' };
  }
  if (type.startsWith('customer.subscription.')) {
    return { kind: 'subscription', id: obj.id as string, payload: obj as unknown as Stripe.Subscription };
  }
  if (type.startsWith('customer.')) return { kind: 'customer', id: obj.id as string, payload: obj as unknown as Stripe.Customer };
  if (type.startsWith('invoice.')) {
    const id = idOf(obj);
    // invoice.upcoming carries a preview (no in_ id): there is nothing to store.
    if (!id || !id.startsWith('in_')) return { none: 'preview invoice (no id)' };
    return { kind: 'invoice', id, payload: obj as unknown as Stripe.Invoice };
  }
  if (type === 'checkout.session.completed') {
    const sub = idOf(obj.subscription);
    if (sub) return { kind: 'subscription', id: sub, payload: null };
    const customer = idOf(obj.customer);
    return customer ? { kind: 'customer', id: customer, payload: null } : { none: 'checkout session without customer or subscription' };
  }
  if (type.startsWith('payment_method.')) {
    // Detached: `customer` is null now; the previous attributes name it.
    const prev = (event.data.previous_attributes ?? {}) as Record<string, unknown>;
    let customer = idOf(obj.customer) ?? idOf(prev.customer);
    // A detach may say neither; the customer whose default it was (cleared by the detach) is in the mirror.
    if (!customer && typeof obj.id === 'string') {
      const rows = await (em as SqlEntityManager).execute<{ id: string }[]>(
        `select "id" from "customers" where "default_payment_method" = ? limit 1`,
        [obj.id],
      );
      customer = rows[0]?.id ?? null;
    }
    return customer ? { kind: 'customer', id: customer, payload: null } : { none: 'payment method without customer' };
  }
  return { none: `unhandled type ${type}` };
}

/** Stores the object's state as re-read from Stripe (`rereads`, shared by the batch), stamped `stamp`. */
async function rereadInto(em: EntityManager, target: Target, stamp: Date, ctx: HandlerContext, rereads: BatchRereads): Promise<'reread' | 'applied'> {
  const mctx = { catalog: ctx.catalog, stripe: ctx.stripe, lastEventAt: stamp, nested: false };
  const got = await rereads.get(target.kind, target.id);
  if ('object' in got) {
    await mirrorObject(em, got.object, mctx);
    return 'reread';
  }
  // Gone from Stripe: a deleted draft invoice, a deleted customer.
  if (target.kind === 'invoice') {
    await deleteInvoice(em, target.id);
    return 'reread';
  }
  if (target.kind === 'customer') {
    await mirrorObject(em, { id: target.id, object: 'customer', deleted: true } as Stripe.DeletedCustomer, mctx);
    return 'reread';
  }
  if (target.payload) {
    await applyPayload(em, target, stamp, '', ctx);
    return 'applied';
  }
  throw got.missing;
}

async function applyPayload(em: EntityManager, target: Target, stamp: Date, eventType: string, ctx: HandlerContext): Promise<void> {
  await mirrorObject(em, target.payload!, { catalog: ctx.catalog, stripe: ctx.stripe, lastEventAt: stamp, eventType, nested: false });
}

/**
 * Brings one event into the mirror (in the caller's transaction): locks the object, compares the
 * event's time with the row's stamp, and applies the payload, skips it, or re-reads the object.
 */
export async function handleStripeEvent(em: EntityManager, event: Stripe.Event, ctx: HandlerContext): Promise<HandleResult> {
  return (await handleStripeEvents(em, [event], ctx))[0]!;
}

const stampKey = (kind: MirrorKind, id: string) => `${kind}:${id}`;

/**
 * What the batch knows of its rows: stamps (`kind:id` → stamp; no entry: no row; null: a row without
 * one) and, for rows an event may tie with, their content (no entry: unknown, so a tie re-reads).
 */
interface BatchRows {
  stamps: Map<string, Date | null>;
  contents: Map<string, RowContent>;
}

/** The event's copy as the writer would store it (null: not comparable), computed once per event. */
const rawCopies = new WeakMap<object, unknown>();
function payloadRaw(target: Target): unknown {
  const p = target.payload!;
  if (rawCopies.has(p)) return rawCopies.get(p);
  const raw =
    target.kind === 'customer'
      ? customerRaw(p as Stripe.Customer)
      : target.kind === 'subscription'
        ? subscriptionRaw(p as Stripe.Subscription)
        : invoiceRaw(p as Stripe.Invoice);
  rawCopies.set(p, raw);
  return raw;
}

/** The content a re-read leaves in the row (null: none, e.g. an invoice gone from Stripe). */
function rereadContent(kind: MirrorKind, object: RereadObject): RowContent | null {
  if (kind === 'customer') {
    const c = object as Stripe.Customer | Stripe.DeletedCustomer;
    return { raw: customerRaw(c), deleted: c.deleted === true };
  }
  const raw = kind === 'subscription' ? subscriptionRaw(object as Stripe.Subscription) : invoiceRaw(object as Stripe.Invoice);
  return raw === null ? null : { raw, deleted: false };
}

/**
 * The convergence rule (convergence.ts) for one event against what the batch knows of its row: a tie
 * whose payload proves the order against the row's content is applied or skipped without Stripe.
 */
function decideFor(event: Stripe.Event, target: Target, rows: BatchRows): { decision: ConvergenceDecision; proved?: 'newer' | 'older' | 'same' } {
  const key = stampKey(target.kind, target.id);
  const stamp = rows.stamps.get(key);
  const decision = decide(new Date(event.created * 1000), stamp, target.payload !== null);
  // A tie, or a row of unknown time (an API copy): the payload may still prove the order.
  if (decision !== 'reread' || !target.payload || stamp === undefined || (stamp !== null && stamp.getTime() !== event.created * 1000)) return { decision };
  const content = rows.contents.get(key);
  if (!content) return { decision };
  const order = payloadOrder(target.kind, event.type, target.payload as unknown as Record<string, unknown>, payloadRaw(target), content);
  if (order === null) return { decision };
  return { decision: order === 'newer' ? 'apply' : 'skip', proved: order };
}

/** After an apply: the row holds the event's copy, stamped with its time. */
function applied(rows: BatchRows, event: Stripe.Event, target: Target): void {
  const key = stampKey(target.kind, target.id);
  rows.stamps.set(key, new Date(event.created * 1000));
  const raw = payloadRaw(target);
  if (raw === null) rows.contents.delete(key);
  else rows.contents.set(key, { raw, deleted: event.type === 'customer.deleted' });
}

/**
 * Several events, in order, in the caller's transaction: the rule of `handleStripeEvent` for each, with
 * the objects' locks taken in one statement (sorted, so two batches cannot deadlock on them) and their
 * stamps read in one statement before the first event (and, when an event ties with a row, that row's
 * content in one more). Stamps and contents are then tracked in memory: an apply stamps the row with
 * the event's time; anything else that may have changed a row (a re-read, a customer read by
 * `ensureCustomer`) reads that stamp again. `afterEach` runs after each event's mirror write (the
 * signals step, which must see the mirror as of that event); invoice lines and subscription items,
 * which no such step reads, are written once for the batch at its end (`withDeferredChildRows`).
 */
export async function handleStripeEvents(
  em: EntityManager,
  events: Stripe.Event[],
  ctx: HandlerContext,
  afterEach?: (event: Stripe.Event, result: HandleResult) => Promise<void>,
): Promise<HandleResult[]> {
  const targets: Routed[] = [];
  for (const event of events) {
    targets.push(isHandledEventType(event.type) ? await targetOf(em, event) : { none: `unhandled type ${event.type}` });
  }
  const objects = targets.filter(isObjectTarget);
  // With the customers their payloads name, in the same sorted statement: an event that must write a
  // missing customer (`ensureCustomer`) then holds its lock already, instead of taking it after the
  // others, out of order with another batch (a deadlock PostgreSQL takes a second to detect).
  const named = objects.map(payloadCustomer).filter((c): c is string => c !== null);
  await lockObjects(em, [...objects.map((t) => t.id), ...named]);
  const rereads = new BatchRereads(ctx.stripe, rereadBudget(ctx.stripe), isResourceMissing);
  const rows: BatchRows = { stamps: await rowStamps(em, objects, rereads.customersPresent), contents: new Map() };
  await readTiedContents(em, events, targets, rows);
  // Under the locks (so after every event about these objects that committed before): start together
  // the re-reads the batch will need, one per object.
  for (const key of rereadsNeeded(events, targets, rows)) rereads.start(key.kind, key.id);
  // Invoice lines and subscription items: one write per table for the batch, at its end.
  return withDeferredChildRows(em, async () => {
    const results: HandleResult[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      const target = targets[i]!;
      const result = await handleTarget(em, event, target, rows, ctx, rereads);
      results.push(result);
      if (afterEach) await afterEach(event, result);
    }
    return results;
  });
}

async function handleTarget(
  em: EntityManager,
  event: Stripe.Event,
  target: Routed,
  rows: BatchRows,
  ctx: HandlerContext,
  rereads: BatchRereads,
): Promise<HandleResult> {
  if ('none' in target) return { action: 'noop', reason: target.none };
  if ('clock' in target) {
    await mirrorTestClock(em, target.clock, { deleted: target.deleted });
    return { action: 'applied', objectId: target.clock.id };
  }
  const { stamps, contents } = rows;
  const key = stampKey(target.kind, target.id);
  const created = new Date(event.created * 1000);
  const stamp = stamps.get(key);
  const { decision, proved } = decideFor(event, target, rows);
  const base = { kind: target.kind, objectId: target.id };
  // What the subscription was worth at the event's time counts for the revenue history even when the
  // mirror row moves on without this copy (an older event, or a tie that re-reads the current state).
  if (target.kind === 'subscription' && target.payload && decision !== 'apply') {
    await recordEventMrrPoint(em, target.payload as Stripe.Subscription, created, event.type);
  }
  if (decision === 'skip') {
    if (proved && stamp === null) {
      // An API copy proven at least as new as this event's: stamped with its time, as a re-read would be
      // (after the batch's kept rows, so a kept copy of this row cannot overwrite the stamp).
      await flushMirrorRows(em);
      await (em as SqlEntityManager).execute(`update "${MIRROR_TABLES[target.kind]}" set "last_event_at" = ? where "id" = ?`, [created, target.id], 'run');
      stamps.set(key, created);
    }
    const reason = proved === 'same' ? 'row already holds this copy' : proved === 'older' ? 'payload proves the row is newer' : 'row reflects a later event';
    return { ...base, action: 'skipped', reason };
  }
  let action: HandleResult['action'];
  if (decision === 'apply') {
    await applyPayload(em, target, created, event.type, ctx);
    applied(rows, event, target);
    rereads.written.delete(key);
    action = 'applied';
  } else {
    const next = rereadStamp(created, stamp);
    const written = rereads.written.get(key);
    // The row already holds this batch's re-read of the object, stamped the same: writing the same
    // object with the same stamp again would change nothing (the usual case: several events of one second).
    if (written !== undefined && stamp !== undefined && stamp !== null && written === stamp.getTime() && next.getTime() === written) {
      return { ...base, action: 'reread', reason: 'answered by the re-read already written in this batch' };
    }
    action = await rereadInto(em, target, next, ctx, rereads);
    // A re-read may also have deleted the row (an invoice gone from Stripe): read what it left. A
    // customer's re-read in a mirror batch writes its row with `next` whatever it held (customers are
    // only marked deleted): nothing to read back.
    const readBack = !(target.kind === 'customer' && action === 'reread' && mirrorBatch(em));
    // The batch's kept rows first (mirror/batch.ts): the row read back may be one of them.
    if (readBack) await flushMirrorRows(em);
    const after = readBack ? await rowStamp(em, target.kind, target.id) : next;
    setStamp(stamps, key, after);
    const got = action === 'reread' && after ? await rereads.get(target.kind, target.id) : null;
    const content = got && 'object' in got ? rereadContent(target.kind, got.object) : null;
    if (content) contents.set(key, content);
    else contents.delete(key);
    if (action === 'reread' && after) rereads.written.set(key, after.getTime());
    else rereads.written.delete(key);
  }
  // Once a row's customer is known to be mirrored it stays so for the batch (customers are never
  // deleted, only marked): the batch's further events about the row skip the check, and so does a
  // row just written from a payload whose customer the batch has seen in the mirror.
  if (target.kind === 'customer') {
    if (action === 'applied') rereads.customersPresent.add(target.id);
  } else if (!rereads.customerKnown.has(key)) {
    const customer = action === 'applied' ? payloadCustomer(target) : null;
    if (customer !== null && rereads.customersPresent.has(customer)) {
      rereads.customerKnown.add(key);
      return { ...base, action };
    }
    const { written, known, customerId } = await ensureCustomer(em, target, ctx, rereads);
    if (known) rereads.customerKnown.add(key);
    if (known && customerId) rereads.customersPresent.add(customerId);
    if (written) {
      // The customer's row may still be kept for the batch's statement (mirror/batch.ts).
      await flushMirrorRows(em);
      setStamp(stamps, stampKey('customer', written), await rowStamp(em, 'customer', written));
      contents.delete(stampKey('customer', written));
      rereads.written.delete(stampKey('customer', written));
    }
  }
  return { ...base, action };
}

/**
 * The objects the batch will re-read: the decision rule run over the events in order on a copy of
 * what the batch knows (an apply stamps the event's time and its copy, a re-read `rereadStamp` and an
 * unknown content), as `handleTarget` will. Where they differ (after a re-read, `handleTarget` knows
 * the content), that object's re-read is already started. Customers read by `ensureCustomer` are not
 * foreseen; they are read when met.
 */
function rereadsNeeded(events: Stripe.Event[], targets: Routed[], rows: BatchRows): { kind: MirrorKind; id: string }[] {
  const sim: BatchRows = { stamps: new Map(rows.stamps), contents: new Map(rows.contents) };
  const out = new Map<string, { kind: MirrorKind; id: string }>();
  for (let i = 0; i < events.length; i++) {
    const target = targets[i]!;
    if (!isObjectTarget(target)) continue;
    const key = stampKey(target.kind, target.id);
    const event = events[i]!;
    const { decision, proved } = decideFor(event, target, sim);
    if (decision === 'apply') applied(sim, event, target);
    else if (decision === 'skip' && proved && sim.stamps.get(key) === null) sim.stamps.set(key, new Date(event.created * 1000));
    else if (decision === 'reread') {
      out.set(key, { kind: target.kind, id: target.id });
      sim.stamps.set(key, rereadStamp(new Date(event.created * 1000), sim.stamps.get(key)));
      sim.contents.delete(key);
    }
  }
  return [...out.values()];
}

/**
 * The content of the rows some event of the batch ties with before anything else touched them (same
 * `created` as the row's stamp, or a row without one, and a copy of the object): one statement, only
 * when there are such rows.
 */
async function readTiedContents(em: EntityManager, events: Stripe.Event[], targets: Routed[], rows: BatchRows): Promise<void> {
  const byKind = new Map<MirrorKind, Set<string>>();
  for (let i = 0; i < events.length; i++) {
    const target = targets[i]!;
    if (!isObjectTarget(target) || !target.payload) continue;
    const stamp = rows.stamps.get(stampKey(target.kind, target.id));
    if (stamp === null || (stamp !== undefined && stamp.getTime() === events[i]!.created * 1000)) byKind.set(target.kind, (byKind.get(target.kind) ?? new Set()).add(target.id));
  }
  if (byKind.size === 0) return;
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [kind, ids] of byKind) {
    parts.push(`select ?::text as kind, "id", "raw", ${kind === 'customer' ? '"deleted"' : 'false'} as deleted from "${MIRROR_TABLES[kind]}" where "id" in (?)`);
    params.push(kind, [...ids]);
  }
  const found = await (em as SqlEntityManager).execute<{ kind: MirrorKind; id: string; raw: unknown; deleted: boolean }[]>(parts.join(' union all '), params);
  for (const r of found) {
    const raw = typeof r.raw === 'string' ? (JSON.parse(r.raw) as unknown) : r.raw;
    rows.contents.set(stampKey(r.kind, r.id), { raw, deleted: r.deleted === true });
  }
}

function setStamp(stamps: Map<string, Date | null>, key: string, stamp: Date | null | undefined): void {
  if (stamp === undefined) stamps.delete(key);
  else stamps.set(key, stamp);
}

/** The customer a subscription or invoice payload names (the writers store it as the row's customer). */
function payloadCustomer(target: Target): string | null {
  if (target.kind === 'customer' || !target.payload) return null;
  return idOf((target.payload as Stripe.Subscription | Stripe.Invoice).customer) ?? null;
}

/**
 * The stamps of the targets' rows (`kind:id` → stamp; no entry: no row; null: a row without one);
 * with several targets, in the same statement, which customers their payloads name have a row (into
 * `present`), so that `ensureCustomer` need not ask after each write, and what the subscription rows
 * count in the MRR totals (kept by a mirror batch for its writes' MRR deltas, `rememberCountedMrr`).
 */
async function rowStamps(em: EntityManager, targets: Target[], present: Set<string>): Promise<Map<string, Date | null>> {
  const stamps = new Map<string, Date | null>();
  if (targets.length === 0) return stamps;
  if (targets.length === 1) {
    const t = targets[0]!;
    setStamp(stamps, stampKey(t.kind, t.id), await rowStamp(em, t.kind, t.id));
    return stamps;
  }
  const byKind = new Map<MirrorKind, Set<string>>();
  for (const t of targets) byKind.set(t.kind, (byKind.get(t.kind) ?? new Set()).add(t.id));
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [kind, ids] of byKind) {
    const counted = kind === 'subscription' ? COUNTED_MRR_COLUMNS : 'null::text as status, null::text as currency, null::text as n, null::text as d';
    parts.push(`select ?::text as kind, "id", extract(epoch from "last_event_at")::float8 as t, ${counted} from "${MIRROR_TABLES[kind]}" where "id" in (?)`);
    params.push(kind, [...ids]);
  }
  const customers = new Set<string>();
  for (const t of targets) {
    const c = payloadCustomer(t);
    if (c !== null) customers.add(c);
  }
  if (customers.size > 0) {
    parts.push(`select 'present' as kind, "id", null::float8 as t, null::text, null::text, null::text, null::text from "customers" where "id" in (?)`);
    params.push([...customers]);
  }
  const rows = await (em as SqlEntityManager).execute<({ kind: MirrorKind | 'present'; id: string; t: number | string | null } & CountedMrrColumns)[]>(
    parts.join(' union all '),
    params,
  );
  const counted = new Map<string, CountedMrr>();
  for (const r of rows) {
    if (r.kind === 'present') present.add(r.id);
    else stamps.set(stampKey(r.kind, r.id), r.t === null ? null : new Date(Number(r.t) * 1000));
    if (r.kind === 'subscription') counted.set(r.id, countedOf(r));
  }
  const subscriptions = byKind.get('subscription');
  if (subscriptions) rememberCountedMrr(em, subscriptions, counted);
  return stamps;
}

/**
 * A subscription or invoice may be mirrored before its customer (events come in any order). Who a
 * customer is (its externalId) decides who may see its live events, so a missing customer is read
 * from Stripe now. It is stored without an event stamp: its next event re-reads it (see convergence.ts).
 */
async function ensureCustomer(
  em: EntityManager,
  target: Target,
  ctx: HandlerContext,
  rereads: BatchRereads,
): Promise<{ written: string | null; known: boolean; customerId?: string }> {
  const sql = em as SqlEntityManager;
  const table = target.kind === 'subscription' ? 'subscriptions' : 'invoices';
  // The row may still be kept for the batch's statement (mirror/batch.ts).
  await flushMirrorRows(em);
  const rows = await sql.execute<{ customer_id: string; known: boolean }[]>(
    `select t."customer_id", exists (select 1 from "customers" c where c."id" = t."customer_id") as known from "${table}" t where t."id" = ?`,
    [target.id],
  );
  const row = rows[0];
  if (!row) return { written: null, known: false };
  if (row.known) return { written: null, known: true, customerId: row.customer_id };
  await lockObject(em, row.customer_id);
  if ((await rowStamp(em, 'customer', row.customer_id)) !== undefined) return { written: row.customer_id, known: true, customerId: row.customer_id };
  const got = await rereads.get('customer', row.customer_id);
  if ('object' in got) await mirrorObject(em, got.object, { catalog: ctx.catalog, stripe: ctx.stripe, nested: false });
  return { written: row.customer_id, known: 'object' in got, customerId: row.customer_id };
}
