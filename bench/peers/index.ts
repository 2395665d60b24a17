/**
 * The `peers` part: the gateway side by side with what a team would otherwise run, in one run.
 * Sub-parts (all by default, or `--peers webhooks,backfill`): `webhooks.ts` (a lifecycle corpus
 * replayed to the gateway and @supabase/stripe-sync-engine), `backfill.ts` (`sync --full` against the
 * peer's backfill). Each sub-part also runs alone: `node --experimental-transform-types bench/peers/<sub>.ts`.
 */
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { runIfMain } from '../lib/report.ts';

const SUBPARTS: Record<string, () => Promise<BenchPart>> = {
  webhooks: async () => (await import('./webhooks.ts')).webhooksPart,
  backfill: async () => (await import('./backfill.ts')).backfillPart,
};

export const part: BenchPart = {
  name: 'peers',
  description: `the gateway against its peers (${Object.keys(SUBPARTS).join(', ')})`,
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const wanted = ctx.options.peers ? ctx.options.peers.split(',') : Object.keys(SUBPARTS);
    const rows: BenchRow[] = [];
    for (const name of wanted) {
      const load = SUBPARTS[name];
      if (!load) throw new Error(`--peers: unknown sub-part ${name} (${Object.keys(SUBPARTS).join(', ')})`);
      const sub = await load();
      ctx.log(`peers/${name}: ${sub.description}`);
      rows.push(...(await sub.run(ctx)));
    }
    return rows;
  },
};

runIfMain(import.meta.url, part);
