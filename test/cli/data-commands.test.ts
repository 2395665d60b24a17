/**
 * The CLI's data commands (customers, subscriptions, metrics, clock, seed), each run as the real binary
 * against a migrated gateway database (PostgreSQL with TEST_DATABASE_URL, else PGlite) and an emulator
 * started here, checked through the emulator's API and the command's own output.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG_PATH } from '../../src/catalog.js';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { BIN, cliEnv, jsonOf, runBin, type CliRun } from './support.js';

let workDir: string;
let db: TestDatabase;
let emu: RunningEmulator;
let stripe: Stripe;

function env(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    DATA_DIR: db.env.DATA_DIR ?? join(workDir, 'data'),
    DATABASE_URL: db.env.DATABASE_URL,
    STRIPE_API_BASE: emu.url,
    AUTH_JWT_SECRET: 'cli-data-test-secret-0123456789abcdefghij',
    BILLING_CATALOG: join(workDir, 'catalog.json'),
    ...extra,
  };
}

const run = (args: string[], extra?: Record<string, string>): Promise<CliRun> => runBin(args, env(extra), workDir);

/** A failure: the exit code, nothing on stdout, exactly one line on stderr (no stack). */
function expectFailure(r: CliRun, code: 1 | 2): string {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^billing-gateway: /);
  return lines[0]!;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bg-cli-data-'));
  // The default catalog plus a plan in euros (its own product), for MRR in two currencies.
  const catalog = JSON.parse(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));
  catalog.products.push({ id: 'team', name: 'Team' });
  catalog.plans.push({
    id: 'team_eur', name: 'Team (EUR)', product: 'team', price: { amount: 900, currency: 'eur' }, interval: 'month',
    perSeat: false, selfServe: true, features: ['Team'], meters: [],
  });
  writeFileSync(join(workDir, 'catalog.json'), JSON.stringify(catalog));
  db = await createTestDatabase();
  emu = await startEmulator({ port: 0 });
  stripe = new Stripe('sk_test_cli', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const setup = await run(['setup', '--json']);
  expect(setup.code, setup.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await db?.dispose();
  rmSync(workDir, { recursive: true, force: true });
});

describe('data commands against a gateway database and the emulator', () => {
  let proId: string;
  let basicId: string;
  let customerId: string;

  it('each has --help (exit 0) and rejects bad usage with exit 2', async () => {
    for (const cmd of [['customers', 'list'], ['customers', 'get'], ['subscriptions', 'create'], ['subscriptions', 'cancel'], ['metrics', 'mrr'], ['metrics', 'revenue'], ['clock', 'advance'], ['seed']]) {
      const help = await run([...cmd, '--help']);
      expect(help.code, cmd.join(' ')).toBe(0);
      expect(help.stdout).toContain(`Usage: billing-gateway ${cmd.join(' ')}`);
      expect(help.stdout).toContain('--json');
    }
    for (const args of [
      ['customers'],
      ['customers', 'frobnicate'],
      ['customers', 'get'],
      ['customers', 'list', '--first', '0'],
      ['subscriptions', 'create', '--plan', 'pro_monthly'],
      ['subscriptions', 'create', '--customer', 'u', '--plan', 'pro_monthly', '--quantity', 'two'],
      ['metrics', 'mrr', '--bogus'],
      ['clock', 'advance'],
      ['clock', 'advance', '--days', '-3'],
      ['seed', '--customers', 'many'],
    ]) {
      expectFailure(await run(args), 2);
    }
  });

  it('metrics mrr: nothing yet', async () => {
    const r = await run(['metrics', 'mrr']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('MRR: $0.00 (0 active subscriptions)\n');
  });

  it('subscriptions create: a new customer by externalId, charged, on the sandbox test clock, mirrored', async () => {
    const r = await run(['subscriptions', 'create', '--customer', 'user_cli_1', '--plan', 'pro_monthly', '--quantity', '3', '--payment-method', 'pm_card_visa', '--json']);
    expect(r.stderr).toBe('');
    const out = jsonOf<{ subscription: Record<string, any>; checkoutUrl: null }>(r);
    expect(out.checkoutUrl).toBeNull();
    expect(out.subscription).toMatchObject({ status: 'active', plan: 'pro_monthly', quantity: 3, currency: 'usd', mrr: { amount: 1500, currency: 'usd', formatted: '$15.00' } });
    proId = out.subscription.id;
    customerId = out.subscription.customerId;

    // At Stripe (the emulator): the customer carries the externalId and sits on the sandbox clock.
    const sub = await stripe.subscriptions.retrieve(proId);
    expect(sub.status).toBe('active');
    const customer = (await stripe.customers.retrieve(customerId)) as Stripe.Customer;
    expect(customer.metadata).toMatchObject({ external_id: 'user_cli_1' });
    const clocks = await stripe.testHelpers.testClocks.list();
    expect(clocks.data.map((c) => c.id)).toContain(customer.test_clock);
  });

  it('subscriptions create: text output, a second customer', async () => {
    const r = await run(['subscriptions', 'create', '--customer', 'user_cli_2', '--plan', 'basic_monthly', '--payment-method', 'pm_card_visa']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Created sub_\w+ {2}active {2}basic_monthly {2}MRR \$1\.00 {2}renews \d{4}-\d\d-\d\d for cus_\w+\n$/);
    basicId = /sub_\w+/.exec(r.stdout)![0];
  });

  it('subscriptions create: the same idempotency key returns the same subscription; bad input and declines fail clearly', async () => {
    const args = ['subscriptions', 'create', '--customer', 'user_cli_3', '--plan', 'basic_monthly', '--trial-days', '14', '--idempotency-key', 'cli-key-1', '--json'];
    const first = jsonOf(await run(args));
    const again = jsonOf(await run(args));
    expect(first.subscription).toMatchObject({ status: 'trialing', plan: 'basic_monthly' });
    expect(again.subscription.id).toBe(first.subscription.id);
    expect((await stripe.subscriptions.list({ customer: first.subscription.customerId })).data).toHaveLength(1);

    expect(expectFailure(await run(['subscriptions', 'create', '--customer', 'user_cli_4', '--plan', 'gold'], {}), 2)).toBe(
      'billing-gateway: --plan: Unknown plan "gold"; see the plans query',
    );
    expect(expectFailure(await run(['subscriptions', 'create', '--customer', 'user_cli_4', '--plan', 'enterprise']), 2)).toBe(
      'billing-gateway: --plan: Plan "enterprise" is not self-serve; contact sales',
    );
    const declined = expectFailure(
      await run(['subscriptions', 'create', '--customer', 'user_cli_4', '--plan', 'pro_monthly', '--payment-method', 'pm_card_chargeDeclined']),
      1,
    );
    expect(declined).toMatch(/\(CARD_DECLINED, \w+\)$/);
    // A live subscription to the same product: CONFLICT, exit 1.
    expect(expectFailure(await run(['subscriptions', 'create', '--customer', 'user_cli_1', '--plan', 'pro_yearly', '--payment-method', 'pm_card_visa']), 1)).toMatch(
      /\(CONFLICT\)$/,
    );
  });

  it('customers list: newest first, pages, email filter, text and JSON', async () => {
    const all = jsonOf<{ totalCount: number; hasNextPage: boolean; customers: { id: string; externalId: string }[] }>(await run(['customers', 'list', '--json']));
    expect(all.totalCount).toBe(4); // user_cli_4 was created before its card was declined
    expect(all.hasNextPage).toBe(false);
    // Customers on the sandbox clock share its frozen `created`: the order is (created, id), newest first.
    const order = all.customers.map((c) => c.externalId);
    expect([...order].sort()).toEqual(['user_cli_1', 'user_cli_2', 'user_cli_3', 'user_cli_4']);

    const page1 = jsonOf<{ hasNextPage: boolean; endCursor: string; customers: { externalId: string }[] }>(await run(['customers', 'list', '--first', '3', '--json']));
    expect(page1.hasNextPage).toBe(true);
    const page2 = jsonOf<{ hasNextPage: boolean; customers: { externalId: string }[] }>(await run(['customers', 'list', '--first', '3', '--after', page1.endCursor, '--json']));
    expect(page2.hasNextPage).toBe(false);
    expect([...page1.customers, ...page2.customers].map((c) => c.externalId)).toEqual(order);

    const text = await run(['customers', 'list', '--first', '1']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +EXTERNAL ID +EMAIL +CREATED$/);
    expect(lines[1]).toMatch(new RegExp(`^cus_\\w+ +${order[0]} +- +\\d{4}-`));
    expect(lines[2]).toMatch(/^1 of 4 customers; next page: --after \S+$/);

    const none = jsonOf<{ totalCount: number }>(await run(['customers', 'list', '--email', 'nobody@example.com', '--json']));
    expect(none.totalCount).toBe(0);
    expect(expectFailure(await run(['customers', 'list', '--after', 'not-a-cursor']), 2)).toBe('billing-gateway: --after: not a valid cursor');
  });

  it('customers get: by externalId or cus_ id, with subscriptions; unknown → exit 1', async () => {
    const byExternal = jsonOf<{ id: string; externalId: string; subscriptions: { id: string; status: string }[] }>(await run(['customers', 'get', 'user_cli_1', '--json']));
    expect(byExternal).toMatchObject({ id: customerId, externalId: 'user_cli_1', subscriptions: [{ id: proId, status: 'active' }] });
    const text = await run(['customers', 'get', customerId]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Customer ${customerId}\n`);
    expect(text.stdout).toMatch(/ {2}external id +user_cli_1\n/);
    expect(text.stdout).toContain(`Subscriptions:\n  ${proId}  active  pro_monthly ×3  MRR $15.00  renews `);
    expect(expectFailure(await run(['customers', 'get', 'nobody']), 1)).toBe('billing-gateway: customer nobody not found');
  });

  it('metrics mrr: exactly one line, and the full report with --json', async () => {
    const r = await run(['metrics', 'mrr']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('MRR: $16.00 (2 active subscriptions)\n'); // pro_monthly ×3 + basic_monthly; the trial does not count
    const report = jsonOf<{ totals: { amount: number; currency: string }[]; activeSubscriptions: number; byPlan: unknown[] }>(await run(['metrics', 'mrr', '--json']));
    expect(report.totals).toEqual([expect.objectContaining({ amount: 1600, currency: 'usd' })]);
    expect(report.activeSubscriptions).toBe(2);
    expect(report.byPlan).toHaveLength(2);
  });

  it('metrics revenue: the month of the sandbox clock, as a table with a bar and as JSON', async () => {
    const clock = (await stripe.testHelpers.testClocks.list()).data[0]!;
    const at = new Date(clock.frozen_time * 1000);
    const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1)).toISOString().slice(0, 10);
    const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
    const points = jsonOf<Record<string, unknown>[]>(await run(['metrics', 'revenue', '--from', from, '--to', to, '--json']));
    expect(points).toEqual([
      expect.objectContaining({ currency: 'usd', mrr: 1600, newMrr: 1600, netNewMrr: 1600, customers: 2, newCustomers: 2, churnedMrr: 0, arpa: 800 }),
    ]);
    const text = await run(['metrics', 'revenue', '--from', from, '--to', to, '--interval', 'month']);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^period +cur +MRR +new +expansion +contraction +churned +reactivation +net new +customers +churn +NRR$/);
    expect(lines[1]).toMatch(new RegExp(`^${from.slice(0, 7)} +usd +\\$16\\.00 +\\$16\\.00 .* \\+\\$16\\.00 +2 +– +– +█{20}$`));
    expect(expectFailure(await run(['metrics', 'revenue', '--interval', 'year']), 2)).toMatch(/--interval/);
  });

  it('clock advance: moves the sandbox clock and renewals are invoiced', async () => {
    const before = (await stripe.subscriptions.retrieve(basicId)).items.data[0]!.current_period_end;
    const r = await run(['clock', 'advance', '--days', '31', '--json']);
    expect(r.stderr).toBe('');
    const out = jsonOf<{ clock: string; previousFrozenTime: number; frozenTime: number; frozenAt: string }>(r);
    // 31 days and Stripe's finalisation hour, so a renewal due on the last day is finalised and paid too.
    expect(out.frozenTime - out.previousFrozenTime).toBe(31 * 86_400 + 3600);
    expect(out.frozenAt).toBe(new Date(out.frozenTime * 1000).toISOString());
    const clock = await stripe.testHelpers.testClocks.retrieve(out.clock);
    expect(clock).toMatchObject({ frozen_time: out.frozenTime, status: 'ready' });
    // The subscription renewed: a new period and a second (paid) invoice.
    expect((await stripe.subscriptions.retrieve(basicId)).items.data[0]!.current_period_end).toBeGreaterThan(before);
    expect((await stripe.invoices.list({ subscription: basicId })).data.length).toBe(2);

    const text = await run(['clock', 'advance', '--days', '1']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toBe(
      `Test clock ${out.clock} advanced 1 day + 1 hour (Stripe finalises a renewal an hour after the period ends): now ${new Date((out.frozenTime + 86_400 + 3600) * 1000).toISOString()}\n`,
    );

    expect(expectFailure(await run(['clock', 'advance', '--days', '1'], { STRIPE_SECRET_KEY: 'sk_test_notsandbox' }), 1)).toContain('only in the sandbox');
    expect(expectFailure(await run(['clock', 'advance', '--days', '1', '--clock', 'clock_missing']), 1)).toContain('clock_missing');
  });

  it('subscriptions cancel: at period end, then now; MRR follows', async () => {
    const atEnd = jsonOf<{ subscription: { cancelAtPeriodEnd: boolean; status: string } }>(await run(['subscriptions', 'cancel', basicId, '--json']));
    expect(atEnd.subscription).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    const now = await run(['subscriptions', 'cancel', basicId, '--now']);
    expect(now.code, now.stderr).toBe(0);
    expect(now.stdout).toBe(`Canceled ${basicId}  canceled  basic_monthly\n`);
    expect((await stripe.subscriptions.retrieve(basicId)).status).toBe('canceled');
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $15.00 (1 active subscription)\n');

    expect(expectFailure(await run(['subscriptions', 'cancel', 'nope']), 2)).toBe('billing-gateway: <id>: Expected a Stripe subscription id (sub_…)');
    expect(expectFailure(await run(['subscriptions', 'cancel', 'sub_missing123']), 1)).toMatch(/\(NOT_FOUND\)$/);
  });

  it('seed: N customers subscribed through the services, counted by metrics mrr', async () => {
    const r = await run(['seed', '--customers', '3', '--plan', 'basic_monthly', '--json']);
    expect(r.stderr).toBe('');
    const out = jsonOf<{ customers: number; created: { subscriptionId: string; plan: string }[]; externalIdPrefix: string }>(r);
    expect(out.customers).toBe(3);
    expect(out.created).toHaveLength(3);
    for (const c of out.created) expect((await stripe.subscriptions.retrieve(c.subscriptionId)).status).toBe('active');
    expect((await run(['metrics', 'mrr'])).stdout).toBe('MRR: $18.00 (4 active subscriptions)\n');
    const listed = jsonOf<{ totalCount: number }>(await run(['customers', 'list', '--json']));
    expect(listed.totalCount).toBe(7);
    expect(expectFailure(await run(['seed', '--customers', '1'], { STRIPE_SECRET_KEY: 'sk_test_notsandbox' }), 1)).toContain('only in the sandbox');
  });

  it('metrics mrr: one line per currency, each with its own subscriptions', async () => {
    const r = await run(['subscriptions', 'create', '--customer', 'user_cli_1', '--plan', 'team_eur', '--payment-method', 'pm_card_visa']);
    expect(r.code, r.stderr).toBe(0);
    const mrr = await run(['metrics', 'mrr']);
    expect(mrr.code, mrr.stderr).toBe(0);
    expect(mrr.stdout).toBe('MRR: $18.00 (4 active subscriptions)\nMRR: €9.00 (1 active subscription)\n');
    const report = jsonOf<{ totals: { amount: number; currency: string }[]; activeSubscriptions: number }>(await run(['metrics', 'mrr', '--json']));
    expect(report.totals.map((t) => [t.amount, t.currency])).toEqual([[1800, 'usd'], [900, 'eur']]);
    expect(report.activeSubscriptions).toBe(5);
  });

  it('webhook --json prints where it listens, then stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'webhook', '--port', '0', '--json'], {
      cwd: workDir,
      env: cliEnv(env({ STRIPE_WEBHOOK_SECRET: 'whsec_cli_data_test_0123456789' })),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      const printed = await new Promise<{ url: string; webhookUrl: string }>((done, fail) => {
        child.stdout.on('data', (c) => {
          stdout += c;
          if (stdout.trimEnd().endsWith('}')) done(JSON.parse(stdout));
        });
        child.on('exit', () => fail(new Error(`webhook exited: ${stderr}`)));
      });
      expect(printed.webhookUrl).toBe(`${printed.url}/webhooks/stripe`);
      expect((await fetch(`${printed.url}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(() => JSON.parse(stdout)).not.toThrow(); // nothing but the JSON on stdout
  });

  // `script` gives the command a terminal (util-linux; absent elsewhere: skipped).
  it.runIf(existsSync('/usr/bin/script'))('progress bars on a terminal only, never with --json', async () => {
    const onTerminal = (args: string[]) =>
      new Promise<{ code: number; output: string }>((done) => {
        const command = [process.execPath, BIN, ...args].join(' ');
        execFile('/usr/bin/script', ['-qfec', command, '/dev/null'], { cwd: workDir, env: cliEnv(env()), timeout: 120_000 }, (err, stdout) =>
          done({ code: err ? Number(err.code) : 0, output: stdout }),
        );
      });
    const seeded = await onTerminal(['seed', '--customers', '2', '--plan', 'basic_monthly']);
    expect(seeded.code).toBe(0);
    expect(seeded.output).toMatch(/Seeding +\[[█░]+\] 2\/2/);
    const setup = await onTerminal(['setup']);
    expect(setup.output).toMatch(/Syncing catalog \[[█░]+\] \d+\/\d+/);
    const synced = await onTerminal(['sync', '--full']);
    expect(synced.code).toBe(0);
    expect(synced.output).toMatch(/Objects +\[[█░]+\] \d+\/\d+/);
    const json = await onTerminal(['seed', '--customers', '1', '--plan', 'basic_monthly', '--json']);
    expect(json.code).toBe(0);
    expect(json.output).not.toContain('Seeding');
    expect(JSON.parse(json.output.replace(/\r/g, ''))).toMatchObject({ customers: 1 });
  });
});
