/**
 * A job that runs every `intervalMs` and on demand, one run at a time per process: a call while a run
 * is in progress shares it, a failed run is logged and retried at the next tick, and `stop()` waits
 * for the run in progress. The timer never keeps the process alive.
 */
import type { Logger } from '../log.js';

export interface PeriodicJob<T> {
  /** One run now (what the timer calls); concurrent calls share the run in progress. */
  runNow(): Promise<T>;
  stop(): Promise<void>;
}

export function startPeriodicJob<T>(opts: { run: () => Promise<T>; onError: T; intervalMs: number; log: Logger; what: string }): PeriodicJob<T> {
  let running: Promise<T> | null = null;
  let stopped = false;
  const runNow = () =>
    (running ??= (async () => {
      try {
        return await opts.run();
      } catch (err) {
        opts.log.warn({ reason: (err as Error).message }, `${opts.what} failed; will retry at the next tick`);
        return opts.onError;
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
