/**
 * Part `read`: the customer query with subscriptions, invoices and lines for random customers out of 10,000, against the gateway
 * (in this process, PostgreSQL) and against a hand-written express + `pg` baseline in the same run.
 * autocannon (in its own process) → req/s, p50, p99.
 *
 *   npm run bench -- read [--seconds 10] [--connections 10] [--warmup 3]
 *   node --experimental-transform-types --no-warnings bench/read/run.ts [same options]   (after `npm run build`)
 */
import { createBenchDatabase } from '../lib/db.ts';
import { gql, startInProcessGateway } from '../lib/gateway.ts';
import { runLoad, type LoadResult, type LoadSpec } from '../lib/load.ts';
import type { BenchPart, BenchRow } from '../lib/part.ts';
import { numberOption, runIfMain } from '../lib/report.ts';
import { customerId, READ_SEED, seedMirror } from '../lib/seed.ts';
import { fmt } from '../lib/stats.ts';
import { startBaseline } from './baseline.ts';

export const READ_QUERY =
  'query ($id: ID) { customer(id: $id) { subscriptions { plan { id } } invoices(first: 10) { edges { node { total { amount } lines { amount { amount } } } } } } }';

/** The load: READ_QUERY for a random seeded customer per request. */
export function readLoadSpec(url: string, token: string, seconds: number, connections: number): LoadSpec {
  return {
    url: `${url}/graphql`,
    connections,
    seconds,
    headers: { authorization: `Bearer ${token}` },
    bodyTemplate: JSON.stringify({ query: READ_QUERY, variables: { id: '__ID__' } }),
    idPrefix: 'cus_bench',
    ids: READ_SEED.customers,
  };
}

const line = (name: string, r: LoadResult & { cpuMs: number }) =>
  `${name}: ${fmt(r.requestsPerSecond)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.total} requests), ${r.cpuMs.toFixed(2)} ms of CPU per request in the server's process`;

/** The load, and the CPU this process (the server's) spent per request meanwhile. */
async function measure(spec: LoadSpec): Promise<LoadResult & { cpuMs: number }> {
  const before = process.cpuUsage();
  const r = await runLoad(spec);
  const used = process.cpuUsage(before);
  return { ...r, cpuMs: (used.user + used.system) / 1000 / r.total };
}

export const part: BenchPart = {
  name: 'read',
  description: 'customer { subscriptions { plan } invoices(first: 10) { lines } } for random customers of 10,000: gateway vs express + pg',
  async run(ctx) {
    const seconds = numberOption(ctx, 'seconds', 10);
    const connections = numberOption(ctx, 'connections', 10);
    const warmup = numberOption(ctx, 'warmup', 3);
    const db = await createBenchDatabase(ctx.databaseUrl, 'read');
    try {
      const seeded = await seedMirror(db.url);
      ctx.log(`read: seeded ${Object.entries(seeded.rows).map(([t, n]) => `${n} ${t}`).join(', ')} in ${seeded.seconds.toFixed(1)} s`);
      const gateway = await startInProcessGateway(db.url);
      const poolSize = (gateway.orm.config.get('pool') as { max?: number } | undefined)?.max ?? 10;
      const baseline = await startBaseline(db.url, poolSize);
      try {
        // Same answers, or the comparison means nothing.
        for (let i = 0; i < 20; i++) {
          const id = customerId(Math.floor(Math.random() * READ_SEED.customers));
          const mine = await gql(gateway.url, gateway.adminToken, READ_QUERY, { id });
          const theirs = await (await fetch(`${baseline.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ variables: { id } }) })).json();
          if (JSON.stringify({ data: mine }) !== JSON.stringify(theirs)) throw new Error(`gateway and baseline answer ${id} differently:\n${JSON.stringify(mine)}\n${JSON.stringify(theirs)}`);
        }
        const gatewaySpec = readLoadSpec(gateway.url, gateway.adminToken, seconds, connections);
        const baselineSpec = readLoadSpec(baseline.url, gateway.adminToken, seconds, connections);
        ctx.log(`read: warm-up ${warmup} s each, then ${seconds} s each, ${connections} connections, pool ${poolSize}`);
        await runLoad({ ...gatewaySpec, seconds: warmup });
        const g = await measure(gatewaySpec);
        ctx.log(`read: ${line('gateway', g)}`);
        // --skip-baseline: the gateway alone (e.g. under --cpu-prof).
        if (ctx.options['skip-baseline']) return [{ metric: 'req/s (no baseline)', value: g.requestsPerSecond, unit: 'req/s' }, { metric: 'p99', value: g.p99, unit: 'ms' }];
        await runLoad({ ...baselineSpec, seconds: warmup });
        const b = await measure(baselineSpec);
        ctx.log(`read: ${line('baseline', b)}`);
        const share = (g.requestsPerSecond / b.requestsPerSecond) * 100;
        const base = (value: number, unit: string) => ({ name: 'express + pg', value, unit });
        const rows: BenchRow[] = [
          { metric: 'req/s', value: g.requestsPerSecond, unit: 'req/s', baseline: base(b.requestsPerSecond, 'req/s'), target: '≥ 1,500 req/s', met: g.requestsPerSecond >= 1500 },
          { metric: 'p50', value: g.p50, unit: 'ms', baseline: base(b.p50, 'ms') },
          { metric: 'p99', value: g.p99, unit: 'ms', baseline: base(b.p99, 'ms'), target: 'p99 ≤ 50 ms', met: g.p99 <= 50 },
          { metric: 'share of baseline req/s', value: share, unit: '%', target: '≥ 40%', met: share >= 40 },
          { metric: 'server CPU per request', value: g.cpuMs, unit: 'ms', baseline: base(b.cpuMs, 'ms') },
        ];
        return rows;
      } finally {
        await baseline.close();
        await gateway.close();
      }
    } finally {
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);
