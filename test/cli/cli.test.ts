import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_HEAP_FLAGS } from '../../bin/heap-flags.js';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { createStripeClient } from '../../src/stripe/client.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase } from '../support/db.js';
import { freePort } from '../support/gateway-process.js';
import { BIN, cliEnv, runBin, type CliRun } from './support.js';

const SECRET = 'cli-test-secret-0123456789abcdefghijklmnop';

let workDir: string;

/** The child's environment (support.ts `cliEnv`): test mode, data under the test's own dir, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({ NODE_ENV: 'test', DATA_DIR: join(workDir, 'data'), ...extra });
}

/** The real binary (support.ts `BIN`, built into dist/ as `npm install` does), run to its end in `workDir`. */
function run(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runBin(args, { NODE_ENV: 'test', DATA_DIR: join(workDir, 'data'), ...env }, workDir, 30_000);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  // dist/ is built once for the whole run by test/global-setup.ts.
  expect(existsSync(join(PROJECT_ROOT, 'dist/src/cli/index.js'))).toBe(true);
}, 120_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('billing-gateway CLI', () => {
  it('prints help with every command and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    const commands = ['serve', 'migrate', 'setup', 'emulator', 'token', 'sync', 'webhook', 'customers', 'subscriptions', 'metrics', 'clock', 'seed', 'keys'];
    for (const cmd of commands) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
    for (const cmd of commands) {
      const sub = await run([cmd, '--help']);
      expect(sub.code, cmd).toBe(0);
      expect(sub.stdout).toContain(`Usage: billing-gateway ${cmd}`);
    }
  });

  it('exits 2 with one line on bad usage', async () => {
    for (const args of [['frobnicate'], ['token'], ['token', '--sub', 'u1', '--role', 'root'], ['setup', '--bogus'], ['emulator', '--port', 'x'], []]) {
      const r = await run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    }
    const r = await run(['token', '--sub', 'u1', '--expires', 'soon']);
    expect(r.stderr.trim()).toBe("billing-gateway: option '--expires <duration>' argument 'soon' is invalid. expected a duration such as 30m, 1h, 7d.");
  });

  it('exits 1 naming the variable when the environment is invalid', async () => {
    const r = await run(['token', '--sub', 'u1'], { AUTH_JWT_SECRET: 'short' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('AUTH_JWT_SECRET: expected');
    expect(r.stderr).not.toContain('short'); // a secret's value is never echoed
  });

  it('mints a token the gateway verifies', async () => {
    const r = await run(['token', '--sub', 'user_42', '--role', 'admin', '--email', 'ops@example.com', '--expires', '1h'], {
      AUTH_JWT_SECRET: SECRET,
    });
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET));
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: 'user_42', role: 'admin', email: 'ops@example.com' });
    expect(payload.exp! - payload.iat!).toBe(3600);

    const json = await run(['token', '--sub', 'c1', '--json'], { AUTH_JWT_SECRET: SECRET });
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { token: string; role: string; sub: string };
    expect(out).toMatchObject({ sub: 'c1', role: 'customer' });
    const verified = await jwtVerify(out.token, new TextEncoder().encode(SECRET));
    expect(verified.payload.role).toBe('customer');
    // Signed with another secret, it does not verify.
    await expect(jwtVerify(out.token, new TextEncoder().encode(`${SECRET}x`))).rejects.toThrow();
  });

  it('signs with the persisted development secret when AUTH_JWT_SECRET is unset', async () => {
    const dataDir = join(workDir, 'dev-data');
    const r = await run(['token', '--sub', 'dev_user', '--role', 'admin'], { NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    const devSecret = readFileSync(join(dataDir, 'dev-jwt-secret'), 'utf8').trim();
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(devSecret));
    expect(payload).toMatchObject({ sub: 'dev_user', role: 'admin' });
  });

  it('migrates the database and reports the status', async () => {
    const database = await createTestDatabase();
    try {
      const env = { ...database.env } as Record<string, string>;
      const up = await run(['migrate', '--json'], env);
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ applied: [] }); // createTestDatabase already migrated it
      const status = await run(['migrate', '--status', '--json'], env);
      expect(status.code).toBe(0);
      const s = JSON.parse(status.stdout) as { executed: string[]; pending: string[] };
      expect(s.pending).toEqual([]);
      expect(s.executed.length).toBeGreaterThan(0);
    } finally {
      await database.dispose();
    }
  });

  describe('setup against an emulator', () => {
    let emulator: RunningEmulator;
    beforeAll(async () => {
      emulator = await startEmulator({ port: 0 });
    });
    afterAll(async () => {
      await emulator.close();
    });

    it('syncs the catalog, then reports nothing to change', async () => {
      const first = await run(['setup', '--json'], { STRIPE_API_BASE: emulator.url });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const report = JSON.parse(first.stdout);
      expect(report).toMatchObject({ target: 'emulator', apiBase: emulator.url, created: 10, changed: 10, dryRun: false });

      const stripe = createStripeClient({ secretKey: 'sk_test_cli', apiBase: emulator.url });
      const prices = await stripe.prices.list({ lookup_keys: ['pro_monthly'] });
      expect(prices.data[0]).toMatchObject({ unit_amount: 500, currency: 'usd' });

      const second = await run(['setup', '--json', '--api-base', emulator.url]);
      expect(second.code).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ created: 0, updated: 0, replaced: 0, changed: 0, unchanged: 10 });

      const text = await run(['setup'], { STRIPE_API_BASE: emulator.url });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('0 created, 0 updated, 0 replaced, 10 unchanged');
    });

    it('fails with one line when the catalog file is bad', async () => {
      const r = await run(['setup', '--catalog', join(workDir, 'missing.json')], { STRIPE_API_BASE: emulator.url });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('cannot read');
    });
  });

  it('runs the emulator until SIGTERM', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--memory', '--json'], { cwd: workDir, env: cleanEnv() });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      let text = '';
      for await (const line of lines) {
        text += line;
        if (line === '}') break;
      }
      const info = JSON.parse(text) as { url: string; port: number };
      expect(info.port).toBeGreaterThan(0);
      const stripe = createStripeClient({ secretKey: 'sk_test_cli', apiBase: info.url, maxNetworkRetries: 0 });
      const customer = await stripe.customers.create({ email: 'emu@example.com' });
      expect(customer.id).toMatch(/^cus_/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('forwards signed events with --forward-to and --webhook-secret', async () => {
    const secret = 'whsec_cli_forward_test_0123456789';
    const received: Array<{ body: string; signature: string }> = [];
    let onEvent: () => void = () => {};
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, signature: String(req.headers['stripe-signature']) });
        res.writeHead(200).end('{}');
        onEvent();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;
    const child = spawn(
      process.execPath,
      [BIN, 'emulator', '--port', '0', '--memory', '--json', '--forward-to', hook, '--webhook-secret', secret],
      { cwd: workDir, env: cleanEnv() },
    );
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      let text = '';
      for await (const line of createInterface({ input: child.stdout })) {
        text += line;
        if (line === '}') break;
      }
      const info = JSON.parse(text) as { url: string; webhookSecret?: string };
      expect(info.webhookSecret).toBeUndefined(); // given by the user: not echoed
      const delivered = new Promise<void>((r) => (onEvent = r));
      const stripe = createStripeClient({ secretKey: 'sk_test_cli', apiBase: info.url, maxNetworkRetries: 0 });
      const customer = await stripe.customers.create({ email: 'hook@example.com' });
      await delivered;
      const event = stripe.webhooks.constructEvent(received[0]!.body, received[0]!.signature, secret);
      expect(event.type).toBe('customer.created');
      expect((event.data.object as { id: string }).id).toBe(customer.id);
    } finally {
      child.kill('SIGTERM');
      receiver.close();
    }
    expect(await exited).toBe(0);
  });

  it('serves until SIGTERM, then stops gracefully with exit 0', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], {
      cwd: workDir,
      env: cleanEnv({
        ...(database.env as Record<string, string>),
        DATA_DIR: database.env.DATA_DIR ?? join(workDir, 'serve-data'),
        STRIPE_EMULATOR_PORT: '0',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        AUTH_JWT_SECRET: SECRET,
      }),
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      let ready = false;
      for await (const line of createInterface({ input: child.stdout })) {
        if (line.includes('billing-gateway ready')) {
          ready = true;
          break;
        }
      }
      expect(ready, stderr).toBe(true);
      // The bin replaced itself (same pid) with the gateway's V8 heap flags (bin/heap-flags.js).
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of GATEWAY_HEAP_FLAGS) expect(argv).toContain(flag);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    await database.dispose();
  });

  it('exits 1 with one line when the gateway cannot start', async () => {
    const r = await run(['serve', '--port', String(await freePort())], { DATABASE_URL: 'mysql://nope' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('DATABASE_URL: expected');
  });
});
