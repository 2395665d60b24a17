/** Rows of BenchParts as one table, and running a part file on its own. */
import { pathToFileURL } from 'node:url';
import { DEFAULT_DATABASE_URL } from './db.ts';
import type { BenchContext, BenchPart, BenchRow } from './part.ts';
import { fmt } from './stats.ts';
import { markdownTable } from './table.ts';

export interface PartOutcome {
  part: string;
  status: 'ok' | 'failed' | 'not available';
  rows: BenchRow[];
  /** One line: why it failed or is not available. */
  note?: string;
  seconds: number;
}

const withUnit = (value: number, unit: string) => (unit === '' ? fmt(value) : unit === '%' ? `${fmt(value)}%` : `${fmt(value)} ${unit}`);

export function resultsTable(outcomes: readonly PartOutcome[]): string {
  const rows: string[][] = [];
  for (const o of outcomes) {
    if (o.status !== 'ok') {
      rows.push([o.part, o.status, '–', '–', '–', o.note ? o.note.slice(0, 160) : '–']);
      continue;
    }
    for (const r of o.rows) {
      rows.push([
        o.part,
        r.metric,
        withUnit(r.value, r.unit),
        r.baseline ? `${r.baseline.name}: ${withUnit(r.baseline.value, r.baseline.unit)}` : '–',
        r.target ?? '–',
        r.met === undefined ? '–' : r.met ? 'yes' : '**no**',
      ]);
    }
  }
  return markdownTable(['part', 'metric', 'value', 'baseline', 'target', 'met'], rows, ['l', 'l', 'r', 'r', 'l', 'l']);
}

/** Options that take no value (so `--verbose read` does not read "read" as its value). */
const FLAGS = new Set(['verbose', 'skip-baseline', 'in-process']);

/** `--key value` / `--key=value` options (a flag without a value is "true") and the other words, in order. */
export function parseBenchArgs(args: readonly string[]): { names: string[]; options: Record<string, string> } {
  const names: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      names.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) options[a.slice(2, eq)] = a.slice(eq + 1);
    else if (!FLAGS.has(a.slice(2)) && i + 1 < args.length && !args[i + 1]!.startsWith('--')) options[a.slice(2)] = args[++i]!;
    else options[a.slice(2)] = 'true';
  }
  return { names, options };
}

/** The context from the environment and `--key value` options. */
export function contextFromOptions(options: Record<string, string>, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): BenchContext {
  return { databaseUrl: options['database-url'] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL, options, log };
}

/** When `moduleUrl` is the process's main file: runs the part with the command line's options, prints its table, exits. */
export function runIfMain(moduleUrl: string, part: BenchPart): void {
  if (!process.argv[1] || pathToFileURL(process.argv[1]).href !== moduleUrl) return;
  const ctx = contextFromOptions(parseBenchArgs(process.argv.slice(2)).options);
  const t0 = performance.now();
  part.run(ctx).then(
    (rows) => {
      process.stdout.write(`${resultsTable([{ part: part.name, status: 'ok', rows, seconds: (performance.now() - t0) / 1000 }])}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

/** Integer option with a default. */
export function numberOption(ctx: BenchContext, name: string, fallback: number): number {
  const raw = ctx.options[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Several number options at once, each with its default: `numberOptions(ctx, { seconds: 10 }).seconds`. */
export function numberOptions<K extends string>(ctx: BenchContext, defaults: Record<K, number>): Record<K, number> {
  return Object.fromEntries(Object.entries<number>(defaults).map(([name, fallback]) => [name, numberOption(ctx, name, fallback)])) as Record<K, number>;
}
