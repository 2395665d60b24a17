/**
 * Part `peers`: the gateway against the peers a team would pick instead (bench/peers/index.ts lists
 * the comparisons), each on the same data in the same run. Rows are prefixed with the sub-part.
 *
 *   npm run bench -- peers [--peers reads] [--part-timeout 600] [sub-part options]
 *   node --experimental-transform-types --no-warnings bench/peers/run.ts [same options]   (after `npm run build`)
 */
import type { BenchPart, BenchRow } from '../lib/part.ts';
import { runIfMain } from '../lib/report.ts';
import { PEER_SUBPARTS } from './index.ts';

export const part: BenchPart = {
  name: 'peers',
  description: `the gateway against its peers: ${PEER_SUBPARTS.map((p) => p.name).join(', ')}`,
  async run(ctx) {
    const only = ctx.options.peers?.split(',').map((s) => s.trim());
    const unknown = (only ?? []).filter((n) => !PEER_SUBPARTS.some((p) => p.name === n));
    if (unknown.length > 0) throw new Error(`unknown peers sub-part ${unknown.join(', ')} (sub-parts: ${PEER_SUBPARTS.map((p) => p.name).join(', ')})`);
    const rows: BenchRow[] = [];
    for (const sub of PEER_SUBPARTS) {
      if (only && !only.includes(sub.name)) continue;
      ctx.log(`peers/${sub.name}: ${sub.description}`);
      for (const row of await sub.run(ctx)) rows.push({ ...row, metric: `${sub.name}: ${row.metric}` });
    }
    return rows;
  },
};

runIfMain(import.meta.url, part);
