/**
 * The `read` baseline: what a team writes by hand for the same answer. A plain express route at
 * POST /graphql that takes the same body, runs hand-written SQL through a `pg` Pool (as many
 * connections as the gateway's) and returns the same JSON as the gateway's
 * `customer { subscriptions { plan { id } } invoices(first: 10) { … lines … } }`.
 */
import { createServer } from 'node:http';
import express from 'express';
import pg from 'pg';
import { listenLocally } from '../lib/local-server.ts';

export interface BaselineServer {
  url: string;
  /** Its pool (the peers part counts statements on it). */
  pool: pg.Pool;
  close(): Promise<void>;
}

export async function startBaseline(databaseUrl: string, poolSize: number): Promise<BaselineServer> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  // Idle connections are cut when the part drops its database: nothing to report.
  pool.on('error', () => undefined);
  const app = express();
  app.use(express.json());
  app.post('/graphql', async (req, res, next) => {
    try {
      const id = String((req.body as { variables?: { id?: unknown } }).variables?.id ?? '');
      const [customer, subscriptions, invoices] = await Promise.all([
        pool.query<{ id: string }>('select id from customers where id = $1 and not deleted', [id]),
        pool.query<{ plan_id: string | null; price_id: string | null }>(
          'select plan_id, price_id from subscriptions where customer_id = $1 order by created_at desc, id desc',
          [id],
        ),
        pool.query<{ id: string; total: number }>('select id, total from invoices where customer_id = $1 order by created_at desc, id desc limit 10', [id]),
      ]);
      if (customer.rowCount === 0) {
        res.json({ data: { customer: null } });
        return;
      }
      const ids = invoices.rows.map((i) => i.id);
      const lines = await pool.query<{ invoice_id: string; amount: number }>(
        'select invoice_id, amount from invoice_lines where invoice_id = any($1) order by invoice_id, position',
        [ids],
      );
      const linesOf = new Map<string, { amount: { amount: number } }[]>();
      for (const l of lines.rows) {
        const list = linesOf.get(l.invoice_id) ?? [];
        list.push({ amount: { amount: l.amount } });
        linesOf.set(l.invoice_id, list);
      }
      res.json({
        data: {
          customer: {
            subscriptions: subscriptions.rows.map((s) => ({ plan: { id: s.plan_id ?? s.price_id } })),
            invoices: { edges: invoices.rows.map((i) => ({ node: { total: { amount: i.total }, lines: linesOf.get(i.id) ?? [] } })) },
          },
        },
      });
    } catch (err) {
      next(err);
    }
  });
  // Requests still in flight when the part stops (the pool is ended) end quietly.
  app.use(((_err, _req, res, _next) => {
    res.status(500).end();
  }) as express.ErrorRequestHandler);
  const server = await listenLocally(createServer(app));
  return {
    url: server.url,
    pool,
    close: async () => {
      await server.close();
      await pool.end();
    },
  };
}
