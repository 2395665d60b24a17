/**
 * Full reconciliation: re-reads customers, subscriptions (every status, canceled included: listing only
 * live ones would keep a subscription canceled during an outage active forever) and invoices from
 * Stripe, compares each with its mirror row (the columns the gateway reads; `raw` and bookkeeping
 * columns aside), repairs the rows that differ and reports which rows and fields did.
 *
 * Rows written here follow the convergence rule of `convergence.ts`: each object is written under its
 * lock, and keeps its `last_event_at` (the copy read now is at least as new as any event already
 * applied), so a later event still applies or re-reads as usual.
 *
 * The three lists are read side by side, 100 objects a page (Stripe's maximum), and each page is
 * locked, compared and written in one transaction while the next pages are listed: the run costs a
 * few list calls and a few statements per page, not a Stripe call and a transaction per object.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { loadCatalog } from '../../catalog.js';
import { repairMrrTotals } from '../../db/mrr-totals.js';
import { Customer } from '../../db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../db/entities/invoice.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { isResourceMissing } from '../client.js';
import {
  customerRow,
  deleteInvoice,
  fetchAllLines,
  invoiceLineRows,
  invoiceRow,
  loadPriceFacts,
  mirrorObject,
  SUBSCRIPTION_MIRROR_EXPAND,
  subscriptionRow,
  unexpandedPriceIds,
  withMirrorExpansions,
  type PlanCatalog,
} from '../mirror/index.js';
import { toStorableText } from '../../text/storable.js';
import { webhookMetrics } from '../webhooks/metrics.js';
import { reasonOf } from '../webhooks/worker.js';
import { lockObject, lockObjects, MIRROR_TABLES, rowStamp, type MirrorKind } from './convergence.js';
import { LIST_PAGE, listMrrEvents, SUBSCRIPTION_LIST_PARAMS, type FirstPages } from './list-ahead.js';
import { eventMrrPoints, writePointBatches, type MrrBackfillReport } from './revenue-backfill.js';
import { upsertPageRows } from './row-upsert.js';
import { writeSubscriptionPage, type PagePoint } from './subscription-page.js';

export type DriftTable = 'customers' | 'subscriptions' | 'invoices';

export interface DriftEntry {
  table: DriftTable;
  id: string;
  /** missing: in Stripe, not in the mirror; changed: fields differ; stale: in the mirror, gone or deleted at Stripe. */
  kind: 'missing' | 'changed' | 'stale';
  /** Column names (camelCase) that differed; empty for `missing`. */
  fields: string[];
}

export interface FullSyncReport {
  checked: Record<DriftTable, number>;
  drift: DriftEntry[];
  /** Rows written back (equals drift.length unless `repair` is false). */
  repaired: number;
  /** Objects that could not be checked or repaired (skipped with the reason; the rest went on). */
  failed: { table: DriftTable; id: string; reason: string }[];
  /** The revenue history rebuilt from Stripe's subscription events (when repairing). */
  mrrBackfill?: MrrBackfillReport;
}

export interface SyncFullOptions {
  orm: Orm;
  stripe: Stripe;
  catalog?: PlanCatalog;
  /** Write Stripe's copy over drifted rows (default true); false only reports. */
  repair?: boolean;
  onProgress?: (p: { table: DriftTable; done: number; total: number }) => void;
  /** The subscription events for the revenue history, when the caller started listing them (`listMrrEvents`); else listed here. */
  mrrEvents?: Promise<Stripe.Event[]>;
  /** The lists' first pages, when the caller asked for them already (`listFirstPages`: after the events cursor's newest event). */
  firstPages?: FirstPages;
  log?: Logger;
}

/** Columns not compared: the whole object, and when/why the row was written. */
const IGNORED = new Set(['raw', 'syncedAt', 'lastEventAt']);

const TABLE_OF: Record<MirrorKind, DriftTable> = { customer: 'customers', subscription: 'subscriptions', invoice: 'invoices' };

/** One value as comparable text: dates by instant, JSON with sorted keys. */
function norm(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (v instanceof Date) return String(v.getTime());
  if (typeof v === 'object') return JSON.stringify(sortKeys(v));
  return JSON.stringify(v);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Field names whose values differ between the expected row data and the stored row. */
export function diffRow(expected: Record<string, unknown>, stored: Record<string, unknown>): string[] {
  return Object.keys(expected).filter((k) => !IGNORED.has(k) && norm(expected[k]) !== norm(stored[k]));
}

/** A stored row with its columns as the mapper names them (camelCase), dates as Dates. */
function camelRow(row: Record<string, unknown>): Record<string, unknown> {
  const camel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) camel[k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = v;
  // timestamptz may come back as strings (driver parsers differ): compare instants.
  for (const [k, v] of Object.entries(camel)) {
    if (typeof v === 'string' && /(At|Start|End|Date|Attempt)$/.test(k) && !Number.isNaN(Date.parse(v))) camel[k] = new Date(v);
  }
  return camel;
}

/** The stored row with its columns as the mapper names them (camelCase). */
async function storedRow(em: EntityManager, kind: MirrorKind, id: string): Promise<Record<string, unknown> | null> {
  const rows = await (em as SqlEntityManager).execute<Record<string, unknown>[]>(`select * from "${MIRROR_TABLES[kind]}" where "id" = ?`, [id]);
  const row = rows[0];
  return row ? camelRow(row) : null;
}

type Expected = { kind: MirrorKind; id: string; obj: Stripe.Customer | Stripe.DeletedCustomer | Stripe.Subscription | Stripe.Invoice; data: Record<string, unknown> | null };

/** Compares one Stripe object with its row and, if they differ, writes Stripe's copy (keeping the row's stamp). */
async function reconcileOne(
  orm: Orm,
  expected: (em: EntityManager) => Promise<Expected>,
  ctx: { stripe: Stripe; catalog: PlanCatalog; repair: boolean },
): Promise<DriftEntry | null> {
  return orm.em.fork().transactional(async (em) => {
    const e = await expected(em);
    await lockObject(em, e.id);
    const stored = await storedRow(em, e.kind, e.id);
    let entry: DriftEntry | null = null;
    if (!stored) entry = { table: TABLE_OF[e.kind], id: e.id, kind: 'missing', fields: [] };
    else if (e.data) {
      const fields = diffRow(e.data, stored);
      if (fields.length > 0) entry = { table: TABLE_OF[e.kind], id: e.id, kind: 'changed', fields };
    }
    if (entry && ctx.repair) {
      const stamp = await rowStamp(em, e.kind, e.id);
      await mirrorObject(em, e.obj, { catalog: ctx.catalog, stripe: ctx.stripe, nested: false, ...(stamp ? { lastEventAt: stamp } : {}) });
    }
    return entry;
  });
}

/** Objects per page of Stripe's lists (its maximum). */
const PAGE = LIST_PAGE;
/** Pages of one list reconciled at the same time. */
const PAGES_IN_FLIGHT = 3;

/**
 * Every page of one Stripe list, each handed to `onPage` as it comes; the next page is requested
 * while the current one is processed (a cursor list cannot be fetched out of order).
 */
async function forEachPage<T extends { id: string }>(
  list: (params: { limit: number; starting_after?: string }) => Promise<Stripe.ApiList<T>>,
  onPage: (objects: T[]) => Promise<void>,
): Promise<void> {
  let next: Promise<Stripe.ApiList<T>> | null = list({ limit: PAGE });
  while (next) {
    const page: Stripe.ApiList<T> = await next;
    const last = page.data.at(-1);
    next = page.has_more && last ? list({ limit: PAGE, starting_after: last.id }) : null;
    try {
      await onPage(page.data);
    } catch (err) {
      // Not left unobserved when this page fails.
      await next?.catch(() => undefined);
      throw err;
    }
  }
}

/** One listed object, ready to compare: its row data (null: not comparable, written anyway) and the object to write. */
interface Listed {
  id: string;
  data: Record<string, unknown> | null;
  obj: Stripe.Customer | Stripe.Subscription | Stripe.Invoice;
}

/** The stored rows of `ids` (as `storedRow`), by id. */
async function storedRows(em: EntityManager, kind: MirrorKind, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const rows = await (em as SqlEntityManager).execute<Record<string, unknown>[]>(`select * from "${MIRROR_TABLES[kind]}" where "id" = any(array[?]::text[])`, [ids]);
  return new Map(rows.map((row) => [row.id as string, camelRow(row)]));
}

/**
 * Listed (so not deleted) customers as `upsertCustomer` writes them, in one statement: each claims
 * its `external_id` only when no other row holds it (nor an earlier customer of the page), as its
 * claiming upsert does one by one. A writer claiming the same id meanwhile makes the statement fail
 * on the unique index, and the page is then done customer by customer.
 */
/** An object to write: its row data as already built for the comparison (null: build it), and the row's stamp, which it keeps. */
type ToWrite<K extends string, T> = { [key in K]: T } & { stamp: Date | undefined; data: Record<string, unknown> | null };

/** Row data built for the comparison, as the writer builds it with the row's stamp (the row builders differ in nothing else). */
function restamped<T>(data: Record<string, unknown>, stamp: Date | undefined, now: Date): T {
  return { ...data, lastEventAt: stamp ?? null, syncedAt: now } as T;
}

async function writeCustomers(em: EntityManager, customers: ToWrite<'customer', Stripe.Customer>[]): Promise<void> {
  if (customers.length === 0) return;
  const now = new Date();
  const rows = customers.map(({ customer, stamp, data }) =>
    data ? restamped<ReturnType<typeof customerRow>>(data, stamp, now) : customerRow(customer, stamp ? { lastEventAt: stamp } : {}, now),
  );
  const wanted = [...new Set(rows.map((r) => r.externalId).filter((x): x is string => x !== null))];
  const holders = new Map<string, string>();
  if (wanted.length > 0) {
    const held = await (em as SqlEntityManager).execute<{ id: string; external_id: string }[]>(
      `select "id", "external_id" from "customers" where "external_id" = any(array[?]::text[])`,
      [wanted],
    );
    for (const h of held) holders.set(h.external_id, h.id);
  }
  for (const row of rows) {
    if (row.externalId === null) continue;
    const holder = holders.get(row.externalId);
    if (holder !== undefined && holder !== row.id) row.externalId = null;
    else holders.set(row.externalId, row.id);
  }
  await upsertPageRows(em, Customer, rows);
}

/**
 * Invoices with their lines as `upsertInvoice` writes them (the row, its lines in Stripe's order,
 * lines no longer on it deleted, each row keeping its stamp), a page in three statements instead of
 * three per invoice. Their lines are complete (fetched before, when Stripe truncated them).
 */
async function writeInvoices(em: EntityManager, invoices: ToWrite<'invoice', Stripe.Invoice>[]): Promise<void> {
  if (invoices.length === 0) return;
  const now = new Date();
  const rows = invoices.map(({ invoice, stamp, data }) =>
    data ? restamped<ReturnType<typeof invoiceRow>>(data, stamp, now) : invoiceRow(invoice, stamp ? { lastEventAt: stamp } : {}, now),
  );
  const lines = invoices.flatMap(({ invoice }) => invoiceLineRows(invoice.id, invoice.lines.data));
  await upsertPageRows(em, Invoice, rows);
  await upsertPageRows(em, InvoiceLine, lines);
  await (em as SqlEntityManager).execute(
    `delete from "invoice_lines" where "invoice_id" = any(array[?]::text[]) and not ("id" = any(array[?]::text[]))`,
    [rows.map((r) => r.id), lines.length > 0 ? lines.map((l) => l.id) : ['']],
    'run',
  );
}

/**
 * One page of a list in one transaction: the page's objects locked together (sorted, as
 * `lockObjects` does, so it cannot deadlock with the webhook worker), their rows read in one
 * statement, and the rows that differ written, each keeping its stamp. When the page cannot be
 * done as one (a row the database refuses), each object is done on its own, so one bad object is
 * skipped with its reason and the others are written.
 */
async function reconcilePage(
  orm: Orm,
  kind: MirrorKind,
  listed: Listed[],
  ctx: { stripe: Stripe; catalog: PlanCatalog; repair: boolean; points?: PointsBySubscription },
  guarded: (table: DriftTable, id: string, work: () => Promise<DriftEntry | null>) => Promise<void>,
  record: (entry: DriftEntry | null) => void,
): Promise<void> {
  if (listed.length === 0) return;
  const table = TABLE_OF[kind];
  if (kind === 'subscription') await ctx.points?.ready;
  let entries: DriftEntry[];
  let taken: PagePoint[] = [];
  try {
    entries = await orm.em.fork().transactional(async (em) => {
      await lockObjects(em, listed.map((l) => l.id));
      const stored = await storedRows(em, kind, listed.map((l) => l.id));
      const out: DriftEntry[] = [];
      const invoices: ToWrite<'invoice', Stripe.Invoice>[] = [];
      const customers: ToWrite<'customer', Stripe.Customer>[] = [];
      const subscriptions: ToWrite<'sub', Stripe.Subscription>[] = [];
      for (const l of listed) {
        const row = stored.get(l.id);
        let entry: DriftEntry | null = null;
        if (!row) entry = { table, id: l.id, kind: 'missing', fields: [] };
        else if (l.data) {
          const fields = diffRow(l.data, row);
          if (fields.length > 0) entry = { table, id: l.id, kind: 'changed', fields };
        }
        if (!entry) continue;
        out.push(entry);
        if (!ctx.repair) continue;
        const stamp = row?.lastEventAt instanceof Date ? row.lastEventAt : undefined;
        if (kind === 'invoice') invoices.push({ invoice: l.obj as Stripe.Invoice, stamp, data: l.data });
        else if (kind === 'customer') customers.push({ customer: l.obj as Stripe.Customer, stamp, data: l.data });
        else subscriptions.push({ sub: l.obj as Stripe.Subscription, stamp, data: l.data });
      }
      await writeInvoices(em, invoices);
      await writeCustomers(em, customers);
      taken = ctx.points?.take(subscriptions.map((w) => w.sub.id)) ?? [];
      await writeSubscriptionPage(em, subscriptions, ctx.catalog, taken);
      return out;
    });
  } catch {
    // Their event points are written after the lists instead.
    ctx.points?.giveBack(taken);
    // Object by object: each failure is reported with its own reason.
    for (const l of listed) {
      await guarded(table, l.id, () => reconcileOne(orm, async () => ({ kind, id: l.id, obj: l.obj, data: l.data }), ctx));
    }
    return;
  }
  for (const entry of entries) record(entry);
}

export async function syncFull(opts: SyncFullOptions): Promise<FullSyncReport> {
  const log = (opts.log ?? rootLogger).child({ module: 'sync' });
  // Each step's end in ms from the start (logged at debug level).
  const t0 = performance.now();
  const steps: Record<string, number> = {};
  const step = (name: string) => (steps[name] = Math.round(performance.now() - t0));
  const catalog = opts.catalog ?? loadCatalog();
  const ctx = { stripe: opts.stripe, catalog, repair: opts.repair !== false };
  const report: FullSyncReport = { checked: { customers: 0, subscriptions: 0, invoices: 0 }, drift: [], repaired: 0, failed: [] };
  const seen: Record<DriftTable, Set<string>> = { customers: new Set(), subscriptions: new Set(), invoices: new Set() };
  const record = (entry: DriftEntry | null) => {
    if (!entry) return;
    report.drift.push(entry);
    if (ctx.repair) report.repaired++;
  };
  // One object that cannot be read or written never stops the others: it is skipped with its reason.
  const guarded = async (table: DriftTable, id: string, work: () => Promise<DriftEntry | null>): Promise<void> => {
    try {
      record(await work());
    } catch (err) {
      const reason = reasonOf(err);
      report.failed.push({ table, id, reason });
      webhookMetrics.syncFailedRows.inc({ table });
      log.error({ table, id, reason }, 'full sync skipped an object it could not check or repair');
    }
  };

  // The three lists side by side, a page (100 objects) at a time, each page checked and written in
  // one transaction. Subscriptions come with their discounts' coupons expanded (what their MRR
  // needs), so none is re-read. Customers: Stripe's list leaves deleted ones out (they are checked
  // with the stale rows below). Subscriptions: every status, canceled included.
  const run = (table: DriftTable) => ({
    ctx: { ...ctx, points },
    guarded,
    record,
    seen: seen[table],
    checked: (n: number) => {
      report.checked[table] += n;
      opts.onProgress?.({ table, done: report.checked[table], total: report.checked[table] });
    },
  });
  // The revenue history: what Stripe's recent subscription events say each subscription was worth
  // when. The events are listed beside the objects; once valued, each subscription page written
  // after that takes its subscriptions' points along (one transaction per customer's recomputation),
  // and the rest are written after the lists.
  const points = new PointsBySubscription();
  const mrrHistory = ctx.repair
    ? (opts.mrrEvents ?? listMrrEvents(opts.stripe))
        .then((events) => {
          step('mrrEvents');
          return eventMrrPoints(opts.orm, events);
        })
        .then(({ report, points: valued }) => {
          step('mrrValued');
          points.fill(valued);
          return report;
        })
    : undefined;
  void mrrHistory?.catch(() => undefined); // observed below (not left unhandled when a list fails first)
  // A subscription page waits for them (they are listed from the start), rather than leave its
  // subscriptions' points to be written after the lists, alone at the end.
  if (mrrHistory) points.ready = mrrHistory.catch(() => undefined);
  let totals: Promise<boolean> = Promise.resolve(false);
  await Promise.all([
    listAndReconcile(
      opts.orm,
      'customer',
      startingWith(opts.firstPages?.customers, (params) => opts.stripe.customers.list(params)),
      async (listed) => {
        // Compared as the mirror stores it (text PostgreSQL cannot hold replaced), so that is no drift.
        const c = toStorableText(listed);
        return { id: c.id, obj: c, data: customerRow(c) as Record<string, unknown> };
      },
      run('customers'),
    ).then(() => step('customers')),
    listAndReconcile(
      opts.orm,
      'subscription',
      startingWith(
        SUBSCRIPTION_LIST_PARAMS.expand.join() === SUBSCRIPTION_LIST_EXPAND.join() ? opts.firstPages?.subscriptions : undefined,
        (params) => opts.stripe.subscriptions.list({ ...params, ...SUBSCRIPTION_LIST_PARAMS, expand: SUBSCRIPTION_LIST_EXPAND }),
      ),
      async (listed, em) => {
        const s = toStorableText(await withMirrorExpansions(opts.stripe, listed));
        const prices = await loadPriceFacts(em, unexpandedPriceIds(s));
        return { id: s.id, obj: s, data: subscriptionRow(s, catalog, prices) as Record<string, unknown> };
      },
      run('subscriptions'),
    ).then(() => {
      step('subscriptions');
      // The MRR totals follow each row write (triggers); checking them repairs whatever bypassed that.
      // They depend on the subscription rows only: checked beside the other lists and the history.
      if (ctx.repair) totals = repairMrrTotals(opts.orm.em.fork());
      void totals.catch(() => undefined); // observed below
    }),
    listAndReconcile(
      opts.orm,
      'invoice',
      startingWith(opts.firstPages?.invoices, (params) => opts.stripe.invoices.list(params)),
      async (listed) => {
        const lines = listed.lines?.has_more ? await fetchAllLines(opts.stripe, listed) : undefined;
        const inv = toStorableText(lines ? { ...listed, lines: { ...listed.lines, data: lines, has_more: false } } : listed);
        return { id: inv.id, obj: inv, data: invoiceRow(inv) as Record<string, unknown> };
      },
      run('invoices'),
    ).then(() => step('invoices')),
  ]);

  if (mrrHistory) {
    report.mrrBackfill = await mrrHistory;
    await writePointBatches(opts.orm, points.rest());
  }
  step('mrrHistory');

  // Rows the lists did not return: deleted customers (still marked live here), deleted draft invoices,
  // or objects of another account/mode. Each is retrieved once to tell which.
  await staleRows(opts, seen, ctx, guarded);
  if (await totals) log.warn('full sync rebuilt the MRR totals: they differed from the mirrored subscriptions');
  step('stale');

  const byTable: Record<DriftTable, number> = { customers: 0, subscriptions: 0, invoices: 0 };
  for (const d of report.drift) byTable[d.table]++;
  for (const [table, n] of Object.entries(byTable)) {
    webhookMetrics.syncDriftRows.set({ table }, n);
    if (n > 0) webhookMetrics.syncDriftTotal.inc({ table }, n);
  }
  log.debug({ steps }, 'full sync: steps (ms from its start)');
  if (report.failed.length > 0) log.warn({ failed: report.failed.length }, 'full sync skipped objects it could not check (see the report)');
  if (report.drift.length > 0) log.warn({ drift: report.drift.length, byTable }, 'full sync found the mirror out of date with Stripe');
  else log.info({ checked: report.checked }, 'full sync: mirror matches Stripe');
  return report;
}

/** The revenue history's event points not written yet, by subscription: empty until they are valued. */
class PointsBySubscription {
  private readonly bySub = new Map<string, PagePoint[]>();
  /** Settles once the points are valued (or could not be: the sync then fails on them later). */
  ready: Promise<unknown> = Promise.resolve();

  fill(points: PagePoint[]): void {
    for (const p of points) this.bySub.set(p.sid, [...(this.bySub.get(p.sid) ?? []), p]);
  }

  /** The points of these subscriptions, no longer here. */
  take(ids: string[]): PagePoint[] {
    const out: PagePoint[] = [];
    for (const id of ids) {
      out.push(...(this.bySub.get(id) ?? []));
      this.bySub.delete(id);
    }
    return out;
  }

  giveBack(points: PagePoint[]): void {
    this.fill(points);
  }

  rest(): PagePoint[] {
    return [...this.bySub.values()].flat();
  }
}

/** A list whose first page (no cursor) is `first`, when given, instead of a new request. */
function startingWith<T>(
  first: Promise<Stripe.ApiList<T>> | undefined,
  list: (params: { limit: number; starting_after?: string }) => Promise<Stripe.ApiList<T>>,
): (params: { limit: number; starting_after?: string }) => Promise<Stripe.ApiList<T>> {
  let pending = first;
  return (params) => {
    if (pending && params.starting_after === undefined && params.limit === PAGE) {
      const page = pending;
      pending = undefined;
      return page;
    }
    return list(params);
  };
}

/** `data.` + SUBSCRIPTION_MIRROR_EXPAND: the list's subscriptions as the mirror needs them. */
const SUBSCRIPTION_LIST_EXPAND = SUBSCRIPTION_MIRROR_EXPAND.map((path) => `data.${path}`);

/**
 * One resource: its list page by page, each object prepared (a failure skips that object with its
 * reason) and each page reconciled in one transaction.
 */
async function listAndReconcile<T extends { id: string }>(
  orm: Orm,
  kind: MirrorKind,
  list: (params: { limit: number; starting_after?: string }) => Promise<Stripe.ApiList<T>>,
  prepare: (obj: T, em: EntityManager) => Promise<Listed>,
  run: {
    ctx: { stripe: Stripe; catalog: PlanCatalog; repair: boolean; points?: PointsBySubscription };
    guarded: (table: DriftTable, id: string, work: () => Promise<DriftEntry | null>) => Promise<void>;
    record: (entry: DriftEntry | null) => void;
    seen: Set<string>;
    checked: (n: number) => void;
  },
): Promise<void> {
  const table = TABLE_OF[kind];
  // Pages are reconciled while the next ones are listed, a few at a time (different objects, so
  // their transactions do not wait on each other): the run is bound by its round trips, not by CPU.
  const inFlight = new Set<Promise<void>>();
  await forEachPage(list, async (objects) => {
    while (inFlight.size >= PAGES_IN_FLIGHT) await Promise.race(inFlight);
    const em = orm.em.fork();
    const listed: Listed[] = [];
    for (const obj of objects) {
      run.seen.add(obj.id);
      await run.guarded(table, obj.id, async () => {
        listed.push(await prepare(obj, em));
        return null;
      });
    }
    const done: Promise<void> = reconcilePage(orm, kind, listed, run.ctx, run.guarded, run.record).then(() => {
      run.checked(objects.length);
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done)).catch(() => undefined);
  });
  await Promise.all(inFlight);
}

async function staleRows(
  opts: SyncFullOptions,
  seen: Record<DriftTable, Set<string>>,
  ctx: { stripe: Stripe; catalog: PlanCatalog; repair: boolean },
  guarded: (table: DriftTable, id: string, work: () => Promise<DriftEntry | null>) => Promise<void>,
): Promise<void> {
  // One statement for the three tables: the rows whose ids the lists did not return (`<> all` of a
  // constant array is a hash lookup per row).
  const unseen = (set: Set<string>) => (set.size > 0 ? [...set] : ['']);
  const rows = await (opts.orm.em.fork() as SqlEntityManager).execute<{ t: DriftTable; id: string }[]>(
    `select 'customers' as t, "id" from "customers" where not "deleted" and "id" <> all(array[?]::text[])
     union all select 'invoices', "id" from "invoices" where "id" <> all(array[?]::text[])
     union all select 'subscriptions', "id" from "subscriptions" where "id" <> all(array[?]::text[])`,
    [unseen(seen.customers), unseen(seen.invoices), unseen(seen.subscriptions)],
  );
  const of = (t: DriftTable) => rows.filter((r) => r.t === t);
  const live = of('customers');
  for (const { id } of live) {
    await guarded('customers', id, async () => {
      let c: Stripe.Customer | Stripe.DeletedCustomer;
      try {
        c = await ctx.stripe.customers.retrieve(id);
      } catch (err) {
        if (!isResourceMissing(err)) throw err;
        c = { id, object: 'customer', deleted: true } as Stripe.DeletedCustomer;
      }
      if (c.deleted !== true) return null; // listed meanwhile; nothing stale
      if (ctx.repair) await repairLocked(opts.orm, 'customer', id, c, ctx);
      return { table: 'customers', id, kind: 'stale', fields: ['deleted'] };
    });
  }
  for (const { id } of of('invoices')) {
    await guarded('invoices', id, async () => {
      try {
        await ctx.stripe.invoices.retrieve(id);
        return null;
      } catch (err) {
        if (!isResourceMissing(err)) throw err;
      }
      if (ctx.repair) await repairLocked(opts.orm, 'invoice', id, null, ctx);
      return { table: 'invoices', id, kind: 'stale', fields: [] };
    });
  }
  for (const { id } of of('subscriptions')) {
    await guarded('subscriptions', id, async () => {
      let s: Stripe.Subscription;
      try {
        s = await ctx.stripe.subscriptions.retrieve(id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] });
      } catch (err) {
        if (!isResourceMissing(err)) throw err;
        // Unknown to this Stripe account: left as is, reported.
        return { table: 'subscriptions', id, kind: 'stale', fields: [] };
      }
      if (ctx.repair) await repairLocked(opts.orm, 'subscription', id, s, ctx);
      return { table: 'subscriptions', id, kind: 'stale', fields: [] };
    });
  }
}

/** Writes Stripe's copy of one object under its lock, keeping the row's stamp; `obj` null deletes the (invoice) row. */
async function repairLocked(
  orm: Orm,
  kind: MirrorKind,
  id: string,
  obj: Stripe.Customer | Stripe.DeletedCustomer | Stripe.Subscription | null,
  ctx: { stripe: Stripe; catalog: PlanCatalog },
): Promise<void> {
  await orm.em.fork().transactional(async (em) => {
    await lockObject(em, id);
    if (!obj) {
      if (kind === 'invoice') await deleteInvoice(em, id);
      return;
    }
    const stamp = await rowStamp(em, kind, id);
    await mirrorObject(em, obj, { catalog: ctx.catalog, stripe: ctx.stripe, nested: false, ...(stamp ? { lastEventAt: stamp } : {}) });
  });
}
