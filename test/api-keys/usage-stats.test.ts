/**
 * Per-key verification stats on a real database: more keys than one statement takes are all written,
 * each with its counts added to what the row held and the latest lastUsedAt.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KeyUsageStats } from '../../src/billing/api-keys/usage-stats.js';
import { logger } from '../../src/log.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
const sql = <T = unknown>(text: string, params: unknown[] = []) => db.orm.em.getConnection().execute<T[]>(text, params);

beforeAll(async () => {
  db = await createTestOrm();
}, 60_000);

afterAll(async () => {
  await db?.dispose();
});

it('writes every key of a flush, in several statements when there are many, adding to the stored counts', async () => {
  const keys = Array.from({ length: 450 }, (_, i) => `key_stats_${i}`);
  await sql(`insert into customers (id, created_at, raw) values ('cus_stats', now(), '{}') on conflict do nothing`);
  await sql(
    `insert into api_keys (id, customer_id, name, prefix, hash, verifications) select k, 'cus_stats', 'k', 'bg_test_x', 'hash-' || k, '{"VALID": 5}'::jsonb from unnest(?::text[]) as k`,
    [`{${keys.join(',')}}`],
  );
  const stats = new KeyUsageStats(db.orm.em.fork(), logger);
  const at = Date.parse('2030-01-02T03:04:05.000Z');
  keys.forEach((id, i) => {
    stats.record(id, 'VALID', at - 1000);
    stats.record(id, 'VALID', at);
    if (i % 3 === 0) stats.record(id, 'RATE_LIMITED', at - 500, 2);
  });
  await stats.flush();
  const rows = await sql<{ id: string; last_used_at: Date; verifications: Record<string, number> }>(
    `select id, last_used_at, verifications from api_keys where customer_id = 'cus_stats' order by id`,
  );
  expect(rows).toHaveLength(450);
  for (const r of rows) {
    const i = Number(r.id.slice('key_stats_'.length));
    expect(new Date(r.last_used_at).toISOString()).toBe('2030-01-02T03:04:05.000Z');
    expect(r.verifications).toEqual(i % 3 === 0 ? { VALID: 7, RATE_LIMITED: 2 } : { VALID: 7 });
  }

  // The next flush writes only what was counted since: the keys verified again, once more each.
  stats.record('key_stats_1', 'VALID', at + 1000);
  stats.record('key_stats_3', 'REVOKED', at - 5000);
  await stats.flush();
  // Nothing new: nothing written (the idle keys are dropped from memory, their rows untouched).
  await stats.flush();
  const again = await sql<{ id: string; last_used_at: Date; verifications: Record<string, number> }>(
    `select id, last_used_at, verifications from api_keys where id in ('key_stats_1', 'key_stats_2', 'key_stats_3') order by id`,
  );
  expect(again.map((r) => [r.id, new Date(r.last_used_at).toISOString(), r.verifications])).toEqual([
    ['key_stats_1', '2030-01-02T03:04:06.000Z', { VALID: 8 }],
    ['key_stats_2', '2030-01-02T03:04:05.000Z', { VALID: 7 }],
    ['key_stats_3', '2030-01-02T03:04:05.000Z', { VALID: 7, RATE_LIMITED: 2, REVOKED: 1 }],
  ]);
});
