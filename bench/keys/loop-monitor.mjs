/**
 * Preloaded into the gateway by `npm run bench -- keys --loop-delay` (`node --import`): once a second,
 * appends to $KEYS_LOOP_FILE one JSON line with the event loop's delay over that second (perf_hooks
 * monitorEventLoopDelay, 1 ms resolution: p50, p99, max in ms) and the GC pauses in it (by kind:
 * count, total and longest ms). Plain JavaScript: the gateway runs from dist/ without type stripping.
 */
import { appendFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.KEYS_LOOP_FILE;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let gc = {};
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[e.detail?.kind] ?? String(e.detail?.kind);
      const k = (gc[kind] ??= { n: 0, ms: 0, max: 0 });
      k.n++;
      k.ms += e.duration;
      k.max = Math.max(k.max, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, JSON.stringify({ t: Date.now(), p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), gc }) + '\n');
    delay.reset();
    gc = {};
  }, 1000).unref();
}
