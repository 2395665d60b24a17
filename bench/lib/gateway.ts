/**
 * The gateway's HTTP server in this process (compiled modules from dist/), on PostgreSQL, without
 * Stripe: what read benches need. Production settings (no landing page, no introspection), rate
 * limits off, an admin token minted with src/auth/tokens.ts.
 */
import { loadDist } from './dist.ts';
import type { Orm } from '../../src/db/orm.js';

export const BENCH_JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnop';

export interface InProcessGateway {
  url: string;
  orm: Orm;
  adminToken: string;
  close(): Promise<void>;
}

export async function startInProcessGateway(databaseUrl: string): Promise<InProcessGateway> {
  const [{ loadConfig }, { loadCatalog }, { openOrm, closeOrm }, { createGatewayServer }, { signDevToken }] = await Promise.all([
    loadDist<typeof import('../../src/config.js')>('config'),
    loadDist<typeof import('../../src/catalog.js')>('catalog'),
    loadDist<typeof import('../../src/db/orm.js')>('db/orm'),
    loadDist<typeof import('../../src/http/server.js')>('http/server'),
    loadDist<typeof import('../../src/auth/tokens.js')>('auth/tokens'),
  ]);
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    RATE_LIMIT_PER_TOKEN: '0',
    RATE_LIMIT_PER_ADDRESS: '0',
  });
  const orm = await openOrm({ databaseUrl });
  try {
    const server = await createGatewayServer({ config, orm, catalog: loadCatalog(config.billingCatalog), checkStripe: async () => undefined });
    const port = await server.listen(0, '127.0.0.1');
    return {
      url: `http://127.0.0.1:${port}`,
      orm,
      adminToken: await signDevToken({ sub: 'bench', role: 'admin', expiresIn: '2h' }, BENCH_JWT_SECRET),
      close: async () => {
        await server.close();
        await closeOrm(orm);
      },
    };
  } catch (err) {
    await closeOrm(orm);
    throw err;
  }
}

/** POSTs a GraphQL query; throws on HTTP or GraphQL errors. */
export async function gql<T = Record<string, unknown>>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (res.status !== 200 || body.errors) throw new Error(`GraphQL ${res.status}: ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  return body.data!;
}
