import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

export interface GatewayProcess {
  url: string;
  port: number;
  emulatorUrl: string;
  dataDir: string;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Waits for the process to end after SIGTERM (or SIGKILL with `kill: true`). */
  stop(opts?: { kill?: boolean }): Promise<number | null>;
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
 * Starts the compiled gateway (`dist/src/main.js`, built by `npm test`'s pretest) as a separate
 * process on free ports and waits until /readyz answers 200.
 */
export async function startGatewayProcess(env: Record<string, string | undefined> = {}, opts: { dataDir?: string } = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const emulatorPort = await freePort();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'gw-e2e-'));
  const child: ChildProcess = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
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
  const deadline = Date.now() + 40_000;
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`gateway did not become ready:\n${out}`);
  }
  return {
    url,
    port,
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
