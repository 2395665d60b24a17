import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { newestFirst } from '../list.js';
import type { Stored } from '../store.js';
import { compileQuery, decodePage, encodePage, parseQuery, type SearchSchema } from '../search.js';

const idOf = (v: unknown): unknown => (v && typeof v === 'object' ? (v as { id?: unknown }).id : v);

/**
 * The query fields Stripe documents per resource ("Query fields for customers", …); `metadata["key"]`
 * is allowed on each. Substring matching (`~`) where Stripe allows it: customers' email, name and
 * phone, products' name and description.
 */
const SCHEMAS: Record<string, { kind: string; schema: SearchSchema }> = {
  customers: {
    kind: 'customer',
    schema: {
      resource: 'customers',
      fields: {
        created: { kind: 'number', get: (o) => o.created },
        email: { kind: 'substring', get: (o) => o.email },
        name: { kind: 'substring', get: (o) => o.name },
        phone: { kind: 'substring', get: (o) => o.phone },
      },
    },
  },
  subscriptions: {
    kind: 'subscription',
    schema: {
      resource: 'subscriptions',
      fields: {
        created: { kind: 'number', get: (o) => o.created },
        status: { kind: 'string', get: (o) => o.status },
      },
    },
  },
  invoices: {
    kind: 'invoice',
    schema: {
      resource: 'invoices',
      fields: {
        created: { kind: 'number', get: (o) => o.created },
        currency: { kind: 'string', get: (o) => o.currency },
        customer: { kind: 'string', get: (o) => idOf(o.customer) },
        last_finalization_error_code: { kind: 'string', get: (o) => o.last_finalization_error?.code ?? null },
        last_finalization_error_type: { kind: 'string', get: (o) => o.last_finalization_error?.type ?? null },
        number: { kind: 'string', get: (o) => o.number },
        receipt_number: { kind: 'string', get: (o) => o.receipt_number },
        status: { kind: 'string', get: (o) => o.status },
        subscription: { kind: 'string', get: (o) => idOf(o.parent?.subscription_details?.subscription) ?? null },
        total: { kind: 'number', get: (o) => o.total },
      },
    },
  },
  prices: {
    kind: 'price',
    schema: {
      resource: 'prices',
      fields: {
        active: { kind: 'boolean', get: (o) => o.active },
        currency: { kind: 'string', get: (o) => o.currency },
        lookup_key: { kind: 'string', get: (o) => o.lookup_key },
        product: { kind: 'string', get: (o) => idOf(o.product) },
        type: { kind: 'string', get: (o) => o.type },
      },
    },
  },
  products: {
    kind: 'product',
    schema: {
      resource: 'products',
      fields: {
        active: { kind: 'boolean', get: (o) => o.active },
        description: { kind: 'substring', get: (o) => o.description },
        name: { kind: 'substring', get: (o) => o.name },
        shippable: { kind: 'boolean', get: (o) => o.shippable },
        url: { kind: 'string', get: (o) => o.url },
      },
    },
  },
};

/**
 * `GET /v1/{customers,subscriptions,invoices,prices,products}/search`: `query` (required), `limit`
 * (1-100, default 10), `page` (the previous result's `next_page`). Results are newest first and, unlike
 * at Stripe, searchable at once (Stripe indexes within about a minute). Registered before the
 * resources' own routes so `/search` is not taken for an id.
 */
export function registerSearch(router: Router, emu: Emulator): void {
  for (const [resource, { kind, schema }] of Object.entries(SCHEMAS)) {
    router.get(`/v1/${resource}/search`, ({ params: p, url }) => {
      const query = p.string('query', { required: true });
      const limit = p.int('limit', { min: 1, max: 100 }) ?? 10;
      const page = p.string('page');
      p.done();
      const matches = compileQuery(parseQuery(query), schema);
      const offset = page ? decodePage(page) : 0;
      const hits = newestFirst(emu.store.all<Stored & Record<string, unknown>>(kind)).filter((o) => !o.deleted && matches(o));
      const data = hits.slice(offset, offset + limit);
      const more = hits.length > offset + limit;
      return { object: 'search_result', data, has_more: more, next_page: more ? encodePage(offset + limit) : null, url };
    });
  }
}
