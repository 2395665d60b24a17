/**
 * Reconciliation by events: pages `events.list` from a persisted cursor (the newest event this job
 * has seen, in `sync_state`), stores what the inbox lacks, and processes it like a webhook delivery.
 * Events withheld, lost or refused (e.g. while the gateway was down past Stripe's retries) are caught up.
 *
 * The cursor is an event id, used with `ending_before` (Stripe lists in creation order, so this yields
 * exactly the events created after it, oldest first), not a timestamp: `created` is whole seconds and,
 * on test clocks, the clock's frozen time, so a time cursor would miss or repeat events. If the cursor
 * event is gone (older than Stripe's 30-day retention), every listed event is re-read; the inbox
 * drops those it already has.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { Counter } from 'prom-client';
import type Stripe from 'stripe';
import { readSyncState, writeSyncState } from '../../db/sync-state.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { metricsRegistry } from '../../metrics.js';
import { isResourceMissing } from '../client.js';
import type { PlanCatalog } from '../mirror/index.js';
import { storeEvents } from '../webhooks/inbox.js';
import { webhookMetrics } from '../webhooks/metrics.js';
import type { AfterEventHook } from '../webhooks/after-event.js';
import { reasonOf, WebhookWorker, type ProcessOutcome, type WebhookWorkerOptions } from '../webhooks/worker.js';

export const EVENTS_CURSOR_KEY = 'sync.events_cursor';
/** The last events sync's outcome (`EventsSyncRun`), for /readyz: a sync that keeps failing is stuck. */
export const EVENTS_SYNC_RUN_KEY = 'sync.events_last_run';

/** What the last events sync did, kept in `sync_state`. */
export interface EventsSyncRun {
  /** When it ended (ISO). */
  at: string;
  ok: boolean;
  /** Failed runs in a row (0 after a success). */
  consecutiveFailures: number;
  /** The last failure's reason (one line, no secret). */
  error?: string;
  /** When the last successful run ended (ISO). */
  lastSuccessAt?: string;
}

/** `events.list` page size; the inbox stores each page in one statement. */
const PAGE_SIZE = 100;

export interface EventsCursor {
  id: string;
  created: number;
}

export interface SyncMissedEventsOptions {
  orm: Orm;
  stripe: Stripe;
  catalog?: PlanCatalog;
  afterEvent?: AfterEventHook;
  /**
   * Instead of `afterEvent`: the hook, asked for only when the inbox holds events to process (none:
   * nothing is processed). Building it (signals, dunning, their modules) was a good part of a short
   * command's time when, as usually, there is nothing to process.
   */
  loadAfterEvent?: () => Promise<AfterEventHook>;
  /** Process the stored events now (default true); false leaves them to the running workers. */
  process?: boolean;
  /**
   * Attempts per event when processing here (default 3, retried at once): an event that still fails
   * is parked with its reason, so one bad event never stops the run. The periodic sync passes the
   * worker's own backoff instead (its next runs retry).
   */
  processing?: Pick<WebhookWorkerOptions, 'maxAttempts' | 'retryBaseMs'>;
  /**
   * With no cursor yet: 'all' (default) reads every event Stripe still lists (up to 30 days) and
   * processes what the inbox lacks; 'latest' only records the newest event as the cursor, so a new
   * installation does not replay history as live signals (use `syncFull` to backfill the mirror).
   */
  firstRun?: 'all' | 'latest';
  onProgress?: (p: { phase: 'events' | 'processing'; done: number; total: number }) => void;
  log?: Logger;
}

export interface MissedEventsReport {
  /** Events listed from Stripe after the cursor. */
  listed: number;
  /** Of those, events the inbox did not have. */
  missed: number;
  /** Missed events of types the gateway does not handle (stored as ignored). */
  ignored: number;
  /** Outcomes of processing (when `process` is on): events processed, and events not (left to retry, or parked). */
  processed: number;
  failed: number;
  /** Events parked by this run, with the reason (`parkedWebhookEvents` lists them; `retryParkedWebhookEvent` retries one). */
  parked: { id: string; type: string; reason: string }[];
  /** The cursor before and after this run. */
  cursorBefore: EventsCursor | null;
  cursorAfter: EventsCursor | null;
  /** True when the cursor event no longer exists at Stripe and everything listable was re-read. */
  cursorReset: boolean;
}

export const eventsCursorUnreadable = new Counter({
  name: 'stripe_events_cursor_unreadable_total',
  help: 'Events-sync cursors found unreadable: the sync then starts over as on a first run.',
  registers: [metricsRegistry],
});

/** The stored cursor; null when there is none, or when it is unreadable (logged and counted: the sync then starts over). */
export async function readEventsCursor(em: EntityManager, log: Logger = rootLogger): Promise<EventsCursor | null> {
  const value = await readSyncState(em, EVENTS_CURSOR_KEY);
  if (value === null) return null;
  let v: Partial<EventsCursor> | null = null;
  try {
    v = JSON.parse(value) as Partial<EventsCursor> | null;
  } catch {
    // reported below
  }
  if (v && typeof v.id === 'string' && typeof v.created === 'number') return { id: v.id, created: v.created };
  eventsCursorUnreadable.inc();
  log.warn(
    { module: 'sync', key: EVENTS_CURSOR_KEY, value: value.length > 80 ? `${value.slice(0, 80)}…` : value },
    'the events sync cursor is unreadable: starting over as on a first run',
  );
  return null;
}

export async function writeEventsCursor(em: EntityManager, cursor: EventsCursor): Promise<void> {
  await writeSyncState(em, EVENTS_CURSOR_KEY, JSON.stringify(cursor));
}

export async function readEventsSyncRun(em: EntityManager): Promise<EventsSyncRun | null> {
  const value = await readSyncState(em.fork(), EVENTS_SYNC_RUN_KEY);
  if (value === null) return null;
  try {
    return JSON.parse(value) as EventsSyncRun;
  } catch {
    return null;
  }
}

/** Records a run's outcome; a failure counts on from the previous run's. */
async function recordEventsSyncRun(em: EntityManager, error: unknown | null): Promise<void> {
  const previous = await readEventsSyncRun(em);
  const at = new Date().toISOString();
  const run: EventsSyncRun =
    error === null
      ? { at, ok: true, consecutiveFailures: 0, lastSuccessAt: at }
      : {
          at,
          ok: false,
          consecutiveFailures: (previous?.ok === false ? previous.consecutiveFailures : 0) + 1,
          error: reasonOf(error),
          ...(previous?.lastSuccessAt ? { lastSuccessAt: previous.lastSuccessAt } : {}),
        };
  await writeSyncState(em.fork(), EVENTS_SYNC_RUN_KEY, JSON.stringify(run));
}

/** Events after `cursor`, oldest first; `null` cursor: every listable event, oldest first. */
async function* eventsAfter(stripe: Stripe, cursor: EventsCursor | null): AsyncGenerator<Stripe.Event> {
  if (cursor) {
    // With ending_before the SDK pages towards newer events and yields each page oldest first.
    yield* stripe.events.list({ ending_before: cursor.id, limit: PAGE_SIZE });
    return;
  }
  const all: Stripe.Event[] = [];
  for await (const e of stripe.events.list({ limit: PAGE_SIZE })) all.push(e);
  yield* all.reverse();
}

/**
 * One events sync. Its outcome is recorded for /readyz (`readEventsSyncRun`), a failure too (then
 * rethrown): a sync that fails run after run is reported as stuck.
 */
export async function syncMissedEvents(opts: SyncMissedEventsOptions): Promise<MissedEventsReport> {
  let report: MissedEventsReport;
  try {
    report = await runSyncMissedEvents(opts);
  } catch (err) {
    webhookMetrics.syncFailures.inc();
    await recordEventsSyncRun(opts.orm.em, err).catch(() => undefined);
    throw err;
  }
  await recordEventsSyncRun(opts.orm.em, null);
  return report;
}

async function runSyncMissedEvents(opts: SyncMissedEventsOptions): Promise<MissedEventsReport> {
  const log = (opts.log ?? rootLogger).child({ module: 'sync' });
  const em = opts.orm.em.fork();
  const cursorBefore = await readEventsCursor(em, log);
  const report: MissedEventsReport = {
    listed: 0,
    missed: 0,
    ignored: 0,
    processed: 0,
    failed: 0,
    parked: [],
    cursorBefore,
    cursorAfter: cursorBefore,
    cursorReset: false,
  };

  // Stored a page at a time (one INSERT per page, not per event); a first run may list thousands.
  // The cursor follows each stored page, so a run that fails later (Stripe unreachable) keeps its progress.
  const store = async (page: Stripe.Event[]) => {
    if (page.length === 0) return;
    const outcomes = await storeEvents(em, page.map((event) => ({ event })));
    page.forEach((event, i) => {
      report.listed++;
      if (outcomes[i] !== 'duplicate') report.missed++;
      if (outcomes[i] === 'ignored') report.ignored++;
      report.cursorAfter = { id: event.id, created: event.created };
      opts.onProgress?.({ phase: 'events', done: report.listed, total: report.listed });
    });
    if (report.cursorAfter) await writeEventsCursor(em, report.cursorAfter);
  };
  const consume = async (events: AsyncIterable<Stripe.Event>) => {
    let page: Stripe.Event[] = [];
    try {
      for await (const event of events) {
        page.push(event);
        // Flushed before the next item is asked for, i.e. before the SDK fetches the next page.
        if (page.length === PAGE_SIZE) {
          const full = page;
          page = [];
          await store(full);
        }
      }
    } finally {
      // Also when listing fails part way: what was listed is stored, as one event at a time did.
      await store(page);
    }
  };
  if (!cursorBefore && opts.firstRun === 'latest') {
    const newest = (await opts.stripe.events.list({ limit: 1 })).data[0];
    if (newest) {
      report.cursorAfter = { id: newest.id, created: newest.created };
      await writeEventsCursor(em, report.cursorAfter);
    }
    return report;
  }
  try {
    await consume(eventsAfter(opts.stripe, cursorBefore));
  } catch (err) {
    if (!cursorBefore || !isResourceMissing(err)) throw err;
    log.warn({ cursor: cursorBefore.id }, 'events cursor no longer exists at Stripe; re-reading every listable event');
    report.cursorReset = true;
    report.cursorAfter = null;
    await consume(eventsAfter(opts.stripe, null));
  }
  if (report.missed > 0) {
    webhookMetrics.missedEvents.inc(report.missed - report.ignored);
    log.info({ listed: report.listed, missed: report.missed }, 'events missed by webhooks stored for processing');
  }

  if (opts.process !== false && (opts.afterEvent || !opts.loadAfterEvent || (await inboxHoldsWork(em)))) {
    const worker = new WebhookWorker({
      orm: opts.orm,
      stripe: opts.stripe,
      catalog: opts.catalog,
      afterEvent: opts.afterEvent ?? (await opts.loadAfterEvent?.()),
      log: opts.log,
      ...(opts.processing ?? { maxAttempts: 3, retryBaseMs: 0 }),
    });
    const outcomes: ProcessOutcome[] = await worker.drain();
    // An event retried within the run has several outcomes: its last one counts.
    const last = new Map(outcomes.map((o) => [o.eventId, o]));
    for (const o of last.values()) {
      if (o.status === 'processed') report.processed++;
      else report.failed++;
      if (o.status === 'parked') report.parked.push({ id: o.eventId, type: o.type, reason: o.error });
    }
    opts.onProgress?.({ phase: 'processing', done: last.size, total: last.size });
  }
  return report;
}

/**
 * True when some inbox event is pending or being processed: what the worker claims, and more (pending
 * events not due yet), so a run that finds none has nothing to process.
 */
async function inboxHoldsWork(em: EntityManager): Promise<boolean> {
  const rows = await (em as SqlEntityManager).execute<{ work: boolean }[]>(
    `select exists (select 1 from "webhook_events" where "status" in ('pending', 'processing')) as "work"`,
  );
  return rows[0]?.work === true;
}
