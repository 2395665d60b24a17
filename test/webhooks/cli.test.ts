/**
 * `billing-gateway sync` and `billing-gateway webhook`, run from the compiled tree as child processes
 * against an emulator over HTTP and a database of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, startCliSandbox, type CliSandbox } from '../cli/support.js';
import { eventually } from '../support/eventually.js';
import { SECRET } from './support.js';

let cli: CliSandbox;
let stripe: Stripe;
const run = (args: string[]) => cli.run(args);

beforeAll(async () => {
  cli = await startCliSandbox({ STRIPE_WEBHOOK_SECRET: SECRET, AUTH_JWT_SECRET: 'webhook-cli-test-secret-0123456789abcdef' });
  stripe = cli.stripe;
});
afterAll(() => cli?.close());

describe('billing-gateway sync', () => {
  it('processes the events the mirror missed, then --full reports and repairs drift (JSON)', async () => {
    const customer = await stripe.customers.create({ email: 'cli@example.com' });
    const first = await run(['sync', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const report = JSON.parse(first.stdout) as { events: { listed: number; missed: number; processed: number } };
    expect(report.events.missed).toBeGreaterThanOrEqual(1);
    expect(report.events.processed).toBeGreaterThanOrEqual(1);

    expect(await cli.query(`select email from customers where id = ?`, [customer.id])).toEqual([{ email: 'cli@example.com' }]);
    await cli.query(`update customers set email = 'drifted@example.com' where id = ?`, [customer.id]);

    const full = await run(['sync', '--full', '--json']);
    expect(full.code).toBe(0);
    const fr = JSON.parse(full.stdout) as { events: { listed: number }; full: { drift: unknown[]; repaired: number } };
    expect(fr.events.listed).toBe(0);
    expect(fr.full.drift).toEqual([{ table: 'customers', id: customer.id, kind: 'changed', fields: ['email'] }]);
    expect(fr.full.repaired).toBe(1);

    const text = await run(['sync', '--full']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('No drift: the mirror matches Stripe.');
  });
});

describe('billing-gateway webhook', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('runs the webhook route and workers alone, with probes, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, [BIN, 'webhook', '--port', '0'], { cwd: cli.workDir, env: cliEnv(cli.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const base = await new Promise<string>((resolveUrl, reject) => {
      lines.on('line', (line) => {
        const m = /POST (http:\/\/\S+)\/webhooks\/stripe/.exec(line);
        if (m) resolveUrl(m[1]!);
      });
      child!.once('exit', (code) => reject(new Error(`sidecar exited with ${code}: ${stderr}`)));
    });

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    const customer = await stripe.customers.create({ email: 'sidecar@example.com' });
    const event = { id: 'evt_sidecar_1', object: 'event', api_version: '2026-10-28.endive', created: customer.created, data: { object: customer }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: 'customer.created' };
    const payload = JSON.stringify(event);
    const res = await fetch(`${base}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
      body: payload,
    });
    expect(res.status).toBe(200);
    const bad = await fetch(`${base}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' }, body: payload });
    expect(bad.status).toBe(400);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('webhook_events_received_total{outcome="stored"} 1');
    // Processed by the sidecar's worker (woken by the insert): visible in its metrics.
    await eventually('the sidecar to process the event', async () => (await (await fetch(`${base}/metrics`)).text()).includes('webhook_events_processed_total{type="customer.created"'), undefined, { interval: 50 });

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    expect(await cli.query(`select status from webhook_events where id = 'evt_sidecar_1'`)).toEqual([{ status: 'processed' }]);
    expect(await cli.query(`select email from customers where id = ?`, [customer.id])).toEqual([{ email: 'sidecar@example.com' }]);
  });
});
