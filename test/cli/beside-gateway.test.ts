/**
 * The CLI run beside a running sandbox gateway (a separate process with its in-process emulator), with
 * only the gateway's own settings: it must find that emulator (STRIPE_EMULATOR_PORT) and that database.
 * PostgreSQL (TEST_DATABASE_URL): both share it. PGlite: the gateway holds the cluster, so data commands
 * run inside the gateway (through its socket in DATA_DIR), while `clock advance` (Stripe only) works as ever.
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

/** `subscriptions create` for a new customer, then the gateway answers with that subscription at once. */
async function subscribeAndSeeOnGateway(customer: string, extra: string[] = []) {
  const created = jsonOf<{ subscription: { id: string; customerId: string; status: string } }>(
    await run(['subscriptions', 'create', '--customer', customer, '--plan', 'pro_monthly', ...extra, '--payment-method', 'pm_card_visa', '--json']),
  );
  expect(created.subscription.status).toBe('active');
  const token = (await run(['token', '--sub', 'ops', '--role', 'admin'])).stdout.trim();
  const res = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: `{ customer(id: "${customer}") { id subscriptions { id status } } }` }),
  });
  const body = (await res.json()) as { data: { customer: { id: string; subscriptions: { id: string; status: string }[] } } };
  expect(body.data.customer).toEqual({ id: created.subscription.customerId, subscriptions: [{ id: created.subscription.id, status: 'ACTIVE' }] });
  return created;
}

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
    const created = await subscribeAndSeeOnGateway('beside_1');
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $5.00 (1 active subscription)\n');
    // The customer is on the gateway's clock, as one the gateway created would be.
    const clock = /test clock (clock_\w+)/.exec(gateway.output())![1];
    expect(jsonOf<{ testClock: string }>(await run(['customers', 'get', 'beside_1', '--json'])).testClock).toBe(clock);
  });

  it.runIf(!postgres)('every data command of docs/cli.md works beside the gateway that holds the embedded database', async () => {
    // subscriptions create: the gateway sees the customer at once (the command ran inside it, on its database).
    const created = await subscribeAndSeeOnGateway('beside_pg', ['--quantity', '3']);

    const mrr = await run(['metrics', 'mrr']);
    expect(mrr).toEqual({ code: 0, stdout: 'MRR: $15.00 (1 active subscription)\n', stderr: '' });
    expect(jsonOf<{ activeSubscriptions: number }>(await run(['metrics', 'mrr', '--json'])).activeSubscriptions).toBe(1);
    const listed = jsonOf<{ customers: { id: string }[] }>(await run(['customers', 'list', '--json']));
    expect(listed.customers.map((c) => c.id)).toContain(created.subscription.customerId);
    expect((await run(['customers', 'get', 'beside_pg'])).code).toBe(0);
    const seeded = await run(['seed', '--customers', '2', '--plan', 'pro_monthly', '--json']);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $25.00 (3 active subscriptions)\n');
    const synced = await run(['sync', '--full', '--json']);
    expect(synced.code, synced.stderr).toBe(0);
    expect(jsonOf<{ full: { checked: { customers: number } } }>(synced).full.checked.customers).toBeGreaterThanOrEqual(3);
    const cancelled = await run(['subscriptions', 'cancel', created.subscription.id, '--now']);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $10.00 (2 active subscriptions)\n');

    expect((await run(['migrate', '--status'])).stdout).toMatch(/^\d+ applied, 0 pending/);

    // Bad usage still exits 2 with commander's one line, now printed by the CLI from the gateway's answer.
    const bad = await run(['customers', 'get']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
