/**
 * sync-engine as a webhook receiver in a process of its own (`--peer-process child`, the default), as
 * the gateway runs: PEER_DATABASE_URL (migrated), PEER_API_BASE (the emulator), PEER_REVALIDATE=1 for
 * revalidating mode. Prints `listening <url>` once it accepts deliveries; GET / answers its refusals.
 */
import { peerSync, serveSyncEngine } from './sync-engine.ts';

const sync = peerSync(process.env.PEER_DATABASE_URL!, process.env.PEER_API_BASE!, process.env.PEER_REVALIDATE === '1');
(sync as unknown as { postgresClient: { pool: { on(e: string, f: () => void): void } } }).postgresClient.pool.on('error', () => {});
const server = await serveSyncEngine(sync);
process.stdout.write(`listening ${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => sync.close()).finally(() => process.exit(0));
});
