/** What a results section says about the machine it ran on. */
import { cpus, loadavg, totalmem } from 'node:os';
import { serverVersion } from './db.ts';

export interface MachineInfo {
  cores: number;
  model: string;
  memoryGiB: number;
  loadAverage: string;
  node: string;
  postgres: string;
}

export async function machineInfo(databaseUrl: string): Promise<MachineInfo> {
  let postgres: string;
  try {
    postgres = await serverVersion(databaseUrl);
  } catch (err) {
    postgres = `unreachable (${(err as Error).message})`;
  }
  return {
    cores: cpus().length,
    model: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg().map((n) => n.toFixed(2)).join(' '),
    node: process.version,
    postgres,
  };
}
