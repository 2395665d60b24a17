/**
 * The shape every `npm run bench` part shares. A part is `bench/<name>/run.ts` exporting
 * `part: BenchPart`; run alone (`node --experimental-transform-types bench/<name>/run.ts`) it prints
 * its rows; the suite runner (`bench/index.ts`) runs the parts, prints one table and appends it to
 * bench/RESULTS.md with the machine.
 */
export interface BenchContext {
  /** PostgreSQL the part may create its own databases on (BENCH_DATABASE_URL, default the local one). */
  databaseUrl: string;
  /** Free-form `--key value` options from the command line. */
  options: Record<string, string>;
  log(line: string): void;
}

export interface BenchRow {
  /** What was measured, e.g. "reportUsage single calls". */
  metric: string;
  /** The number, in `unit`. */
  value: number;
  unit: string;
  /** The baseline measured in the same run, when the part has one. */
  baseline?: { name: string; value: number; unit: string };
  /** The target as the part states it, e.g. "≥ 5,000/s" or "p99 ≤ 50 ms". */
  target?: string;
  /** Whether the target was met; absent when the row has no target. */
  met?: boolean;
}

export interface BenchPart {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
