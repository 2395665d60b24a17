/**
 * sync-engine's backfill as a process of its own, timed by the bench from its start to its exit, as
 * `sync --full` is: Node's start, loading sync-engine and the Stripe SDK, opening its pool, the backfill
 * of customers, subscriptions and invoices (in that order), closing. Plain JavaScript, importing only
 * the peer's client (./sync-engine-client.mjs, payload mode, as the in-process backfill runs it), so
 * that nothing of the bench is loaded or compiled on its clock.
 *
 *   PEER_DATABASE_URL=postgres://… PEER_API_BASE=http://127.0.0.1:12111 node bench/peers/lib/sync-engine-backfill.mjs
 */
import module from 'node:module';

// As the gateway's CLI does for itself: the peer's modules are not compiled again on every run.
module.enableCompileCache?.();
const { peerSync } = await import('./sync-engine-client.mjs');

const databaseUrl = process.env.PEER_DATABASE_URL;
const apiBase = process.env.PEER_API_BASE;
if (!databaseUrl || !apiBase) {
  console.error('sync-engine-backfill: PEER_DATABASE_URL and PEER_API_BASE are required');
  process.exit(2);
}
const sync = peerSync(databaseUrl, apiBase, false, 'whsec_unused');
try {
  for (const object of ['customer', 'subscription', 'invoice']) await sync.syncBackfill({ object });
} finally {
  await sync.close();
}
process.exit(0);
