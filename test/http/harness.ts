/**
 * A real gateway HTTP server for tests: a migrated database of its own (test/support/db.ts), the
 * default catalog, HS256 tokens, listening on a free port. Stripe readiness is a function the
 * test controls.
 */
import type { Express } from 'express';
import { signDevToken, type Role } from '../../src/auth/tokens.js';
import { loadCatalog } from '../../src/catalog.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Orm } from '../../src/db/orm.js';
import type { GatewaySchemaOptions } from '../../src/graphql/schema.js';
import { createGatewayServer, type GatewayServer, type GatewayServerDeps } from '../../src/http/server.js';
import { createTestOrm } from '../support/db.js';

export const TEST_SECRET = 'gateway-test-secret-0123456789-abcdefghij';

export interface TestGateway {
  url: string;
  wsUrl: string;
  port: number;
  orm: Orm;
  config: Config;
  server: GatewayServer;
  stripeUp: { value: boolean };
  token(sub: string, opts?: { role?: Role; email?: string; expiresIn?: string | number }): Promise<string>;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ status: number; body: GqlBody; headers: Headers }>;
  close(): Promise<void>;
}

export interface GqlBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
}

export async function startTestGateway(
  env: Record<string, string> = {},
  extra: { mountBeforeJson?: (app: Express) => void; webhookFastPath?: GatewayServerDeps['webhookFastPath']; orm?: Orm; checkDatabase?: () => Promise<unknown>; shutdownGraceMs?: number; schemaOptions?: GatewaySchemaOptions } = {},
): Promise<TestGateway> {
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: TEST_SECRET, ...env });
  const testOrm = extra.orm ? undefined : await createTestOrm();
  const orm = extra.orm ?? testOrm!.orm;
  const stripeUp = { value: true };
  const server = await createGatewayServer({
    config,
    orm,
    catalog: loadCatalog(config.billingCatalog),
    checkStripe: async () => {
      if (!stripeUp.value) throw new Error('stripe down');
    },
    mountBeforeJson: extra.mountBeforeJson,
    ...(extra.webhookFastPath ? { webhookFastPath: extra.webhookFastPath } : {}),
    checkDatabase: extra.checkDatabase,
    shutdownGraceMs: extra.shutdownGraceMs,
    schemaOptions: extra.schemaOptions,
  });
  const port = await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    port,
    orm,
    config,
    server,
    stripeUp,
    token: (sub, opts = {}) => signDevToken({ sub, ...opts }, TEST_SECRET),
    async gql(query, variables, token) {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text) as GqlBody, headers: res.headers };
    },
    async close() {
      await server.close();
      await testOrm?.dispose();
    },
  };
}

/** Fails the test if any error in a response carries a stack trace or internals. */
export function assertNoStack(body: unknown): void {
  const text = JSON.stringify(body);
  if (/stacktrace|\bat .+\.(ts|js):\d+|node_modules|select .* from/i.test(text)) throw new Error(`response leaks internals: ${text}`);
}
