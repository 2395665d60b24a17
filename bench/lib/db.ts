/** Databases for bench parts: each part creates its own on BENCH_DATABASE_URL's server and drops it. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadDist } from './dist.ts';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export async function adminSql(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh database named `bench_<part>_<random>` on `serverUrl`, migrated unless `migrate: false`. */
export async function createBenchDatabase(serverUrl: string, part: string, opts: { migrate?: boolean } = {}): Promise<BenchDatabase> {
  const name = `bench_${part}_${randomBytes(4).toString('hex')}`;
  await adminSql(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // FORCE: a part that failed halfway may leave connections open.
  const drop = () => adminSql(serverUrl, `drop database if exists "${name}" with (force)`);
  if (opts.migrate !== false) {
    try {
      const { openOrm, closeOrm } = await loadDist<typeof import('../../src/db/orm.js')>('db/orm');
      await closeOrm(await openOrm({ databaseUrl: url.toString() }));
    } catch (err) {
      await drop();
      throw err;
    }
  }
  return { url: url.toString(), drop };
}

/** `select version()` of the server, e.g. "PostgreSQL 15.20 on x86_64…". */
export async function serverVersion(serverUrl: string): Promise<string> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ version: string }>('select version()');
    return rows[0]!.version;
  } finally {
    await c.end();
  }
}
