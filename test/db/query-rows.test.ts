/**
 * Raw SQL through `queryRows` fails with MikroORM's exceptions, as the ORM's own queries do: the
 * write-through retries a deadlock with the webhook worker by recognising DeadlockException, and its
 * MRR point is written by raw SQL.
 */
import { DeadlockException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queryRows } from '../../src/db/sql.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
beforeAll(async () => {
  db = await createTestOrm();
  await queryRows(db.orm.em.fork(), `insert into sync_state (key, value) values ('row-a', ''), ('row-b', '')`);
});
afterAll(() => db?.dispose());

it('a unique violation is a UniqueConstraintViolationException', async () => {
  await expect(queryRows(db.orm.em.fork(), `insert into sync_state (key, value) values ('row-a', 'again')`)).rejects.toBeInstanceOf(UniqueConstraintViolationException);
});

it.skipIf(!process.env.TEST_DATABASE_URL)('a deadlock between two transactions is a DeadlockException', async () => {
  // Each takes one row, then (once both hold theirs) wants the other's: PostgreSQL aborts one of them.
  let held = 0;
  let bothHeld!: () => void;
  const both = new Promise<void>((resolve) => (bothHeld = resolve));
  const lockInTurn = (first: string, second: string) =>
    db.orm.em.fork().transactional(async (tx) => {
      await queryRows(tx, `select 1 from sync_state where key = ? for update`, [first]);
      if (++held === 2) bothHeld();
      await both;
      await queryRows(tx, `select 1 from sync_state where key = ? for update`, [second]);
    });
  const outcomes = await Promise.allSettled([lockInTurn('row-a', 'row-b'), lockInTurn('row-b', 'row-a')]);
  const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
  expect(failures).toHaveLength(1);
  expect(failures[0]).toBeInstanceOf(DeadlockException);
});
