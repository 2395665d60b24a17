/**
 * The periodic reconciliation job: `syncMissedEvents` every `intervalMs` (default 5 min), one run at a
 * time per process, leaving processing to the running workers. Its first run ever only sets the cursor
 * (`firstRun: 'latest'`): history before the gateway existed is `sync --full`'s job, not live signals. Replicas may run it concurrently: the
 * inbox drops events it already has, so the worst case is a repeated listing.
 */
import { logger as rootLogger } from '../../log.js';
import { syncMissedEvents, type SyncMissedEventsOptions } from './missed-events.js';
import { startPeriodicJob, type PeriodicJob } from '../../jobs/periodic-job.js';

export interface PeriodicSyncOptions extends Omit<SyncMissedEventsOptions, 'onProgress'> {
  intervalMs?: number;
  /** Called after each run stored events (e.g. the worker's `notify`). */
  onMissed?: (count: number) => void;
}

/** `runNow()` runs once now (also what the timer calls); concurrent calls share the run in progress. */
export type PeriodicSync = PeriodicJob<void>;

export function startPeriodicSync(opts: PeriodicSyncOptions): PeriodicSync {
  return startPeriodicJob({
    run: async () => {
      // Processing here (no webhook workers) keeps the worker's backoff: the next runs retry, then park.
      const report = await syncMissedEvents({ ...opts, process: opts.process ?? false, processing: opts.processing ?? {}, firstRun: opts.firstRun ?? 'latest' });
      if (report.missed > 0) opts.onMissed?.(report.missed);
    },
    onError: undefined,
    intervalMs: opts.intervalMs ?? 300_000,
    log: (opts.log ?? rootLogger).child({ module: 'sync' }),
    what: 'periodic events sync',
  });
}
