/**
 * Part `statements`: SQL statements the gateway runs for one request listing 5, 50 and 500
 * subscriptions, each with its plan, its latest invoice's lines and its customer's ten newest
 * invoices with their lines. DataLoader batching should make the count independent of the list's
 * length. Counted with the ORM's query observer (src/db/query-observer.ts), as
 * test/reads/statement-count.test.ts does.
 *
 *   npm run bench -- statements [--sizes 5,50,500]
 */
import pg from 'pg';
import { createBenchDatabase } from '../lib/db.ts';
import { loadDist } from '../lib/dist.ts';
import { gql, startInProcessGateway } from '../lib/gateway.ts';
import type { BenchPart, BenchRow } from '../lib/part.ts';
import { runIfMain } from '../lib/report.ts';
import { seedMirror } from '../lib/seed.ts';

const QUERY = `{ subscriptions {
  id plan { id } latestInvoice { lines { amount { amount } } }
  customer { id invoices(first: 10) { edges { node { total { amount } lines { amount { amount } } } } } }
} }`;

export const part: BenchPart = {
  name: 'statements',
  description: 'SQL statements per request for lists of 5, 50, 500 subscriptions with nested invoices and lines',
  async run(ctx) {
    const sizes = (ctx.options.sizes ?? '5,50,500').split(',').map(Number);
    const { onQuery } = await loadDist<typeof import('../../src/db/query-observer.js')>('db/query-observer');
    const db = await createBenchDatabase(ctx.databaseUrl, 'statements');
    try {
      const gateway = await startInProcessGateway(db.url);
      try {
        const counts: number[] = [];
        for (const size of sizes) {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          await c.query('truncate customers, subscriptions, invoices, invoice_lines, prices, products');
          await c.end();
          await seedMirror(db.url, { customers: size, subscriptionsPerCustomer: 1, invoicesPerCustomer: 12, linesPerInvoice: 3 });
          const statements: string[] = [];
          const stop = onQuery(gateway.orm, (q) => statements.push(q.query));
          let data: { subscriptions: { customer: { invoices: { edges: unknown[] } } }[] };
          try {
            data = await gql(gateway.url, gateway.adminToken, QUERY);
          } finally {
            stop();
          }
          if (data.subscriptions.length !== size || data.subscriptions.some((s) => s.customer.invoices.edges.length !== 10)) {
            throw new Error(`list of ${size}: the answer is not whole`);
          }
          ctx.log(`statements: list of ${size}: ${statements.length} statements`);
          counts.push(statements.length);
        }
        return sizes.map(
          (size, i): BenchRow => ({
            metric: `SQL statements, list of ${size}`,
            value: counts[i]!,
            unit: '',
            target: `constant (= ${counts[0]})`,
            met: counts[i] === counts[0],
          }),
        );
      } finally {
        await gateway.close();
      }
    } finally {
      await db.drop();
    }
  },
};

runIfMain(import.meta.url, part);
