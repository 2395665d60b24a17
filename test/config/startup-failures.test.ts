/**
 * The first run, as a newcomer meets it: `billing-gateway serve` (what `npm start` runs) that cannot start
 * says so in one line naming the setting and the fix, with no stack and no password, and exits 1.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startGatewayProcess } from '../support/gateway-process.js';
import { runBin, type CliRun } from '../cli/support.js';

const server = process.env.TEST_DATABASE_URL;
let dataDir: string;
let workDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bg-startup-'));
  workDir = mkdtempSync(join(tmpdir(), 'bg-startup-cwd-'));
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(workDir, { recursive: true, force: true });
});

async function serve(env: Record<string, string | undefined>): Promise<CliRun> {
  return runBin(['serve'], { NODE_ENV: 'development', DATA_DIR: dataDir, STRIPE_EMULATOR_PORT: '0', PORT: String(await freePort()), ...env }, workDir, 60_000);
}

/** Exit 1, nothing on stdout, exactly one line on stderr (returned). */
function oneLine(r: CliRun): string {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stdout.trim()).toBe('');
  return lines[0]!;
}

describe('a start that cannot succeed: one line, the setting and the fix', () => {
  it('PORT in use', async () => {
    const squatter: Server = createServer();
    const port = await new Promise<number>((resolve) => squatter.listen(0, () => resolve((squatter.address() as { port: number }).port)));
    try {
      const line = oneLine(await serve({ PORT: String(port) }));
      expect(line).toBe(
        `billing-gateway: PORT: port ${port} is already in use by another process; stop that process, or choose another port (PORT=${port + 1} npm start)`,
      );
    } finally {
      squatter.close();
    }
  });

  it('DATABASE_URL unreachable: host and port, never the password', async () => {
    const port = await freePort();
    const line = oneLine(await serve({ DATABASE_URL: `postgres://ada:s3cret-pw@127.0.0.1:${port}/billing` }));
    expect(line).toBe(
      `billing-gateway: DATABASE_URL: nothing accepts connections at 127.0.0.1:${port} (connection refused); start PostgreSQL there, or fix the host and port`,
    );
    expect(line).not.toContain('s3cret-pw');
  });

  it('DATABASE_URL with an unknown host', async () => {
    const line = oneLine(await serve({ DATABASE_URL: 'postgres://ada:s3cret-pw@db.invalid:5432/billing' }));
    expect(line).toBe('billing-gateway: DATABASE_URL: host "db.invalid" not found; fix the host');
  });

  it.runIf(!!server)('DATABASE_URL naming a database that does not exist: refused with the createdb command, and nothing is created', async () => {
    const url = new URL(server!);
    const name = `typo_${process.pid}_${Date.now()}`;
    url.pathname = `/${name}`;
    const line = oneLine(await serve({ DATABASE_URL: url.toString() }));
    const target = `${url.hostname}:${url.port || '5432'}`;
    expect(line).toBe(
      `billing-gateway: DATABASE_URL: database "${name}" does not exist at ${target}; create it (createdb -h ${url.hostname} -p ${url.port || '5432'} -U ${decodeURIComponent(url.username) || 'postgres'} ${name}) or fix its name (the gateway never creates a database)`,
    );
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });

  it('NODE_ENV=production without STRIPE_SECRET_KEY refuses to run the sandbox; STRIPE_SANDBOX=true runs it on purpose', async () => {
    const secret = 'prod-secret-0123456789-abcdefghijklmnop';
    const line = oneLine(await serve({ NODE_ENV: 'production', AUTH_JWT_SECRET: secret }));
    expect(line).toBe(
      'billing-gateway: STRIPE_SECRET_KEY: expected a Stripe secret key when NODE_ENV=production (without one the gateway runs its Stripe emulator); set it, or set STRIPE_SANDBOX=true to run the sandbox in production on purpose',
    );
    expect(oneLine(await serve({ STRIPE_SANDBOX: 'true', STRIPE_SECRET_KEY: 'sk_test_abc123' }))).toMatch(/^billing-gateway: STRIPE_SANDBOX: expected false or unset when STRIPE_SECRET_KEY is set/);

    const dir = mkdtempSync(join(tmpdir(), 'bg-startup-prod-'));
    const gw = await startGatewayProcess({ NODE_ENV: 'production', AUTH_JWT_SECRET: secret, STRIPE_SANDBOX: 'true' }, { dataDir: dir });
    try {
      expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
      expect(gw.output()).toContain('sandbox: built-in Stripe emulator');
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a second gateway on the same embedded database names DATA_DIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-startup-twice-'));
    const gw = await startGatewayProcess({}, { dataDir: dir });
    try {
      const line = oneLine(await serve({ DATA_DIR: dir }));
      expect(line).toMatch(/^billing-gateway: DATA_DIR: the embedded database under .* is in use by process \d+ .*choose another DATA_DIR/);
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
