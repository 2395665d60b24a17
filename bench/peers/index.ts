/**
 * The sub-parts of `npm run bench -- peers`: each compares the gateway with the peer a team would
 * pick for the same job, on the same data in the same run: `reads` (the read query against
 * PostGraphile and a hand-written route), `webhooks` (a lifecycle corpus replayed to the gateway and
 * @supabase/stripe-sync-engine), `backfill` (`sync --full` against the peer's backfill). Add a comparison here; `--peers a,b`
 * runs only those (all by default).
 */
import type { BenchPart } from '../lib/part.ts';
import { backfillPart } from './backfill.ts';
import { reads } from './reads.ts';
import { webhooksPart } from './webhooks.ts';

export const PEER_SUBPARTS: readonly BenchPart[] = [reads, webhooksPart, backfillPart];
