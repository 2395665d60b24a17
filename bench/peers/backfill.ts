/**
 * Backfill into an empty mirror on the same account (the lifecycle corpus of lib/corpus.ts, recorded
 * anew): the gateway's `sync --full` (the CLI, `node bin/billing-gateway.js sync --full --json`, on a
 * fresh migrated database) against sync-engine's `syncBackfill` (on a fresh
 * database with its schema), each timed from start to exit, then compared with the emulator's truth.
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/peers/backfill.ts [--customers 150] [--months 3] [--seed 42]
 *
 * Not the same work, nor the same conditions:
 * - `sync --full` is a process of its own, timed from its start to its exit (Node's start, loading the CLI, the ORM
 *   and the Stripe SDK, opening the database and checking its migrations); sync-engine's backfill runs inside this
 *   bench's process, its modules loaded and its pool open before the clock starts.
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

export async function runBackfill(ctx: BenchContext): Promise<BenchRow[]> {
  const num = (k: string, d: number) => (ctx.options[k] === undefined ? d : Number(ctx.options[k]));
  const corpus = await recordCorpus({ customers: num('customers', 150), months: num('months', 3), seed: num('seed', 42) });
  try {
    const truth = await readTruth(corpus.stripe, idsOf(corpus.events));
    // The gateway: the CLI on a fresh, migrated database.
    const db = await createBenchDatabase(ctx.databaseUrl, 'peers_bf', { migrate: true });
    let gateway: { seconds: number; calls: number; drift: ReturnType<typeof driftTotal>; line: string };
    try {
      const calls0 = corpus.apiCalls();
      const t0 = performance.now();
      const { stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/billing-gateway.js'), 'sync', '--full', '--json'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_API_BASE: corpus.apiBase, LOG_LEVEL: 'debug' },
        maxBuffer: 64 * 1024 * 1024,
      });
      const seconds = (performance.now() - t0) / 1000;
      for (const line of stderr.split('\n')) {
        if (!line.includes('"steps"')) continue;
        const { steps, msg } = JSON.parse(line) as { steps: Record<string, number>; msg: string };
        ctx.log(`backfill gateway ${msg}: ${Object.entries(steps).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      }
      const calls = corpus.apiCalls() - calls0;
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      const drift = compare(truth, await gatewayMirror(client));
      await client.end();
      gateway = { seconds, calls, drift: driftTotal(drift), line: driftLine(drift) };
    } finally {
      await db.drop();
    }
    ctx.log(`backfill gateway \`sync --full\`: ${gateway.seconds.toFixed(2)} s, ${gateway.calls} Stripe calls, drift m/s/e ${gateway.drift.missing}/${gateway.drift.stale}/${gateway.drift.extra} (${gateway.line})`);
    const rows: BenchRow[] = [];
    let peer: { seconds: number; calls: number; drift: ReturnType<typeof driftTotal>; line: string } | undefined;
    try {
      const { peerDatabase, peerSync, peerMirror } = await import('./lib/sync-engine.ts');
      const pdb = await peerDatabase(ctx.databaseUrl);
      try {
        const sync = peerSync(pdb.url, corpus.apiBase, false);
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
        const client = new pg.Client({ connectionString: pdb.url });
        await client.connect();
        const drift = compare(truth, await peerMirror(client));
        await client.end();
        peer = { seconds, calls, drift: driftTotal(drift), line: driftLine(drift) };
        ctx.log(`backfill sync-engine syncBackfill(customer, subscription, invoice): ${seconds.toFixed(2)} s, ${calls} Stripe calls, drift m/s/e ${peer.drift.missing}/${peer.drift.stale}/${peer.drift.extra} (${peer.line})`);
      } finally {
        await pdb.drop();
      }
    } catch (err) {
      ctx.log(`backfill sync-engine: not available (${(err as Error).message.split('\n')[0]})`);
    }
    const d = gateway.drift.missing + gateway.drift.stale + gateway.drift.extra;
    rows.push({
      metric: 'backfill: gateway `sync --full` into an empty mirror',
      value: gateway.seconds,
      unit: 's',
      ...(peer ? { baseline: { name: 'sync-engine syncBackfill(customer, subscription, invoice)', value: peer.seconds, unit: 's' }, target: '≤ the peer’s backfill', met: gateway.seconds <= peer.seconds } : {}),
    });
    rows.push({ metric: `backfill: gateway drift missing/stale/extra ${gateway.drift.missing}/${gateway.drift.stale}/${gateway.drift.extra}`, value: d, unit: 'rows', target: '0/0/0', met: d === 0 });
    if (peer) rows.push({ metric: `backfill: sync-engine drift missing/stale/extra ${peer.drift.missing}/${peer.drift.stale}/${peer.drift.extra}`, value: peer.drift.missing + peer.drift.stale + peer.drift.extra, unit: 'rows' });
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
