import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { eventually } from './eventually.js';

export interface GatewayProcess {
  url: string;
  port: number;
  pid: number;
  emulatorUrl: string;
  dataDir: string;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Waits for the process to end after SIGTERM (or SIGKILL with `kill: true`). */
  stop(opts?: { kill?: boolean }): Promise<number | null>;
}

/** The gateway processes of the running test file that are alive, or ended during the current test. */
const logs = new Set<{ name: string; output(): string; alive: boolean }>();

/** Forgets the processes that ended: called before each test, so a failed test sees those it ran. */
export function forgetEndedGateways(): void {
  for (const l of logs) if (!l.alive) logs.delete(l);
}

/** What each gateway process alive in the current test printed, for a failed test's report. */
export function gatewayLogs(): { name: string; output: string }[] {
  return [...logs].map((l) => ({ name: l.name, output: l.output() }));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts the compiled gateway (`dist/src/main.js`, built by the global setup) as a separate process on
 * free ports and waits until /readyz answers 200. `args` runs another entry instead (e.g. the bin's `serve`).
 */
export async function startGatewayProcess(
  env: Record<string, string | undefined> = {},
  opts: { dataDir?: string; args?: string[] } = {},
): Promise<GatewayProcess> {
  const port = await freePort();
  const emulatorPort = await freePort();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gw-e2e-'));
  const child: ChildProcess = spawn(process.execPath, opts.args ?? [join(PROJECT_ROOT, 'dist/src/main.js')], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      STRIPE_EMULATOR_PORT: String(emulatorPort),
      DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const log = { name: `gateway on port ${port}`, output: () => out, alive: true };
  logs.add(log);
  void exited.then(() => (log.alive = false));
  // A process that ended stops the wait at once (it would never answer).
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const ready = await eventually(
    '/readyz to answer 200',
    async () => (gone() ? 'exited' : (await fetch(`${url}/readyz`)).status),
    (status) => status === 200 || status === 'exited',
    { timeout: 40_000, interval: 150 },
  ).catch((err: Error) => err.message);
  if (ready !== 200) {
    child.kill('SIGKILL');
    throw new Error(`gateway did not become ready (${ready === 'exited' ? `exited with ${child.exitCode ?? child.signalCode}` : ready}):\n${out}`);
  }
  return {
    url,
    port,
    pid: child.pid!,
    emulatorUrl: `http://127.0.0.1:${emulatorPort}`,
    dataDir,
    output: () => out,
    async stop({ kill = false } = {}) {
      if (child.exitCode === null) child.kill(kill ? 'SIGKILL' : 'SIGTERM');
      const code = await exited;
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
