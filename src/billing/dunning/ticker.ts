/**
 * Real time moves without events: every `intervalMs` each replica runs due steps in a transaction of
 * its own (after closing cases whose invoice the mirror shows settled without an event, e.g. repaired
 * by `sync --full`). Replicas do not double-run a step (run-due-steps.ts claims with SKIP LOCKED and a
 * conditional update); one run at a time per process.
 */
import type { Orm } from '../../db/orm.js';
import type { Logger } from '../../log.js';
import type { Dunning } from './dunning.js';

export interface DunningTicker {
  /** One run now (what the timer calls); concurrent calls share the run in progress. */
  runNow(): Promise<number>;
  stop(): Promise<void>;
}

export function startDunningTicker(opts: { orm: Orm; dunning: Dunning; intervalMs: number; log: Logger }): DunningTicker {
  const log = opts.log.child({ module: 'dunning-ticker' });
  let running: Promise<number> | null = null;
  let stopped = false;
  const runNow = () =>
    (running ??= (async () => {
      try {
        return await opts.orm.em.fork().transactional((tx) => opts.dunning.sweep(tx));
      } catch (err) {
        log.warn({ reason: (err as Error).message }, 'dunning run failed; will retry at the next tick');
        return 0;
      } finally {
        running = null;
      }
    })());
  const timer = setInterval(() => {
    if (!stopped) void runNow();
  }, opts.intervalMs);
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
