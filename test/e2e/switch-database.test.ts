/**
 * Switching a sandbox from PGlite to PostgreSQL (DATABASE_URL) over the same DATA_DIR keeps the emulator's
 * state: customers and subscriptions live on at "Stripe" while the new database's mirror starts empty. The
 * gateway must not serve that emptiness (MRR $0.00): a never-synced mirror is backfilled before it is ready.
 * Without TEST_DATABASE_URL the new database is a fresh PGlite cluster under the same DATA_DIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../src/auth/tokens.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

const SECRET = 'switch-db-test-secret-0123456789abcdefghij';
let dataDir: string;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bg-switch-db-'));
});
afterAll(async () => {
  await gw?.stop();
  await db?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

async function gql<T>(url: string, query: string, token: string): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!;
}

const REPORT = '{ mrr { totals { formatted } activeSubscriptions } customer(id: "switch_1") { subscriptions { status plan { id } } } }';
type Report = { mrr: { totals: { formatted: string }[]; activeSubscriptions: number }; customer: { subscriptions: { status: string; plan: { id: string } }[] } | null };

describe('a new database beside existing Stripe state', () => {
  it('is backfilled from Stripe before the gateway reports ready: the same figures, not $0.00', async () => {
    const admin = await signDevToken({ sub: 'ops', role: 'admin' }, SECRET);
    gw = await startGatewayProcess({ AUTH_JWT_SECRET: SECRET }, { dataDir });
    const customer = await signDevToken({ sub: 'switch_1', email: 'switch@example.com' }, SECRET);
    await gql(gw.url, 'mutation { subscribe(input: { plan: "pro_monthly", paymentMethod: "pm_card_visa", idempotencyKey: "switch-1" }) { subscription { id } } }', customer);
    const before = await gql<Report>(gw.url, REPORT, admin);
    expect(before.mrr).toEqual({ totals: [{ formatted: '$5.00' }], activeSubscriptions: 1 });
    await gw.stop();
    gw = undefined;

    // The same DATA_DIR (the emulator's state), another database.
    let env: Record<string, string> = { AUTH_JWT_SECRET: SECRET };
    if (process.env.TEST_DATABASE_URL) {
      db = await createTestDatabase();
      env = { ...env, DATABASE_URL: db.env.DATABASE_URL! };
    } else {
      rmSync(join(dataDir, 'pglite'), { recursive: true, force: true });
    }
    gw = await startGatewayProcess(env, { dataDir });
    const after = await gql<Report>(gw.url, REPORT, admin);
    expect(after).toEqual(before);
    expect(after.customer?.subscriptions).toEqual([{ status: 'ACTIVE', plan: { id: 'pro_monthly' } }]);
  });
});
