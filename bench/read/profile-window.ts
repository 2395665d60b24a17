/**
 * Self time per request from a `--cpu-prof` profile of `bench/read/run.ts --skip-baseline`: only the
 * samples of the last `--seconds` (the measured run), by area and by function, in µs per request.
 * Syscall time (`writev`, `writeUtf8String`, `read`) is shown apart: on a shared machine it is mostly
 * time the process waits descheduled in the kernel, and it grows with the machine's load.
 *
 *   node --experimental-transform-types --no-warnings bench/read/profile-window.ts <file.cpuprofile> --requests N [--seconds 12] [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { inclusive: { type: 'boolean' }, requests: { type: 'string' }, seconds: { type: 'string', default: '12' }, top: { type: 'string', default: '25' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const requests = Number(values.requests);
if (!(requests > 0)) throw new Error('--requests N: the requests of the measured run (its log line)');
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Sample times: the deltas accumulate backwards from the end.
const times: number[] = [];
let t = profile.endTime;
for (let i = profile.samples.length - 1; i >= 0; i--) {
  times[i] = t;
  t -= profile.timeDeltas[i] ?? 0;
}
const from = profile.endTime - Number(values.seconds) * 1e6;
const SYSCALLS = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'read', 'writeLatin1String']);
const area = (n: Node): string => {
  const { functionName: f, url } = n.callFrame;
  if (f === '(idle)') return '(idle)';
  if (SYSCALLS.has(f) && !url) return '(syscalls: socket writes/reads)';
  if (!url) return f.startsWith('(') ? f : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return 'node:*';
  if (url.includes('/dist/src/')) return 'gateway: ' + url.split('/dist/src/')[1]!.split('/')[0];
  return url;
};
const byArea = new Map<string, number>();
const byFn = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i]! < from) continue;
  const n = byId.get(profile.samples[i]!)!;
  const d = profile.timeDeltas[i] ?? 0;
  total += d;
  const a = area(n);
  byArea.set(a, (byArea.get(a) ?? 0) + d);
  if (a === '(idle)') continue;
  const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '')}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + d);
}
const us = (d: number) => (d / requests).toFixed(1).padStart(7);
const busy = total - (byArea.get('(idle)') ?? 0);
const sys = byArea.get('(syscalls: socket writes/reads)') ?? 0;
console.log(`last ${values.seconds} s, ${requests} requests: ${us(busy)} µs busy per request, ${us(busy - sys)} µs without the socket syscalls`);
console.log('\nby area (µs per request):');
for (const [a, d] of [...byArea].filter(([a]) => a !== '(idle)').sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`${us(d)}  ${a}`);
console.log('\nby function (µs per request):');
for (const [f, d] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, Number(values.top))) console.log(`${us(d)}  ${f}`);

// Inclusive time of each function (each sample counted once per distinct function on its stack).
if (process.argv.includes('--inclusive')) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes as (Node & { children?: number[] })[]) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    if (times[i]! < from) continue;
    const d = profile.timeDeltas[i] ?? 0;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === '(idle)') break;
      const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '')}${n.callFrame.url ? ':' + (n.callFrame.lineNumber + 1) : ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + d);
    }
  }
  console.log('\ninclusive (µs per request):');
  for (const [f, d] of [...incl].sort((x, y) => y[1] - x[1]).slice(0, Number(values.top) * 2)) console.log(`${us(d)}  ${f}`);
}
