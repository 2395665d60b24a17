/**
 * The fragment bomb: `{ ...F0 } fragment F0 on Query { ...F1 ...F1 } … fragment F<n> on Query { plans { id } }`
 * (about 1 KB at 25 levels) sent to the compiled gateway (`dist/src/main.js`, sandbox on a fresh DATA_DIR),
 * while `/healthz` is polled: the time to the answer, the answer, and the longest `/healthz` wait meanwhile
 * (how long the event loop was held).
 *
 *   npm run build && node --experimental-transform-types --no-warnings bench/limits/fragment-bomb.ts [--levels 25]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../lib/gateway-process.ts';

const levels = Number(process.argv[process.argv.indexOf('--levels') + 1]) || 25;

function fragmentBomb(n: number): string {
  const parts = ['{ ...F0 }'];
  for (let i = 0; i < n; i++) parts.push(`fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  parts.push(`fragment F${n} on Query { plans { id } }`);
  return parts.join(' ');
}

const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'bench-bomb-'));
const child = spawn(process.execPath, ['dist/src/main.js'], {
  env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', LOG_LEVEL: 'warn', PORT: String(port), STRIPE_EMULATOR_PORT: String(await freePort()), DATA_DIR: dataDir },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    if (i > 400) throw new Error('gateway did not become ready');
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 150));
  }
  const query = fragmentBomb(levels);
  let done = false;
  let longestHealthz = 0;
  const poll = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${url}/healthz`).catch((e: Error) => console.log(`healthz failed: ${e.message}`));
      longestHealthz = Math.max(longestHealthz, performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const answer = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) }).then(
    async (res) => `HTTP ${res.status}: ${(((await res.json()) as { errors?: { message: string }[] }).errors?.[0]?.message ?? 'data').slice(0, 160)}`,
    (e: Error) => `failed: ${e.message} (${String((e.cause as Error | undefined)?.message)})`,
  );
  const ms = performance.now() - t0;
  done = true;
  await poll;
  console.log(`fragment bomb: ${levels} levels, ${query.length} bytes`);
  console.log(`answer after ${ms.toFixed(0)} ms: ${answer}`);
  console.log(`longest /healthz wait meanwhile: ${longestHealthz.toFixed(0)} ms`);
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
