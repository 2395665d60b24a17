/**
 * CLI data commands beside a running PGlite gateway. PGlite serves one process, so while a sandbox gateway
 * holds the embedded database the CLI cannot open it. Instead the command runs inside that gateway: the
 * gateway listens on a Unix socket in DATA_DIR (mode 0600: whoever may use it may read the database files
 * anyway), the CLI sends its arguments there, and the gateway runs the same command code on its own ORM
 * and emulator, handing back the exit code, stdout and stderr. Same services, same output, one process.
 *
 * Written by hand: a sharing of PGlite between processes (pglite-socket) would interleave the CLI's
 * transactions with the gateway's own on PGlite's single session.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import type { Orm } from '../db/orm.js';
import { isAlive } from '../db/pglite-lock.js';

/** Commands that need the database: these run inside a gateway that holds the embedded one. */
export const IN_GATEWAY_COMMANDS = new Set(['customers', 'subscriptions', 'keys', 'metrics', 'seed', 'sync', 'migrate']);
const SOCKET_FILE = 'gateway.sock';
/** Largest request body (arguments only). */
const MAX_BODY = 64 * 1024;

interface InGateway {
  orm: Orm;
  /** The gateway's emulator, so commands use it rather than start another on the same state. */
  apiBase?: string;
  out: string[];
  err: string[];
}
const current = new AsyncLocalStorage<InGateway>();

/** True inside a command the gateway runs for the CLI. */
export function runningInGateway(): boolean {
  return current.getStore() !== undefined;
}

/** Where a command's stdout goes: the caller's buffer inside the gateway, else the process's stdout. */
export function writeOut(text: string): void {
  const store = current.getStore();
  if (store) store.out.push(text);
  else process.stdout.write(text);
}

export function writeErr(text: string): void {
  const store = current.getStore();
  if (store) store.err.push(text);
  else process.stderr.write(text);
}

/** Inside the gateway: its ORM, which the command must not close (closing it is a no-op). */
export function gatewayOrm(): Orm | undefined {
  const orm = current.getStore()?.orm;
  if (!orm) return undefined;
  return new Proxy(orm, {
    get(target, prop) {
      if (prop === 'close') return async () => {};
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Inside the gateway: its emulator's base URL. */
export function gatewayApiBase(): string | undefined {
  return current.getStore()?.apiBase;
}

export function cliSocketPath(dataDir: string): string {
  return join(dataDir, SOCKET_FILE);
}

interface CliReply {
  code: number;
  stdout: string;
  stderr: string;
}

/** The gateway side: serves `POST /cli {argv}` on DATA_DIR/gateway.sock. */
/** Runs one command line and resolves to its exit code (the CLI's `runCli`, passed in by the gateway's starter). */
export type CliRunner = (argv: string[]) => Promise<number>;

export async function serveCliSocket(opts: { orm: Orm; dataDir: string; apiBase?: string; runCli: CliRunner }): Promise<{ close(): Promise<void> }> {
  const path = cliSocketPath(opts.dataDir);
  // A socket file left by a gateway that died; the PGlite lock says this process owns DATA_DIR now.
  rmSync(path, { force: true });
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      void (async () => {
        const reply = await runHere(body, opts);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(path, { force: true });
      }),
  };
}

async function runHere(body: string, opts: { orm: Orm; apiBase?: string; runCli: CliRunner }): Promise<CliReply> {
  let argv: unknown;
  try {
    argv = (JSON.parse(body) as { argv?: unknown }).argv;
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string') || !IN_GATEWAY_COMMANDS.has(argv[0] as string)) {
    return { code: 2, stdout: '', stderr: `billing-gateway: the gateway runs only ${[...IN_GATEWAY_COMMANDS].join(', ')}\n` };
  }
  const store: InGateway = { orm: opts.orm, ...(opts.apiBase ? { apiBase: opts.apiBase } : {}), out: [], err: [] };
  const code = await current.run(store, () => opts.runCli(argv as string[]));
  return { code, stdout: store.out.join(''), stderr: store.err.join('') };
}

/**
 * The CLI side: when `argv` is a data command and a live gateway holds the embedded database under
 * `dataDir` and listens on its socket, the command runs there; else undefined (run it here).
 */
export async function forwardToGateway(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  if (!IN_GATEWAY_COMMANDS.has(argv[0] ?? '') || env.DATABASE_URL?.trim()) return undefined;
  const [{ loadConfig }, { pgliteClusterPath }] = await Promise.all([import('../config.js'), import('../db/config.js')]);
  let dataDir: string;
  try {
    dataDir = loadConfig(env).dataDir;
  } catch {
    return undefined; // the command itself reports the bad setting
  }
  const lock = `${pgliteClusterPath(dataDir)}.lock`;
  const socket = cliSocketPath(dataDir);
  if (!existsSync(lock) || !existsSync(socket)) return undefined;
  const owner = Number.parseInt(readFileSync(lock, 'utf8'), 10);
  if (!Number.isInteger(owner) || owner === process.pid || !isAlive(owner)) return undefined;
  const reply = await new Promise<CliReply | undefined>((resolve) => {
    const req = request({ socketPath: socket, path: '/cli', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as CliReply);
        } catch {
          resolve(undefined);
        }
      });
    });
    // Not answering (a gateway that is starting or stopping): the command runs here and says the database is in use.
    req.on('error', () => resolve(undefined));
    req.end(JSON.stringify({ argv }));
  });
  if (!reply) return undefined;
  process.stdout.write(reply.stdout);
  process.stderr.write(reply.stderr);
  return reply.code;
}
