/**
 * Peers, reads: the bench's customer read (`customer { subscriptions { plan } invoices(first: 10)
 * { … lines } }`) served by the gateway, by PostGraphile 5 over the same tables, and by the
 * hand-written express + `pg` route of the `read` part. The tables are seeded once; the answers of
 * the three are checked equal on 30 customers; then interleaved rounds (each round sends the same
 * seeded sequence of ids to every server, the order rotating by round) measure req/s, p50/p99, the
 * server's CPU and PostgreSQL's CPU per request, and statements per request (counted at each
 * server's driver). All three run in this process with pools of the same size, one at a time.
 *
 *   npm run bench -- peers [--peers reads] [--rounds 10] [--seconds 4] [--connections 10] [--warmup 3]
 */
import pg from 'pg';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { gql, startInProcessGateway } from '../lib/gateway.ts';
import { runLoad, type LoadResult, type LoadSpec } from '../lib/load.ts';
import type { BenchContext, BenchPart, BenchRow } from '../lib/part.ts';
import { numberOptions } from '../lib/report.ts';
import { customerId, READ_SEED, seedMirror } from '../lib/seed.ts';
import { fmt, median } from '../lib/stats.ts';
import { startBaseline } from '../read/baseline.ts';
import { READ_QUERY, readLoadSpec } from '../read/run.ts';
import { asGatewayAnswer, POSTGRAPHILE_QUERY, startPostGraphile } from './postgraphile.ts';
import { cpuDelta, pgBackendsCpu } from './lib/cpu.ts';

interface Served {
  name: string;
  spec: LoadSpec;
  /** Statements sent so far. */
  statements(): number;
  answer(id: string): Promise<unknown>;
}

interface RoundResult extends LoadResult {
  cpuMs: number;
  pgCpuMs: number;
  statements: number;
}

/** Counts the statements a `pg` pool's clients send (each `client.query`), from now on. */
function countPoolStatements(pool: pg.Pool): () => number {
  let n = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      n++;
      return query(...args);
    };
  });
  return () => n;
}

async function measureRound(s: Served, spec: LoadSpec, admin: pg.Client, database: string): Promise<RoundResult> {
  const pgBefore = await pgBackendsCpu(admin, database);
  const statementsBefore = s.statements();
  const cpuBefore = process.cpuUsage();
  const r = await runLoad(spec);
  const cpu = process.cpuUsage(cpuBefore);
  const statements = s.statements() - statementsBefore;
  const pgAfter = await pgBackendsCpu(admin, database);
  return { ...r, cpuMs: (cpu.user + cpu.system) / 1000 / r.total, pgCpuMs: cpuDelta(pgBefore, pgAfter) / r.total, statements: statements / r.total };
}

export const reads: BenchPart = {
  name: 'reads',
  description: 'customer { subscriptions { plan } invoices(first: 10) { lines } }: gateway vs PostGraphile 5 vs express + pg, same tables, same ids',
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const { rounds, seconds, connections, warmup } = numberOptions(ctx, { rounds: 10, seconds: 4, connections: 10, warmup: 3 });
    const db = await createBenchDatabase(ctx.databaseUrl, 'peers');
    const database = new URL(db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: db.url });
    const closers: (() => Promise<void>)[] = [];
    try {
      const seeded = await seedMirror(db.url);
      ctx.log(`peers/reads: seeded ${Object.entries(seeded.rows).map(([t, n]) => `${n} ${t}`).join(', ')} in ${seeded.seconds.toFixed(1)} s`);
      await admin.connect();
      const gateway = await startInProcessGateway(db.url);
      closers.push(() => gateway.close());
      const poolSize = (gateway.orm.config.get('pool') as { max?: number } | undefined)?.max ?? 10;
      const baseline = await startBaseline(db.url, poolSize);
      closers.push(() => baseline.close());
      const peerPool = new pg.Pool({ connectionString: db.url, max: poolSize });
      const peerStatements = countPoolStatements(peerPool);
      const peer = await startPostGraphile(peerPool);
      closers.push(() => peer.close());

      const { onQuery } = await loadDist<typeof import('../../src/db/query-observer.js')>('db/query-observer');
      let gatewayStatements = 0;
      const stop = onQuery(gateway.orm, () => void gatewayStatements++);
      closers.push(async () => void stop());
      const baselineStatements = countPoolStatements(baseline.pool);

      const post = async (url: string, body: unknown, token?: string) =>
        (await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        })).json() as Promise<Record<string, unknown>>;
      const servers: Served[] = [
        {
          name: 'gateway',
          spec: readLoadSpec(gateway.url, gateway.adminToken, seconds, connections),
          statements: () => gatewayStatements,
          answer: async (id) => gql(gateway.url, gateway.adminToken, READ_QUERY, { id }),
        },
        {
          name: 'PostGraphile',
          spec: {
            ...readLoadSpec(peer.url, '', seconds, connections),
            headers: {},
            bodyTemplate: JSON.stringify({ query: POSTGRAPHILE_QUERY, variables: { id: '__ID__' } }),
          },
          statements: peerStatements,
          answer: async (id) => asGatewayAnswer(await post(peer.url, { query: POSTGRAPHILE_QUERY, variables: { id } })),
        },
        {
          name: 'express + pg',
          spec: readLoadSpec(baseline.url, gateway.adminToken, seconds, connections),
          statements: baselineStatements,
          answer: async (id) => ((await post(baseline.url, { variables: { id } })) as { data: unknown }).data,
        },
      ];

      // Same answers, or the comparison means nothing (a customer that does not exist included).
      const ids = [...Array.from({ length: 30 }, (_, i) => customerId((i * 7919) % READ_SEED.customers)), 'cus_bench_missing'];
      for (const id of ids) {
        const [mine, ...theirs] = await Promise.all(servers.map((s) => s.answer(id)));
        const want = JSON.stringify(mine);
        theirs.forEach((t, i) => {
          if (JSON.stringify(t) !== want) throw new Error(`${servers[i + 1]!.name} answers ${id} differently from the gateway:\n${want}\n${JSON.stringify(t)}`);
        });
      }
      ctx.log(`peers/reads: answers equal on ${ids.length} customers; ${rounds} rounds of ${seconds} s per server, ${connections} connections, pools of ${poolSize}, warm-up ${warmup} s each`);

      for (const s of servers) await runLoad({ ...s.spec, seconds: warmup });
      const results = new Map<string, RoundResult[]>(servers.map((s) => [s.name, []]));
      for (let round = 0; round < rounds; round++) {
        // Rotate who goes first, so no server always follows the same one.
        const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
        for (const s of order) results.get(s.name)!.push(await measureRound(s, { ...s.spec, seed: round + 1 }, admin, database));
      }

      const summary = servers.map((s) => {
        const rs = results.get(s.name)!;
        const total = rs.reduce((n, r) => n + r.total, 0);
        const weighted = (f: (r: RoundResult) => number) => rs.reduce((sum, r) => sum + f(r) * r.total, 0) / total;
        return {
          name: s.name,
          rps: median(rs.map((r) => r.requestsPerSecond)),
          rpsRange: [Math.min(...rs.map((r) => r.requestsPerSecond)), Math.max(...rs.map((r) => r.requestsPerSecond))],
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
          cpuMs: weighted((r) => r.cpuMs),
          pgCpuMs: weighted((r) => r.pgCpuMs),
          statements: weighted((r) => r.statements),
          total,
        };
      });
      const hand = summary[2]!;
      for (const s of summary) {
        ctx.log(
          `peers/reads: ${s.name}: ${fmt(s.rps)} req/s median of ${rounds} (${fmt(s.rpsRange[0]!)}–${fmt(s.rpsRange[1]!)}; ${fmt((s.rps / hand.rps) * 100)}% of hand-written), ` +
            `p50 ${s.p50} ms, p99 ${s.p99} ms (medians), server CPU ${s.cpuMs.toFixed(2)} ms/request, PostgreSQL CPU ${s.pgCpuMs.toFixed(2)} ms/request, ` +
            `${s.statements.toFixed(2)} statements/request (${s.total} requests)`,
        );
      }
      ctx.log(`peers/reads: per round req/s: ${servers.map((s) => `${s.name} ${results.get(s.name)!.map((r) => fmt(r.requestsPerSecond)).join(' ')}`).join('; ')}`);
      ctx.log(`peers/reads: per round p99 ms: ${servers.map((s) => `${s.name} ${results.get(s.name)!.map((r) => r.p99).join(' ')}`).join('; ')}`);
      const [g, p] = summary as [typeof hand, typeof hand, typeof hand];
      const vs = (value: number, unit: string) => ({ name: 'PostGraphile', value, unit });
      const gatewayStatementsPerRequest = Math.round(g.statements * 100) / 100;
      return [
        { metric: 'gateway req/s (median of rounds)', value: g.rps, unit: 'req/s', baseline: vs(p.rps, 'req/s'), target: '≥ PostGraphile', met: g.rps >= p.rps },
        { metric: 'gateway p50', value: g.p50, unit: 'ms', baseline: vs(p.p50, 'ms') },
        { metric: 'gateway p99', value: g.p99, unit: 'ms', baseline: vs(p.p99, 'ms'), target: 'no worse than PostGraphile', met: g.p99 <= p.p99 },
        { metric: 'gateway server CPU per request', value: g.cpuMs, unit: 'ms', baseline: vs(p.cpuMs, 'ms') },
        { metric: 'gateway PostgreSQL CPU per request', value: g.pgCpuMs, unit: 'ms', baseline: vs(p.pgCpuMs, 'ms') },
        { metric: 'gateway statements per request', value: gatewayStatementsPerRequest, unit: '', baseline: vs(Math.round(p.statements * 100) / 100, '') },
        { metric: 'gateway share of hand-written req/s', value: (g.rps / hand.rps) * 100, unit: '%', target: '≥ 75%', met: g.rps / hand.rps >= 0.75 },
        { metric: 'PostGraphile share of hand-written req/s', value: (p.rps / hand.rps) * 100, unit: '%' },
        { metric: 'express + pg req/s', value: hand.rps, unit: 'req/s' },
      ];
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await admin.end().catch(() => undefined);
      await db.drop();
    }
  },
};
