import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config.js';

/**
 * PGlite is a single-process database: two processes (or two instances in one process) on one cluster dir
 * corrupt it. A lock file next to the cluster turns that mistake into a clear error. A lock left by a dead
 * process (or by this pid in an earlier life, e.g. pid 1 in a restarted container) is taken over.
 */
const heldHere = new Set<string>();

export function acquirePgliteLock(lockFile: string): () => void {
  if (heldHere.has(lockFile)) {
    throw new Error(`The embedded database lock ${lockFile} is already held by this process (open the ORM once)`);
  }
  try {
    writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      throw new ConfigError(
        'DATA_DIR',
        `DATA_DIR: the embedded database under ${dirname(lockFile)} is in use by process ${owner} (lock ${lockFile}); PGlite serves one process: ` +
          'stop that gateway, choose another DATA_DIR, or set DATABASE_URL to share a PostgreSQL database (remove the lock file if that process is not a gateway)',
      );
    }
    writeFileSync(lockFile, String(process.pid));
  }
  heldHere.add(lockFile);
  return () => {
    if (!heldHere.delete(lockFile)) return;
    rmSync(lockFile, { force: true });
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
