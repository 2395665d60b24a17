/**
 * The reads peer: PostGraphile 5 (amber preset, grafserv on express) over the gateway's mirror
 * tables, as a team would point it at them. The mirror has no foreign keys, so smart tags declare
 * the relations; `subscriptions` is renamed (it would clash with GraphQL's root Subscription type);
 * amber orders only by indexed columns' leading fields, so its index behaviours are off for the
 * `created_at desc, id desc` order (the same index serves it).
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/express/v4';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { jsonPgSmartTags } from 'postgraphile/utils';
import { listenLocally } from '../lib/local-server.ts';

/** The bench query in PostGraphile's schema (amber's default inflection: primary keys `id` become `rowId`). */
export const POSTGRAPHILE_QUERY = `query ($id: String!) {
  customerByRowId(rowId: $id) {
    billingSubscriptionsByCustomerId(orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { planId priceId } }
    invoicesByCustomerId(first: 10, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { total invoiceLinesByInvoiceId(orderBy: [POSITION_ASC]) { nodes { amount } } } }
  }
}`;

interface PgAnswer {
  data?: {
    customerByRowId: {
      billingSubscriptionsByCustomerId: { nodes: { planId: string | null; priceId: string | null }[] };
      invoicesByCustomerId: { nodes: { total: number; invoiceLinesByInvoiceId: { nodes: { amount: number }[] } }[] };
    } | null;
  };
  errors?: unknown[];
}

/** PostGraphile's answer in the gateway's shape (`plan.id` is the plan, or the price outside the catalog). */
export function asGatewayAnswer(answer: PgAnswer): unknown {
  if (answer.errors) throw new Error(`PostGraphile: ${JSON.stringify(answer.errors).slice(0, 500)}`);
  const c = answer.data!.customerByRowId;
  if (!c) return { customer: null };
  return {
    customer: {
      subscriptions: c.billingSubscriptionsByCustomerId.nodes.map((s) => ({ plan: { id: s.planId ?? s.priceId } })),
      invoices: {
        edges: c.invoicesByCustomerId.nodes.map((i) => ({
          node: { total: { amount: i.total }, lines: i.invoiceLinesByInvoiceId.nodes.map((l) => ({ amount: { amount: l.amount } })) },
        })),
      },
    },
  };
}

const TAGS = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      subscriptions: { tags: { name: 'billing_subscriptions', foreignKey: '(customer_id) references customers (id)' } },
      invoices: { tags: { foreignKey: '(customer_id) references customers (id)' } },
      invoice_lines: { tags: { foreignKey: '(invoice_id) references invoices (id)' } },
    },
  },
});

export interface PeerServer {
  url: string;
  /** Its pool, for counting statements. */
  pool: pg.Pool;
  close(): Promise<void>;
}

/** PostGraphile on `pool` (a `pg` Pool the caller made, e.g. to count its statements from the first one). */
export async function startPostGraphile(pool: pg.Pool): Promise<PeerServer> {
  pool.on('error', () => undefined);
  const pgl = postgraphile({
    extends: [PostGraphileAmberPreset],
    plugins: [TAGS],
    disablePlugins: ['PgIndexBehaviorsPlugin'],
    pgServices: [makePgService({ pool, schemas: ['public'] })],
    grafserv: { graphqlPath: '/graphql', graphiql: false, websockets: false },
    grafast: { explain: false },
  });
  const app = express();
  const server: Server = createServer(app);
  const serv = pgl.createServ(grafserv);
  await serv.addTo(app, server);
  await pgl.getSchema();
  const local = await listenLocally(server);
  return {
    url: local.url,
    pool,
    close: async () => {
      await local.close();
      await pgl.release();
      await pool.end().catch(() => undefined);
    },
  };
}
