/**
 * Backfill into an empty mirror on the same account (the lifecycle corpus of lib/corpus.ts, recorded
 * anew): the gateway's `sync --full` (the CLI, `node bin/billing-gateway.js sync --full --json`, on a
 * fresh migrated database) against sync-engine's `syncBackfill` (on a fresh
 * database with its schema), each timed from start to exit, then compared with the emulator's truth.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/peers/backfill.ts [--customers 150] [--months 3] [--seed 42] [--rounds 5]
 *
 * `--rounds` (5) alternating rounds, each on fresh databases, compared by their medians. Before them, one
 * run of the CLI is reported on its own: its first run after a build compiles its modules; later runs
 * find them in Node's compile cache.
 *
 * Not the same work, nor the same conditions:
 * - `sync --full` is a process of its own, timed from its start to its exit (Node's start, loading the CLI, the ORM
 *   and the Stripe SDK, opening the database and checking its migrations); sync-engine's backfill runs inside this
 *   bench's process, its modules loaded and its pool open before the clock starts. It is also timed as a process of
 *   its own (lib/sync-engine-backfill.mjs, start to exit), for the log and a row that is not the target's.
 * - sync-engine writes the objects as listed; `sync --full` compares each with its mirror row, takes the events
 *   cursor, rebuilds the revenue history (an MRR point per subscription event Stripe holds, recomputed per customer
 *   by the database's triggers), checks the MRR totals and the rows the lists did not return.
 * The CLI's own timings (LOG_LEVEL=debug: its `steps` lines, ms since its start) go to the log.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { createBenchDatabase } from '../lib/db.ts';
import { ROOT } from '../lib/dist.ts';
import { runIfMain } from '../lib/report.ts';
import { recordCorpus } from './lib/corpus.ts';
import { compare, driftLine, driftTotal, idsOf, readTruth } from './lib/drift.ts';
import { gatewayMirror } from './webhooks.ts';
import { median } from '../lib/stats.ts';

interface Run {
  seconds: number;
  calls: number;
  drift: ReturnType<typeof driftTotal>;
  line: string;
}

const driftSum = (d: Run['drift']) => d.missing + d.stale + d.extra;

export async function runBackfill(ctx: BenchContext): Promise<BenchRow[]> {
  const num = (k: string, d: number) => (ctx.options[k] === undefined ? d : Number(ctx.options[k]));
  const rounds = Math.max(1, num('rounds', 5));
  const corpus = await recordCorpus({ customers: num('customers', 150), months: num('months', 3), seed: num('seed', 42) });
  try {
    const truth = await readTruth(corpus.stripe, idsOf(corpus.events));

    /** The mirror in the database at `url` against the emulator's truth. */
    const driftOf = async (url: string, read: (client: pg.Client) => ReturnType<typeof gatewayMirror>): Promise<Pick<Run, 'drift' | 'line'>> => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const drift = compare(truth, await read(client));
        return { drift: driftTotal(drift), line: driftLine(drift) };
      } finally {
        await client.end();
      }
    };

    /** The gateway: the CLI on a fresh, migrated database. */
    const gatewayRun = async (logSteps: boolean): Promise<Run> => {
      const db = await createBenchDatabase(ctx.databaseUrl, 'peers_bf', { migrate: true });
      try {
        const calls0 = corpus.apiCalls();
        const t0 = performance.now();
        const { stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/billing-gateway.js'), 'sync', '--full', '--json'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_API_BASE: corpus.apiBase, LOG_LEVEL: 'debug' },
          maxBuffer: 64 * 1024 * 1024,
        });
        const seconds = (performance.now() - t0) / 1000;
        for (const line of logSteps ? stderr.split('\n') : []) {
          if (!line.includes('"steps"')) continue;
          const { steps, msg } = JSON.parse(line) as { steps: Record<string, number>; msg: string };
          ctx.log(`backfill gateway ${msg}: ${Object.entries(steps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        }
        const calls = corpus.apiCalls() - calls0;
        return { seconds, calls, ...(await driftOf(db.url, gatewayMirror)) };
      } finally {
        await db.drop();
      }
    };

    /** The peer: its backfill in this process, on a fresh database with its schema. */
    let peerModule: typeof import('./lib/sync-engine.ts') | null = null;
    try {
      peerModule = await import('./lib/sync-engine.ts');
    } catch (err) {
      ctx.log(`backfill sync-engine: not available (${(err as Error).message.split('\n')[0]})`);
    }
    const peerRun = async (): Promise<Run> => {
      const { peerDatabase, peerSync, peerMirror } = peerModule!;
      const pdb = await peerDatabase(ctx.databaseUrl);
      try {
        const sync = peerSync(pdb.url, corpus.apiBase, false);
        // Its database is dropped WITH (FORCE) at the end: a connection its pool still holds then gets
        // "terminating connection due to administrator command", which must not crash the bench.
        (sync as unknown as { postgresClient: { pool: pg.Pool } }).postgresClient.pool.on('error', () => {});
        const calls0 = corpus.apiCalls();
        const t0 = performance.now();
        try {
          // `all` also lists objects the emulator does not serve (plans, disputes…): the three the mirrors share, in its order.
          for (const object of ['customer', 'subscription', 'invoice'] as const) await sync.syncBackfill({ object });
        } finally {
          await sync.close();
        }
        const seconds = (performance.now() - t0) / 1000;
        const calls = corpus.apiCalls() - calls0;
        return { seconds, calls, ...(await driftOf(pdb.url, peerMirror)) };
      } finally {
        await pdb.drop();
      }
    };

    /**
     * The peer timed as the CLI is: its backfill in a process of its own (./lib/sync-engine-backfill.mjs),
     * from its start to its exit. For the log and a row of its own; the target compares with the peer in
     * this process, its modules loaded and its pool open before its clock starts.
     */
    const peerProcessRun = async (): Promise<Run> => {
      const { peerDatabase, peerMirror } = peerModule!;
      const pdb = await peerDatabase(ctx.databaseUrl);
      try {
        const calls0 = corpus.apiCalls();
        const t0 = performance.now();
        await promisify(execFile)(process.execPath, [join(ROOT, 'bench/peers/lib/sync-engine-backfill.mjs')], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', PEER_DATABASE_URL: pdb.url, PEER_API_BASE: corpus.apiBase },
        });
        const seconds = (performance.now() - t0) / 1000;
        const calls = corpus.apiCalls() - calls0;
        return { seconds, calls, ...(await driftOf(pdb.url, peerMirror)) };
      } finally {
        await pdb.drop();
      }
    };

    // The CLI's first run after a build compiles its modules (Node's compile cache then keeps them, as
    // for any later run on that install); the peer's modules are loaded in this process before its
    // clock starts. So the first run is reported on its own, and the rounds after it compared.
    const cold = await gatewayRun(false);
    ctx.log(`backfill gateway \`sync --full\`, first run after the build (compile cache cold): ${cold.seconds.toFixed(2)} s, drift m/s/e ${cold.drift.missing}/${cold.drift.stale}/${cold.drift.extra}`);
    const gateway: Run[] = [];
    const peer: Run[] = [];
    const peerProcess: Run[] = [];
    if (peerModule) await peerProcessRun(); // its first run fills Node's compile cache for it, as the CLI's cold run does
    for (let r = 0; r < rounds; r++) {
      // Alternating, so drifts of the machine fall on all of them.
      gateway.push(await gatewayRun(r === rounds - 1));
      if (peerModule) peer.push(await peerRun());
      if (peerModule) peerProcess.push(await peerProcessRun());
    }
    const summary = (runs: Run[]) => {
      const last = runs[runs.length - 1]!;
      const drift = runs.reduce((worst, x) => (driftSum(x.drift) > driftSum(worst.drift) ? x : worst), last);
      return { seconds: median(runs.map((x) => x.seconds)), calls: last.calls, drift: drift.drift, line: drift.line, each: runs.map((x) => x.seconds.toFixed(2)).join(' ') };
    };
    const g = summary(gateway);
    ctx.log(`backfill gateway \`sync --full\`: ${g.seconds.toFixed(2)} s median of ${rounds} (${g.each}), ${g.calls} Stripe calls, drift m/s/e ${g.drift.missing}/${g.drift.stale}/${g.drift.extra} in the worst round (${g.line})`);
    const p = peer.length > 0 ? summary(peer) : undefined;
    if (p) ctx.log(`backfill sync-engine syncBackfill(customer, subscription, invoice): ${p.seconds.toFixed(2)} s median of ${rounds} (${p.each}), ${p.calls} Stripe calls, drift m/s/e ${p.drift.missing}/${p.drift.stale}/${p.drift.extra} in the worst round (${p.line})`);
    const pp = peerProcess.length > 0 ? summary(peerProcess) : undefined;
    if (pp) ctx.log(`backfill sync-engine in a process of its own, start to exit (as \`sync --full\` is timed; not the target's comparison): ${pp.seconds.toFixed(2)} s median of ${rounds} (${pp.each}), ${pp.calls} Stripe calls, drift m/s/e ${pp.drift.missing}/${pp.drift.stale}/${pp.drift.extra} in the worst round`);
    const rows: BenchRow[] = [];
    const d = driftSum(g.drift) + driftSum(cold.drift);
    rows.push({
      metric: `backfill: gateway \`sync --full\` into an empty mirror (median of ${rounds})`,
      value: g.seconds,
      unit: 's',
      ...(p ? { baseline: { name: 'sync-engine syncBackfill(customer, subscription, invoice)', value: p.seconds, unit: 's' }, target: '≤ the peer’s backfill', met: g.seconds <= p.seconds } : {}),
    });
    rows.push({ metric: 'backfill: gateway `sync --full`, first run after the build (compile cache cold)', value: cold.seconds, unit: 's' });
    rows.push({ metric: `backfill: gateway drift missing/stale/extra ${g.drift.missing}/${g.drift.stale}/${g.drift.extra} (worst round)`, value: d, unit: 'rows', target: '0/0/0', met: d === 0 });
    if (pp) rows.push({ metric: 'backfill: sync-engine backfill in a process of its own, start to exit (as `sync --full` is timed; for comparison, not the target)', value: pp.seconds, unit: 's' });
    if (p) rows.push({ metric: `backfill: sync-engine drift missing/stale/extra ${p.drift.missing}/${p.drift.stale}/${p.drift.extra} (worst round)`, value: driftSum(p.drift), unit: 'rows' });
    return rows;
  } finally {
    await corpus.close();
  }
}

export const backfillPart: BenchPart = {
  name: 'backfill',
  description: 'backfill into an empty mirror: `sync --full` against sync-engine syncBackfill, with drift',
  run: (ctx) => runBackfill(ctx),
};

runIfMain(import.meta.url, backfillPart);
