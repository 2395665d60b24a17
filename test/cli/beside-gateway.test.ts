/**
 * The CLI run beside a running sandbox gateway (a separate process with its in-process emulator), with
 * only the gateway's own settings: it must find that emulator (STRIPE_EMULATOR_PORT) and that database.
 * PostgreSQL (TEST_DATABASE_URL): both share it. PGlite: the gateway holds the cluster, so data commands
 * fail in one clear line, while `clock advance` (Stripe only) still works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { jsonOf, runBin } from './support.js';

const SECRET = 'cli-beside-test-secret-0123456789abcdefghij';
const postgres = !!process.env.TEST_DATABASE_URL;

let db: TestDatabase;
let gateway: GatewayProcess;
let workDir: string;

function env(): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: gateway.dataDir,
    DATABASE_URL: db.env.DATABASE_URL,
    STRIPE_EMULATOR_PORT: new URL(gateway.emulatorUrl).port,
    AUTH_JWT_SECRET: SECRET,
  };
}
const run = (args: string[]) => runBin(args, env(), workDir);

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bg-cli-beside-'));
  db = await createTestDatabase();
  gateway = await startGatewayProcess({ ...db.env, AUTH_JWT_SECRET: SECRET }, db.env.DATA_DIR ? { dataDir: db.env.DATA_DIR } : {});
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await db?.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the CLI beside a running sandbox gateway', () => {
  it("clock advance moves the gateway's test clock through its emulator", async () => {
    const out = jsonOf<{ clock: string; previousFrozenTime: number; frozenTime: number }>(await run(['clock', 'advance', '--days', '2', '--json']));
    expect(out.frozenTime - out.previousFrozenTime).toBe(2 * 86_400 + 3600);
    // The banner names the clock the gateway created; the CLI moved that one.
    expect(gateway.output()).toContain(`test clock ${out.clock}`);
  });

  it.runIf(postgres)('subscriptions create shares the database: the gateway answers with the new subscription at once', async () => {
    const created = jsonOf<{ subscription: { id: string; customerId: string; status: string } }>(
      await run(['subscriptions', 'create', '--customer', 'beside_1', '--plan', 'pro_monthly', '--payment-method', 'pm_card_visa', '--json']),
    );
    expect(created.subscription.status).toBe('active');
    const token = (await run(['token', '--sub', 'ops', '--role', 'admin'])).stdout.trim();
    const res = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ customer(id: "beside_1") { id subscriptions { id status } } }' }),
    });
    const body = (await res.json()) as { data: { customer: { id: string; subscriptions: { id: string; status: string }[] } } };
    expect(body.data.customer).toEqual({ id: created.subscription.customerId, subscriptions: [{ id: created.subscription.id, status: 'ACTIVE' }] });
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $5.00 (1 active subscription)\n');
    // The customer is on the gateway's clock, as one the gateway created would be.
    const clock = /test clock (clock_\w+)/.exec(gateway.output())![1];
    expect(jsonOf<{ testClock: string }>(await run(['customers', 'get', 'beside_1', '--json'])).testClock).toBe(clock);
  });

  it.runIf(!postgres)('data commands say in one line that the embedded database is in use and what to do', async () => {
    for (const args of [['customers', 'list'], ['metrics', 'mrr', '--json']]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^billing-gateway: the embedded database under .* is in use by process \d+ \(a running gateway\): .*DATABASE_URL/);
    }
  });
});
