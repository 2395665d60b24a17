/**
 * Metered usage → Stripe Billing Meters. `createMeterEventFlusher` is the one place that composes the
 * flusher from the configuration; `serve` and the webhook sidecar build it in src/workers.ts.
 */
import type Stripe from 'stripe';
import type { Catalog } from '../../catalog.js';
import type { Config } from '../../config.js';
import type { Orm } from '../../db/orm.js';
import { logger as rootLogger, type Logger } from '../../log.js';
import { MeterEventFlusher } from './flusher.js';
import { readLedgerStats, setLedgerStatsSource } from './metrics.js';

export * from './classify.js';
export * from './flusher.js';
export * from './metrics.js';
export * from './parked.js';
export { TokenBucket } from './token-bucket.js';

export interface StartMeterEventFlusherOptions {
  orm: Orm;
  stripe: Stripe;
  catalog: Pick<Catalog, 'meters'>;
  settings: Config['usageFlush'];
  log?: Logger;
}

/**
 * The flusher of this process, not started yet (so writers of usage can be handed its `notify()` before
 * the server starts), or null when `USAGE_FLUSH_RATE_PER_SECOND=0` keeps this process from sending.
 */
export function createMeterEventFlusher(opts: StartMeterEventFlusherOptions): MeterEventFlusher | null {
  const log = opts.log ?? rootLogger;
  if (opts.settings.ratePerSecond <= 0) {
    log.info('USAGE_FLUSH_RATE_PER_SECOND=0: this process sends no meter events (another one must)');
    // Its /metrics still shows the shared ledger's backlog and lag, not a misleading 0.
    setLedgerStatsSource(() => readLedgerStats(opts.orm));
    return null;
  }
  const flusher = new MeterEventFlusher({
    orm: opts.orm,
    stripe: opts.stripe,
    catalog: opts.catalog,
    ratePerSecond: opts.settings.ratePerSecond,
    batchSize: opts.settings.batchSize,
    intervalMs: opts.settings.intervalMs,
    concurrency: opts.settings.concurrency,
    maxAttempts: opts.settings.maxAttempts,
    leaseMs: opts.settings.leaseSeconds * 1000,
    api: opts.settings.api,
    log: opts.log,
  });
  return flusher;
}

/** `createMeterEventFlusher`, started. */
export function startMeterEventFlusher(opts: StartMeterEventFlusherOptions): MeterEventFlusher | null {
  const flusher = createMeterEventFlusher(opts);
  flusher?.start();
  return flusher;
}
