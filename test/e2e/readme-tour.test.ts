import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

/**
 * The README's five-minute tour, step by step, as a newcomer runs it: the gateway process, the admin
 * token from its banner, `examples/watch-events.mjs` on a WebSocket, a customer token from the CLI,
 * the subscribe mutation – and the events arriving on the socket, then `clock advance --days 31` and the renewal.
 */
const run = promisify(execFile);

/**
 * The sandbox clock starts where SANDBOX_CLOCK_START says, so the tour never depends on today's date:
 * on the 31st, on the 28th of February, and on an ordinary day. The last ends in a 31-day month, where
 * `--days 31` reaches the period end exactly (the renewal is then a draft for Stripe's hour).
 */
const STARTS = ['2027-01-31T12:00:00Z', '2027-02-28T12:00:00Z', '2027-03-15T09:30:00Z'];

function waitForOutput(child: ChildProcess, pattern: RegExp, seen: () => string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    // The deadline of a wait driven by the child's output events, not a sleep: nothing waits for it to pass.
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen()}`)), timeoutMs);
    const check = () => {
      if (pattern.test(seen())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${pattern}:\n${seen()}`));
    });
    check();
  });
}

/** The tour's steps as this test runs them; the README must show exactly these. */
const TOUR_SUBSCRIBE =
  'mutation { subscribe(input: { plan: "pro_monthly", paymentMethod: "pm_card_visa", idempotencyKey: "tour-1" }) { subscription { id status mrr { formatted } } } }';
const TOUR_LINES = [
  'npm install && npm start',
  'TOKEN=<admin token from the banner> node examples/watch-events.mjs',
  'TOKEN=$(npx billing-gateway token --sub user_42 --email ada@example.com)',
  `-d '${JSON.stringify({ query: TOUR_SUBSCRIBE })}'`,
  'npx billing-gateway clock advance --days 31',
];

describe('the README', () => {
  it('shows the tour this test runs, step for step', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('## Five-minute tour');
    expect(start, 'the README has a "Five-minute tour" section').toBeGreaterThanOrEqual(0);
    const end = readme.indexOf('\n## ', start + 1);
    const tour = readme.slice(start, end < 0 ? undefined : end);
    for (const line of TOUR_LINES) expect(tour, line).toContain(line);
  });
});

describe.each(STARTS)('the README tour, the sandbox clock started at %s', (start) => {
  let db: TestDatabase;
  let gw: GatewayProcess;
  let dataDir: string;
  let watcher: ChildProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = db.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'gw-tour-'));
    gw = await startGatewayProcess({ ...(db.env.DATABASE_URL ? { DATABASE_URL: db.env.DATABASE_URL } : {}), SANDBOX_CLOCK_START: start }, { dataDir });
  }, 90_000);

  afterAll(async () => {
    watcher?.kill('SIGKILL');
    await gw?.stop();
    await db?.dispose();
    if (!db?.env.DATA_DIR && dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('reaches: gateway running, a subscription created with a minted token, its events seen on a WebSocket, its renewal paid', async () => {
    const admin = /Admin token[^\n]*\n\s*(\S+\.\S+\.\S+)/.exec(gw.output())?.[1];
    expect(admin, 'the banner prints an admin token').toBeTruthy();

    // Terminal 2: TOKEN=<admin token> node examples/watch-events.mjs
    let out = '';
    watcher = spawn(process.execPath, [join(PROJECT_ROOT, 'examples/watch-events.mjs'), `${gw.url.replace(/^http/, 'ws')}/graphql`], {
      env: { PATH: process.env.PATH, TOKEN: admin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    watcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitForOutput(watcher, /watching billing events/, () => out);

    // Terminal 3: TOKEN=$(npx billing-gateway token --sub user_42 --email ada@example.com)
    const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'bin/billing-gateway.js'), 'token', '--sub', 'user_42', '--email', 'ada@example.com'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
    });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);

    // … then the subscribe mutation of the tour.
    const res = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: TOUR_SUBSCRIBE,
      }),
    });
    const body = (await res.json()) as { data?: { subscribe: { subscription: { id: string; status: string; mrr: { formatted: string } } } }; errors?: unknown };
    expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
    expect(body.data?.subscribe.subscription).toMatchObject({ status: 'ACTIVE', mrr: { formatted: '$5.00' } });

    await waitForOutput(watcher, /SUBSCRIPTION_STARTED\s+subscription_started customer=cus_\S+ plan=pro_monthly/, () => out);
    await waitForOutput(watcher, /PAYMENT_RECEIVED\s+payment_received customer=cus_\S+ amount=\$5\.00/, () => out);

    // Then move time: npx billing-gateway clock advance --days 31 (beside the running gateway) bills the renewal.
    const paymentsBefore = out.match(/PAYMENT_RECEIVED/g)!.length;
    const advanced = await run(process.execPath, [join(PROJECT_ROOT, 'bin/billing-gateway.js'), 'clock', 'advance', '--days', '31', '--json'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, STRIPE_EMULATOR_PORT: new URL(gw.emulatorUrl).port, ...(db.env.DATABASE_URL ? { DATABASE_URL: db.env.DATABASE_URL } : {}) },
    });
    // The clock started where SANDBOX_CLOCK_START said (not today), and the subscription with it.
    const moved = JSON.parse(advanced.stdout) as { previousFrozenTime: number; frozenTime: number };
    expect(moved.previousFrozenTime).toBe(Date.parse(start) / 1000);
    await waitForOutput(watcher, new RegExp(`(PAYMENT_RECEIVED[^\\n]*\\n[\\s\\S]*){${paymentsBefore + 1}}`), () => out);

    // At Stripe: the first invoice and the renewal's, both paid.
    const stripe = new Stripe('sk_test_tour', { host: '127.0.0.1', port: Number(new URL(gw.emulatorUrl).port), protocol: 'http' });
    const invoices = await stripe.invoices.list({ subscription: body.data!.subscribe.subscription.id });
    expect(invoices.data.map((i) => [i.billing_reason, i.status])).toEqual([
      ['subscription_cycle', 'paid'],
      ['subscription_create', 'paid'],
    ]);
    expect(invoices.data[1]!.created).toBe(Date.parse(start) / 1000);
  }, 90_000);
});
