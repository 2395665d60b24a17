/**
 * The periodic reconciliation job: `syncMissedEvents` every `intervalMs` (default 5 min), one run at a
 * time per process, leaving processing to the running workers. Its first run ever only sets the cursor
 * (`firstRun: 'latest'`): history before the gateway existed is `sync --full`'s job, not live signals. Replicas may run it concurrently: the
 * inbox drops events it already has, so the worst case is a repeated listing.
 */
import { logger as rootLogger } from '../../log.js';
import { syncMissedEvents, type SyncMissedEventsOptions } from './missed-events.js';

export interface PeriodicSyncOptions extends Omit<SyncMissedEventsOptions, 'onProgress'> {
  intervalMs?: number;
  /** Called after each run stored events (e.g. the worker's `notify`). */
  onMissed?: (count: number) => void;
}

export interface PeriodicSync {
  /** Runs once now (also what the timer calls); concurrent calls share the run in progress. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startPeriodicSync(opts: PeriodicSyncOptions): PeriodicSync {
  const log = (opts.log ?? rootLogger).child({ module: 'sync' });
  let running: Promise<void> | null = null;
  let stopped = false;
  const runNow = () =>
    (running ??= (async () => {
      try {
        const report = await syncMissedEvents({ ...opts, process: opts.process ?? false, firstRun: opts.firstRun ?? 'latest' });
        if (report.missed > 0) opts.onMissed?.(report.missed);
      } catch (err) {
        log.warn({ reason: (err as Error).message }, 'periodic events sync failed; will retry at the next interval');
      } finally {
        running = null;
      }
    })());
  const timer = setInterval(() => {
    if (!stopped) void runNow();
  }, opts.intervalMs ?? 300_000);
  timer.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
