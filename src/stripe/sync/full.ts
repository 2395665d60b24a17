/**
 * Full reconciliation: re-reads customers, subscriptions (every status, canceled included: listing only
 * live ones would keep a subscription canceled during an outage active forever) and invoices from
 * Stripe, compares each with its mirror row (the columns the gateway reads; `raw` and bookkeeping
 * columns aside), repairs the rows that differ and reports which rows and fields did.
 *
 * Rows written here follow the convergence rule of `convergence.ts`: each object is written under its
 * lock, and keeps its `last_event_at` (the copy read now is at least as new as any event already
 * applied), so a later event still applies or re-reads as usual.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type Stripe from 'stripe';
import { loadCatalog } from '../../catalog.js';
import { repairMrrTotals } from '../../db/mrr-totals.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { isResourceMissing } from '../client.js';
import {
  customerRow,
  deleteInvoice,
  fetchAllLines,
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
import { lockObject, MIRROR_TABLES, rowStamp, type MirrorKind } from './convergence.js';
import { backfillMrrPoints, type MrrBackfillReport } from './revenue-backfill.js';

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

/** The stored row with its columns as the mapper names them (camelCase), via the ORM's metadata. */
async function storedRow(em: EntityManager, kind: MirrorKind, id: string): Promise<Record<string, unknown> | null> {
  const rows = await (em as SqlEntityManager).execute<Record<string, unknown>[]>(`select * from "${MIRROR_TABLES[kind]}" where "id" = ?`, [id]);
  const row = rows[0];
  if (!row) return null;
  const camel: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) camel[k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = v;
  // timestamptz may come back as strings (driver parsers differ): compare instants.
  for (const [k, v] of Object.entries(camel)) {
    if (typeof v === 'string' && /(At|Start|End|Date|Attempt)$/.test(k) && !Number.isNaN(Date.parse(v))) camel[k] = new Date(v);
  }
  return camel;
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

async function listAll<T>(iter: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iter) out.push(x);
  return out;
}

export async function syncFull(opts: SyncFullOptions): Promise<FullSyncReport> {
  const log = (opts.log ?? rootLogger).child({ module: 'sync' });
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

  // Customers (Stripe's list leaves deleted ones out: those are checked with the stale rows below).
  const customers = await listAll(opts.stripe.customers.list({ limit: 100 }));
  for (const [i, listed] of customers.entries()) {
    seen.customers.add(listed.id);
    // Compared as the mirror stores it (text PostgreSQL cannot hold replaced), so that is no drift.
    const c = toStorableText(listed);
    await guarded('customers', c.id, () =>
      reconcileOne(
        opts.orm,
        async () => {
          const data = customerRow(c) as Record<string, unknown>;
          return { kind: 'customer', id: c.id, obj: c, data };
        },
        ctx,
      ),
    );
    report.checked.customers++;
    opts.onProgress?.({ table: 'customers', done: i + 1, total: customers.length });
  }

  const subs = await listAll(opts.stripe.subscriptions.list({ status: 'all', limit: 100 }));
  for (const [i, listed] of subs.entries()) {
    seen.subscriptions.add(listed.id);
    await guarded('subscriptions', listed.id, async () => {
      const s = toStorableText(await withMirrorExpansions(opts.stripe, listed));
      return reconcileOne(
        opts.orm,
        async (em) => {
          const prices = await loadPriceFacts(em, unexpandedPriceIds(s));
          return { kind: 'subscription', id: s.id, obj: s, data: subscriptionRow(s, catalog, prices) as Record<string, unknown> };
        },
        ctx,
      );
    });
    report.checked.subscriptions++;
    opts.onProgress?.({ table: 'subscriptions', done: i + 1, total: subs.length });
  }

  const invoices = await listAll(opts.stripe.invoices.list({ limit: 100 }));
  for (const [i, listed] of invoices.entries()) {
    seen.invoices.add(listed.id);
    await guarded('invoices', listed.id, async () => {
      const lines = listed.lines?.has_more ? await fetchAllLines(opts.stripe, listed) : undefined;
      const inv = toStorableText(lines ? { ...listed, lines: { ...listed.lines, data: lines, has_more: false } } : listed);
      return reconcileOne(opts.orm, async () => ({ kind: 'invoice', id: inv.id, obj: inv, data: invoiceRow(inv) as Record<string, unknown> }), ctx);
    });
    report.checked.invoices++;
    opts.onProgress?.({ table: 'invoices', done: i + 1, total: invoices.length });
  }

  // Rows the lists did not return: deleted customers (still marked live here), deleted draft invoices,
  // or objects of another account/mode. Each is retrieved once to tell which.
  await staleRows(opts, seen, ctx, guarded);

  const byTable: Record<DriftTable, number> = { customers: 0, subscriptions: 0, invoices: 0 };
  for (const d of report.drift) byTable[d.table]++;
  for (const [table, n] of Object.entries(byTable)) {
    webhookMetrics.syncDriftRows.set({ table }, n);
    if (n > 0) webhookMetrics.syncDriftTotal.inc({ table }, n);
  }
  // The revenue history: what Stripe's recent subscription events say each subscription was worth when.
  if (ctx.repair) report.mrrBackfill = await backfillMrrPoints(opts.orm, opts.stripe);
  // The MRR totals follow each row write (triggers); checking them here repairs whatever bypassed that.
  if (ctx.repair && (await repairMrrTotals(opts.orm.em.fork()))) log.warn('full sync rebuilt the MRR totals: they differed from the mirrored subscriptions');
  if (report.failed.length > 0) log.warn({ failed: report.failed.length }, 'full sync skipped objects it could not check (see the report)');
  if (report.drift.length > 0) log.warn({ drift: report.drift.length, byTable }, 'full sync found the mirror out of date with Stripe');
  else log.info({ checked: report.checked }, 'full sync: mirror matches Stripe');
  return report;
}

async function staleRows(
  opts: SyncFullOptions,
  seen: Record<DriftTable, Set<string>>,
  ctx: { stripe: Stripe; catalog: PlanCatalog; repair: boolean },
  guarded: (table: DriftTable, id: string, work: () => Promise<DriftEntry | null>) => Promise<void>,
): Promise<void> {
  const conn = opts.orm.em.fork() as SqlEntityManager;
  const live = await conn.execute<{ id: string }[]>(`select "id" from "customers" where not "deleted"`);
  for (const { id } of live) {
    if (seen.customers.has(id)) continue;
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
  const invoices = await conn.execute<{ id: string }[]>(`select "id" from "invoices"`);
  for (const { id } of invoices) {
    if (seen.invoices.has(id)) continue;
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
  const subs = await conn.execute<{ id: string }[]>(`select "id" from "subscriptions"`);
  for (const { id } of subs) {
    if (seen.subscriptions.has(id)) continue;
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
