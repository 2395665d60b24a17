/**
 * A mirror that was never synced (a new database: a first deploy beside an existing Stripe account, or a
 * switch from PGlite to PostgreSQL over the same sandbox state) would serve its emptiness as the truth:
 * MRR $0.00, no customers. The periodic sync's first run only sets its cursor (live signals, not history),
 * so before the gateway serves, such a mirror is filled by a full sync. The events cursor is taken first,
 * so whatever happens at Stripe meanwhile is listed again by the periodic sync (convergence skips repeats).
 */
import type Stripe from 'stripe';
import { readSyncState, writeSyncState } from '../../db/sync-state.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import type { PlanCatalog } from '../mirror/index.js';
import { syncFull, type FullSyncReport } from './full.js';
import { isResourceMissing } from '../client.js';
import { readEventsCursor, writeEventsCursor } from './missed-events.js';

/** Set once a new mirror was backfilled (an account with no events yet leaves no cursor to tell by). */
export const BACKFILLED_KEY = 'sync.backfilled_at';

/** Runs the full sync when this database has never been synced; null when it has. */
export async function backfillNewMirror(opts: { orm: Orm; stripe: Stripe; catalog: PlanCatalog; log?: Logger }): Promise<FullSyncReport | null> {
  const log = (opts.log ?? rootLogger).child({ module: 'sync' });
  const em = opts.orm.em.fork();
  if ((await readEventsCursor(em)) || (await readSyncState(em, BACKFILLED_KEY)) !== null) return null;
  log.info('the mirror has never been synced: reading customers, subscriptions and invoices from Stripe before serving');
  const newest = (await opts.stripe.events.list({ limit: 1 })).data[0];
  const report = await syncFull({ orm: opts.orm, stripe: opts.stripe, catalog: opts.catalog, log: opts.log });
  if (newest) await writeEventsCursor(em, { id: newest.id, created: newest.created });
  await writeSyncState(em, BACKFILLED_KEY, new Date().toISOString());
  log.info({ checked: report.checked, written: report.repaired }, 'mirror backfilled from Stripe');
  return report;
}

/**
 * Before a full sync lists Stripe's objects: replay (catch up the events since the events cursor
 * first, for their signals) when the cursor is an event Stripe still holds; otherwise (a mirror never
 * synced, or a cursor older than Stripe's 30-day event retention) the lists are the truth, so the
 * cursor is moved to the newest event now, the listing's start: the events sync after the listing
 * then processes only what changed while it ran, and no history is replayed as live signals.
 */
export async function fullSyncEventsStart(
  orm: Orm,
  stripe: Stripe,
  opts: {
    /** `events.list({ limit: 1 })` when the caller asked for it already (before the listing starts, as it must be). */
    newest?: Promise<Stripe.ApiList<Stripe.Event>>;
  } = {},
): Promise<{ replay: boolean }> {
  const em = orm.em.fork();
  const cursor = await readEventsCursor(em);
  if (cursor) {
    try {
      await stripe.events.retrieve(cursor.id);
      return { replay: true };
    } catch (err) {
      if (!isResourceMissing(err)) throw err;
    }
  }
  const newest = (await (opts.newest ?? stripe.events.list({ limit: 1 }))).data[0];
  if (newest) await writeEventsCursor(em, { id: newest.id, created: newest.created });
  return { replay: false };
}
