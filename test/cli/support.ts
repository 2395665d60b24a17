import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { startEmulator, type RunningEmulator } from '@billing-gateway/stripe-emulator';
import { closeOrm, openOrm } from '../../src/db/orm.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestDatabase } from '../support/db.js';

/** The real binary, built by tsc into dist/ (test/global-setup.ts), as `npx billing-gateway` runs it. */
export const BIN = join(PROJECT_ROOT, 'bin/billing-gateway.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a CLI child sees: PATH and HOME only, plus `env` (no variable of the test runner leaks in). */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR']) if (process.env[k]) out[k] = process.env[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** Runs `billing-gateway <args>` to its end. */
export function runBin(args: string[], env: Record<string, string | undefined>, cwd: string, timeout = 120_000): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: cliEnv(env), timeout, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** Parses a --json run, failing with its stderr when it did not succeed. */
export function jsonOf<T = any>(run: CliRun): T {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** A CLI under test with what it runs against: an emulator over HTTP, a database and a working dir of its own. */
export interface CliSandbox {
  emu: RunningEmulator;
  /** The SDK on the emulator, for the test's own Stripe calls. */
  stripe: Stripe;
  workDir: string;
  /** The CLI's environment (before `cliEnv` filters the runner's). */
  env: Record<string, string | undefined>;
  run(args: string[]): Promise<CliRun>;
  /** One statement on the sandbox's database (an ORM opened and closed around it: the CLI runs between). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startCliSandbox(env: Record<string, string>): Promise<CliSandbox> {
  const workDir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  const db = await createTestDatabase();
  const emu = await startEmulator({ port: 0 });
  const stripe = new Stripe('sk_test_cli', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const cli = {
    NODE_ENV: 'test',
    DATA_DIR: db.env.DATA_DIR ?? join(workDir, 'data'),
    DATABASE_URL: db.env.DATABASE_URL,
    STRIPE_API_BASE: emu.url,
    ...env,
  };
  return {
    emu,
    stripe,
    workDir,
    env: cli,
    run: (args) => runBin(args, cli, workDir, 60_000),
    async query<T>(sql: string, params: unknown[] = []) {
      const orm = await openOrm(db.env.DATABASE_URL ? { databaseUrl: db.env.DATABASE_URL } : { dataDir: db.env.DATA_DIR });
      try {
        return await orm.em.getConnection().execute<T[]>(sql, params);
      } finally {
        await closeOrm(orm);
      }
    },
    async close() {
      await emu.close();
      await db.dispose();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
