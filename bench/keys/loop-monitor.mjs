/**
 * Preloaded into the gateway by `npm run bench -- keys --loop-delay` (`node --import`): once a second,
 * appends to $KEYS_LOOP_FILE one JSON line with the event loop's delay over that second (perf_hooks
 * monitorEventLoopDelay, 1 ms resolution: p50, p99, max in ms), the GC pauses in it (by kind: count,
 * total and longest ms), and from v8.GCProfiler the bytes allocated in the young generation (what
 * each scavenge found in new space, less what the previous GC left there) and the bytes the
 * scavenges promoted to the old generation (old space after less before). Plain JavaScript: the
 * gateway runs from dist/ without type stripping.
 */
import { appendFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { GCProfiler } from 'node:v8';

const file = process.env.KEYS_LOOP_FILE;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};
const used = (stats, space) => stats.heapSpaceStatistics.find((s) => s.spaceName === space)?.spaceUsedSize ?? 0;
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
  let profiler = new GCProfiler();
  profiler.start();
  let youngLeft = null;
  setInterval(() => {
    const { statistics } = profiler.stop();
    profiler = new GCProfiler();
    profiler.start();
    let allocated = 0;
    let promoted = 0;
    for (const s of statistics) {
      const before = used(s.beforeGC, 'new_space') + used(s.beforeGC, 'new_large_object_space');
      if (youngLeft !== null) allocated += Math.max(0, before - youngLeft);
      youngLeft = used(s.afterGC, 'new_space') + used(s.afterGC, 'new_large_object_space');
      if (s.gcType === 'Scavenge' || s.gcType === 'MinorMarkSweep') promoted += Math.max(0, used(s.afterGC, 'old_space') - used(s.beforeGC, 'old_space'));
    }
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    appendFileSync(file, JSON.stringify({ t: Date.now(), p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), gc, allocated, promoted }) + '\n');
    delay.reset();
    gc = {};
  }, 1000).unref();
}
