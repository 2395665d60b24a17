/**
 * What the parts that measure one query over a large seeded mirror share (`mrr`, `revenue`): their own
 * migrated database with a client on it, rows seeded in PostgreSQL a chunk at a time with the tables'
 * triggers off (the part then builds what the triggers maintain once, with the production rebuild), and
 * the real gateway (`dist/src/main.js`) started on it afterwards, asked over HTTP with an admin token.
 */
import cliProgress from 'cli-progress';
import pg from 'pg';
import { gql } from './gateway.ts';

type Harness = typeof import('../webhooks/harness.js');

/** A GraphQL request to the started gateway; throws on HTTP or GraphQL errors. */
export type AskGateway = <T>(query: string, variables?: Record<string, unknown>) => Promise<T>;

export interface SeededGatewayStage {
  /** The part's own database, migrated and empty. */
  databaseUrl: string;
  /** A connection to it, for seeding and for the baseline. */
  client: pg.Client;
  /** Starts the gateway on the database (once it is seeded). */
  startGateway(): Promise<AskGateway>;
}

/** Runs `measure` on a fresh stage and tears it all down afterwards, whatever happens. */
export async function withSeededGateway<T>(serverUrl: string, measure: (stage: SeededGatewayStage) => Promise<T>): Promise<T> {
  // Imported here, not at the top: the harness quiets the gateway's logs for the whole process.
  const h = (await import(new URL('../webhooks/harness.ts', import.meta.url).href)) as Harness;
  const { openOrm, closeOrm } = await h.load<typeof import('../../src/db/orm.js')>('db/orm');
  const db = await h.tempDatabase(serverUrl);
  const emus = await h.startEmulators();
  let gateway: Awaited<ReturnType<Harness['startGateway']>> | undefined;
  const client = new pg.Client({ connectionString: db.url });
  try {
    await closeOrm(await openOrm({ databaseUrl: db.url })); // migrate
    await client.connect();
    return await measure({
      databaseUrl: db.url,
      client,
      startGateway: async () => {
        const started = await h.startGateway({ databaseUrl: db.url, stripeApiBase: emus.gatewayBase });
        gateway = started;
        const token = await h.adminToken();
        return <R,>(query: string, variables?: Record<string, unknown>) => gql<R>(started.url, token, query, variables);
      },
    });
  } finally {
    await client.end().catch(() => {});
    await gateway?.stop();
    await emus.close();
    await db.drop();
  }
}

export interface ChunkedSeed {
  /** What the bar says it is seeding, e.g. "subscriptions". */
  label: string;
  /** Rows 1…total are seeded. */
  total: number;
  /** Rows per call of `chunk` (default 50,000). */
  size?: number;
  /** Tables whose user triggers are off while seeding. */
  triggersOff: readonly string[];
  /** Tables analysed once seeded, so the planner knows their size. */
  analyze: readonly string[];
  /** Seeds rows lo…hi (both included). */
  chunk(lo: number, hi: number): Promise<unknown>;
}

/** Seeds as `seed` says, then analyses the tables; answers the seconds it took. */
export async function seedInChunks(client: pg.Client, seed: ChunkedSeed): Promise<number> {
  const start = performance.now();
  const bar = new cliProgress.SingleBar(
    { format: `seeding ${seed.label} [{bar}] {percentage}% | {value}/{total} | {duration}s`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(seed.total, 0);
  for (const t of seed.triggersOff) await client.query(`alter table ${t} disable trigger user`);
  const size = seed.size ?? 50_000;
  for (let lo = 1; lo <= seed.total; lo += size) {
    const hi = Math.min(seed.total, lo + size - 1);
    await seed.chunk(lo, hi);
    bar.update(hi);
  }
  bar.stop();
  for (const t of seed.triggersOff) await client.query(`alter table ${t} enable trigger user`);
  await client.query(seed.analyze.map((t) => `analyze ${t}`).join('; '));
  return (performance.now() - start) / 1000;
}
