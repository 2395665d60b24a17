/** CPU time of the processes a comparison runs on this machine (/proc, Linux), in ms. */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system) of a process so far, in ms; null when it is gone or not on this machine. */
export function processCpuMs(pid: number): number | null {
  try {
    // Fields after the parenthesised command: state is [0]; utime and stime are fields 14 and 15 of the line.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU time (ms) of the PostgreSQL backends serving `database`, per backend (`admin`'s own excluded). */
export async function pgBackendsCpu(admin: pg.Client, database: string): Promise<Map<number, number>> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    // Ended meanwhile, or PostgreSQL runs elsewhere (then its CPU is not measured: reported as 0).
    const ms = processCpuMs(pid);
    if (ms !== null) out.set(pid, ms);
  }
  return out;
}

/** CPU used between two readings of `pgBackendsCpu` (a backend started meanwhile counts from 0). */
export const cpuDelta = (before: Map<number, number>, after: Map<number, number>): number =>
  [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);
