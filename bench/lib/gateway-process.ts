/**
 * The compiled gateway (`node dist/src/main.js`) as a child process on a bench database, against a
 * Stripe emulator this process runs (so the emulator's memory and CPU are not the gateway's), with
 * production settings, rate limits and the per-token WebSocket limit off. RSS from /proc (Linux).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, loadDist } from './dist.ts';
import { BENCH_JWT_SECRET } from './gateway.ts';

export interface GatewayChild {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A Stripe emulator in this process, for a gateway child (`STRIPE_API_BASE`). */
export async function startBenchEmulator(): Promise<{ url: string; close(): Promise<void> }> {
  const { startEmulator } = await import('@billing-gateway/stripe-emulator');
  const emulator = await startEmulator({ port: 0 });
  return { url: `http://127.0.0.1:${emulator.port}`, close: () => emulator.close() };
}

export async function startGatewayChild(opts: {
  databaseUrl: string;
  stripeApiBase: string;
  nodeArgs?: string[];
  /** The script and its arguments (default `dist/src/main.js`), e.g. `['bin/billing-gateway.js', 'serve']`. */
  command?: string[];
  env?: Record<string, string>;
}): Promise<GatewayChild> {
  const port = await freePort();
  const command = opts.command ?? ['dist/src/main.js'];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), join(ROOT, command[0]!), ...command.slice(1)], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: opts.databaseUrl,
      STRIPE_API_BASE: opts.stripeApiBase,
      // Production settings against the bench's emulator, on purpose.
      STRIPE_SANDBOX: 'true',
      STRIPE_WEBHOOK_SECRET: 'whsec_bench_0123456789abcdef',
      AUTH_JWT_SECRET: BENCH_JWT_SECRET,
      RATE_LIMIT_PER_TOKEN: '0',
      RATE_LIMIT_PER_ADDRESS: '0',
      // The load parts connect their 1,000 subscribers with one token.
      WS_MAX_SOCKETS_PER_TOKEN: '0',
      LOG_LEVEL: 'error',
      ...opts.env,
    },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-10_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready after 60 s: ${stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** VmRSS and VmHWM (peak RSS so far) of a process, in MB (10^6 bytes, the unit the targets are written in). */
export async function rssOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  // /proc says "kB" but means KiB (1,024 bytes).
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: (kib('VmRSS') * 1024) / 1e6, peak: (kib('VmHWM') * 1024) / 1e6 };
}

/** CPU time (user + system) a process has used so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
export async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
