import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

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
