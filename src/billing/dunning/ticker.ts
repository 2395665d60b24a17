/**
 * Real time moves without events: every `intervalMs` each replica runs due steps in a transaction of
 * its own (after closing cases whose invoice the mirror shows settled without an event, e.g. repaired
 * by `sync --full`). Replicas do not double-run a step (run-due-steps.ts claims with SKIP LOCKED and a
 * conditional update); one run at a time per process.
 */
import type { Orm } from '../../db/orm.js';
import type { Logger } from '../../log.js';
import type { Dunning } from './dunning.js';
import { startPeriodicJob, type PeriodicJob } from '../../jobs/periodic-job.js';

export type DunningTicker = PeriodicJob<number>;

export function startDunningTicker(opts: { orm: Orm; dunning: Dunning; intervalMs: number; log: Logger }): DunningTicker {
  return startPeriodicJob({
    run: () => opts.orm.em.fork().transactional((tx) => opts.dunning.sweep(tx)),
    onError: 0,
    intervalMs: opts.intervalMs,
    log: opts.log.child({ module: 'dunning-ticker' }),
    what: 'dunning run',
  });
}
