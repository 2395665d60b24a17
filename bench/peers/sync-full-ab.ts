/**
 * `sync --full` of several builds in alternating runs, on one recorded corpus: how a change to the CLI
 * moves its time, where the suite's `backfill` part (one build, against the peer) is too coarse. Each
 * build is a checkout with its own `npm run build`; each run gets a fresh migrated database; the order
 * of the builds alternates by round. Prints, per build, the median wall time (start to exit) and the
 * medians of the CLI's own `steps` (ms since its start; `f.` ones since the full sync's start).
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/peers/sync-full-ab.ts \
 *     before=/path/to/old/checkout after=. [--rounds 16] [--customers 150] [--months 3] [--seed 42] [-- node flags…]
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createBenchDatabase } from '../lib/db.ts';
import { median } from '../lib/stats.ts';
import { recordCorpus } from './lib/corpus.ts';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const nodeFlags = dash >= 0 ? args.slice(dash + 1) : [];
const own = dash >= 0 ? args.slice(0, dash) : args;
const option = (name: string, d: number) => {
  const i = own.indexOf(`--${name}`);
  return i >= 0 ? Number(own[i + 1]) : d;
};
const builds = own.filter((a, i) => a.includes('=') && !own[i - 1]?.startsWith('--')).map((a) => {
  const [name, dir] = a.split('=') as [string, string];
  return { name, bin: join(resolve(dir), 'bin/billing-gateway.js') };
});
if (builds.length === 0) {
  console.error('usage: sync-full-ab.ts name=checkout [name=checkout…] [--rounds 16] [-- node flags]');
  process.exit(2);
}
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const corpus = await recordCorpus({ customers: option('customers', 150), months: option('months', 3), seed: option('seed', 42) });
const results = new Map(builds.map((b) => [b.name, { wall: [] as number[], steps: new Map<string, number[]>() }]));
try {
  // One run each first: a build's first run fills Node's compile cache for it.
  for (const b of builds) await run(b, false);
  for (let r = 0; r < option('rounds', 16); r++) {
    for (const b of r % 2 ? [...builds].reverse() : builds) await run(b, true);
  }
} finally {
  await corpus.close();
}
for (const [name, r] of results) {
  console.log(`${name}: wall median ${median(r.wall).toFixed(0)} ms (${r.wall.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  steps (medians): ${[...r.steps].map(([k, v]) => `${k} ${median(v)}`).join(', ')}`);
}

async function run(b: { name: string; bin: string }, keep: boolean): Promise<void> {
  const db = await createBenchDatabase(serverUrl, 'sync_ab', { migrate: true });
  try {
    const t0 = performance.now();
    const { stderr } = await promisify(execFile)(process.execPath, [...nodeFlags, b.bin, 'sync', '--full', '--json'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_API_BASE: corpus.apiBase, LOG_LEVEL: 'debug' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wall = performance.now() - t0;
    if (!keep) return;
    const r = results.get(b.name)!;
    r.wall.push(wall);
    for (const line of stderr.split('\n')) {
      if (!line.includes('"steps"')) continue;
      const { steps, msg } = JSON.parse(line) as { steps: Record<string, number>; msg: string };
      const prefix = msg.startsWith('full sync') ? 'f.' : '';
      for (const [k, v] of Object.entries(steps)) r.steps.set(prefix + k, [...(r.steps.get(prefix + k) ?? []), v]);
    }
  } finally {
    await db.drop();
  }
}
