/** HTTP load with autocannon, run in a child process (bench/lib/load-child.ts). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
  /** JSON body; `__ID__` is replaced per request by `idPrefix` + a random integer below `ids`. */
  bodyTemplate: string;
  idPrefix: string;
  ids: number;
  /** Draw the ids from a PRNG seeded with this (so two servers can be sent the same ids); Math.random without. */
  seed?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
}

const CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));

/** Runs autocannon as specified; fails when any request errored or answered non-2xx. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', CHILD, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err.slice(-1000)}`);
  const result = JSON.parse(out) as LoadResult;
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${spec.url}: ${result.non2xx} non-2xx answers and ${result.errors} errors out of ${result.total}`);
  return result;
}
