/**
 * Start-up time: `npm start` on an empty DATA_DIR (sandbox: PGlite created and migrated, emulator
 * started, catalog synced, webhook endpoint and test clock created) until `plans` answers over HTTP,
 * then a restart on the same data. Includes the `tsc` build that `npm start` runs.
 *
 *   node --experimental-transform-types --no-warnings bench/startup/run.ts [--runs 3]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { median } from '../lib/stats.ts';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const port = 4790;

async function plansAnswered(): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ plans { id } }' }),
    });
    return res.ok && (await res.text()).includes('enterprise');
  } catch {
    return false;
  }
}

/** Seconds from `npm start` to the first `plans` answer. */
async function timeStart(dataDir: string): Promise<number> {
  if (await plansAnswered()) throw new Error(`port ${port} is already serving a gateway`);
  const t0 = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    env: { ...process.env, PORT: String(port), STRIPE_EMULATOR_PORT: String(port + 1), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: 'ignore',
    detached: true,
  });
  try {
    while (!(await plansAnswered())) {
      if (performance.now() - t0 > 60_000) throw new Error('the gateway did not answer within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    return (performance.now() - t0) / 1000;
  } finally {
    // npm, its shell and the gateway share the child's process group; wait until the port is free again.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    while (await plansAnswered()) await new Promise((r) => setTimeout(r, 50));
  }
}

const cold: number[] = [];
const warm: number[] = [];
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    cold.push(await timeStart(dataDir));
    warm.push(await timeStart(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(1)).join(' / ')} s (median ${median(xs).toFixed(1)} s)`;
console.log(`machine: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`npm start → plans, empty DATA_DIR: ${fmt(cold)}  (target ≤ 20 s)`);
console.log(`npm start → plans, restart:        ${fmt(warm)}`);
