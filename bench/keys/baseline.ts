/**
 * The `keys` baseline: what a team writes by hand in front of its API. An express route that hashes the
 * key, does one indexed SELECT by hash on the gateway's own `api_keys` table (a `pg` Pool of the
 * gateway's pool size) and one Redis INCR (with the window's EXPIRE on the first call), then answers.
 * Run as a child process (like the gateway), it prints its port on stdout.
 *
 *   node --experimental-transform-types --no-warnings bench/keys/baseline.ts <databaseUrl> <redisUrl>
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import pg from 'pg';

const [databaseUrl, redisUrl] = process.argv.slice(2) as [string, string];
const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
pool.on('error', () => undefined);
const redis = new Redis(redisUrl);
const app = express();
app.use(express.json());
app.post('/verify', async (req, res, next) => {
  try {
    const key = String((req.body as { key?: unknown }).key ?? '');
    const hash = createHash('sha256').update(key).digest('hex');
    const { rows } = await pool.query<{ id: string; customer_id: string; revoked_at: Date | null; expires_at: Date | null }>(
      'select id, customer_id, revoked_at, expires_at from api_keys where hash = $1',
      [hash],
    );
    const k = rows[0];
    if (!k) return void res.json({ valid: false, code: 'NOT_FOUND' });
    if (k.revoked_at) return void res.json({ valid: false, code: 'REVOKED', keyId: k.id });
    const count = await redis.incr(`bench-baseline:${k.id}`);
    if (count === 1) void redis.expire(`bench-baseline:${k.id}`, 60);
    res.json({ valid: count <= 60, code: count <= 60 ? 'VALID' : 'RATE_LIMITED', keyId: k.id, customerId: k.customer_id });
  } catch (err) {
    next(err);
  }
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  server.close();
  void pool.end();
  redis.disconnect();
  process.exit(0);
});
