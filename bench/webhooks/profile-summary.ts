/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function (name, file:line),
 * top N, and self time by package/area.
 *
 *   node --experimental-transform-types --no-warnings bench/webhooks/profile-summary.ts <file.cpuprofile> [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map<string, number>();
const area = new Map<string, number>();
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/work\/main\//, '');
  const key = `${functionName || '(anonymous)'}  ${file ? `${file}:${lineNumber + 1}` : ''}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  const a = !url
    ? functionName.startsWith('(') ? functionName : '(native)'
    : url.startsWith('node:')
      ? 'node:' + url.slice(5).split('/')[0]
      : file.startsWith('node_modules/')
        ? file.split('/').slice(0, file.split('/')[1]!.startsWith('@') ? 3 : 2).join('/')
        : file.split('/').slice(0, 3).join('/');
  area.set(a, (area.get(a) ?? 0) + us);
}
const pctOf = (us: number) => ((us / total) * 100).toFixed(1).padStart(5) + '%';
const out: string[] = [`total sampled ${(total / 1e6).toFixed(2)} s over ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s wall`, '', 'self time by area:'];
for (const [k, us] of [...area].sort((a, b) => b[1] - a[1]).slice(0, 20)) out.push(`${pctOf(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
out.push('', 'self time by function:');
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) out.push(`${pctOf(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
process.stdout.write(out.join('\n') + '\n');
