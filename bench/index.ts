/**
 * `npm run bench [-- <part> …] [--key value …]`: runs the benchmark parts (all, or the ones named)
 * in a fixed order, prints one table and appends it to bench/RESULTS.md with the date, the machine
 * and the command. A part is `bench/<name>/run.ts` exporting `part: BenchPart` (bench/lib/part.ts);
 * one that is missing is reported as not available, one that throws as failed (exit code 1 at the
 * end), and the run goes on. Options reach every part (`ctx.options`); BENCH_DATABASE_URL or
 * `--database-url` names the PostgreSQL server the parts create their databases on.
 */
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo } from './lib/machine.ts';
import type { BenchPart } from './lib/part.ts';
import { contextFromOptions, parseBenchArgs, resultsTable, type PartOutcome } from './lib/report.ts';

export const PART_ORDER = ['read', 'statements', 'webhooks', 'fanout', 'usage', 'keys', 'mrr', 'revenue', 'memory', 'wsflood', 'web', 'emulator', 'peers'] as const;

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const EXPORTS_PART = /export\s+(const|let|var)\s+part\b|export\s*\{[^}]*\bpart\b[^}]*\}/;

const stamp = () => new Date().toISOString().slice(11, 19);

/** The part of `bench/<name>/run.ts`, or why there is none. Files without a `part` export are not imported (older benches run on import). */
async function loadPart(name: string): Promise<BenchPart | string> {
  const file = fileURLToPath(new URL(`./${name}/run.ts`, import.meta.url));
  if (!existsSync(file)) return `bench/${name}/run.ts is missing`;
  if (!EXPORTS_PART.test(readFileSync(file, 'utf8'))) return `bench/${name}/run.ts does not export \`part\``;
  const mod = (await import(new URL(`./${name}/run.ts`, import.meta.url).href)) as { part?: BenchPart };
  if (!mod.part || typeof mod.part.run !== 'function') return `bench/${name}/run.ts does not export \`part\``;
  return mod.part;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const { names, options } = parseBenchArgs(args);
  const unknown = names.filter((n) => !(PART_ORDER as readonly string[]).includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`unknown part${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')} (parts: ${PART_ORDER.join(', ')})\n`);
    return 2;
  }
  const selected = PART_ORDER.filter((p) => names.length === 0 || names.includes(p));
  const started = new Date();
  const outcomes: PartOutcome[] = [];
  const logs: string[] = [];
  const log = (line: string) => {
    process.stderr.write(`[${stamp()}] ${line}\n`);
    logs.push(line);
  };
  const ctx = contextFromOptions(options, log);
  const machine = await machineInfo(ctx.databaseUrl);
  log(`bench: ${selected.join(', ')} on ${machine.cores} cores, load average ${machine.loadAverage}, Node ${machine.node}`);

  for (const name of selected) {
    const t0 = performance.now();
    const seconds = () => (performance.now() - t0) / 1000;
    let part: BenchPart | string;
    try {
      part = await loadPart(name);
    } catch (err) {
      part = `cannot load: ${firstLine(err)}`;
    }
    if (typeof part === 'string') {
      log(`${name}: not available (${part})`);
      outcomes.push({ part: name, status: 'not available', rows: [], note: part, seconds: 0 });
      continue;
    }
    log(`${name}: ${part.description}`);
    try {
      // A part must finish in 5 minutes (issue 8); one that hangs must not hold up the others.
      const limit = Number(options['part-timeout'] ?? 300);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not finish within ${limit} s`)), limit * 1000);
      });
      const rows = await Promise.race([part.run(ctx), timeout]).finally(() => clearTimeout(timer));
      outcomes.push({ part: name, status: 'ok', rows, seconds: seconds() });
      log(`${name}: done in ${seconds().toFixed(0)} s`);
    } catch (err) {
      log(`${name}: FAILED after ${seconds().toFixed(0)} s: ${firstLine(err)}`);
      if (options.verbose) process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      outcomes.push({ part: name, status: 'failed', rows: [], note: firstLine(err), seconds: seconds() });
    }
  }

  const table = resultsTable(outcomes);
  process.stdout.write(`\n${table}\n`);
  const command = `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`;
  const section = [
    '',
    `## Suite run ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Command: \`${command}\``,
    `- Machine: ${machine.cores} cores (${machine.model}), ${machine.memoryGiB} GiB memory, load average at start ${machine.loadAverage}`,
    `- Node ${machine.node}; ${machine.postgres}`,
    `- Parts: ${outcomes.map((o) => `${o.part} ${o.status === 'ok' ? `${o.seconds.toFixed(0)} s` : o.status}`).join(', ')}`,
    '',
    table,
    '',
    '<details><summary>log</summary>',
    '',
    ...logs.map((l) => `    ${l}`),
    '',
    '</details>',
    '',
  ].join('\n');
  appendFileSync(RESULTS, section);
  process.stderr.write(`appended to bench/RESULTS.md\n`);
  return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
