/**
 * The revenue history's recomputation deferred within a transaction (src/db/entities/revenue.ts): with
 * `billing.revenue_deferred` on, as the webhook worker's batches set it, subscription writes only note
 * their customers; reading a customer's movement kind recomputes that customer first, and
 * `revenue_flush(null)` the rest, with the same movements an immediate recomputation writes.
 * (test/revenue/scenario.test.ts checks a whole history processed in batches against one processed in order.)
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;

beforeAll(async () => {
  db = await createTestOrm();
});

afterAll(async () => {
  await db?.dispose();
});

const CREATED = '2026-03-02T10:00:00Z';

async function subscribe(em: SqlEntityManager, id: string, customer: string, amount: number): Promise<void> {
  await em.execute(
    `insert into subscriptions (id, customer_id, status, currency, mrr_numerator, mrr_denominator, created_at, raw)
     values (?, ?, 'active', 'usd', ?, 1, ?, '{}'::jsonb)`,
    [id, customer, amount, CREATED],
  );
}

const movements = async (em: SqlEntityManager) =>
  (await em.execute<{ customer_id: string; kind: string; after: string }[]>(`select customer_id, kind, round(after_num / denominator)::text as after from mrr_movements order by customer_id, at`)).map(
    (r) => `${r.customer_id} ${r.kind} ${r.after}`,
  );
const pending = async (em: SqlEntityManager) => (await em.execute<{ p: string | null }[]>(`select current_setting('billing.revenue_pending', true) as p`))[0]!.p ?? '';

describe('the revenue recomputation deferred in a transaction', () => {
  it('notes the customers, recomputes one before its movement kind is read and the rest when flushed, as an immediate recomputation would', async () => {
    const { orm } = db;
    let deferred: string[] = [];
    await orm.em.fork().transactional(async (tx) => {
      const em = tx as SqlEntityManager;
      await em.execute(`select set_config('billing.revenue_deferred', 'on', true)`);
      await subscribe(em, 'sub_a', 'cus_a', 500);
      await subscribe(em, 'sub_b', 'cus_b', 700);
      await em.execute(`update subscriptions set mrr_numerator = 900 where id = 'sub_b'`);
      expect(await movements(em)).toEqual([]);
      expect(await pending(em)).toBe('cus_a,cus_b,');

      const kind = await em.execute<{ kind: string | null }[]>(`select revenue_movement_kind('cus_a', 'usd', '2026-04-01T00:00:00Z') as kind`);
      expect(kind[0]!.kind).toBe('new');
      expect(await movements(em)).toHaveLength(1);
      expect(await pending(em)).toBe('cus_b,');

      await em.execute(`select revenue_flush(null)`);
      expect(await pending(em)).toBe('');
      deferred = await movements(em);
    });
    expect(deferred).toEqual(['cus_a new 500', 'cus_b new 900']);

    // The same writes without deferral recompute at once, to the same movements.
    // One command per call: PGlite prepares each, and a prepared statement holds one command.
    await orm.em.fork().execute(`delete from subscriptions`);
    await orm.em.fork().execute(`delete from mrr_movements`);
    await orm.em.fork().transactional(async (tx) => {
      const em = tx as SqlEntityManager;
      await subscribe(em, 'sub_a', 'cus_a', 500);
      expect(await movements(em)).toHaveLength(1);
      await subscribe(em, 'sub_b', 'cus_b', 700);
      await em.execute(`update subscriptions set mrr_numerator = 900 where id = 'sub_b'`);
      expect(await pending(em)).toBe('');
      expect(await movements(em)).toEqual(deferred);
    });
  });
});
