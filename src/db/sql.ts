import type { EntityManager } from '@mikro-orm/core';
import type { Em } from './orm.js';

/**
 * Runs SQL through `em`, inside its transaction when it has one (raw SQL does not join it by itself).
 * A failure comes back as MikroORM's exception for it (DeadlockException, UniqueConstraintViolationException…),
 * as from the ORM's own queries: the raw connection throws the driver's error, which callers that retry
 * a deadlock would not recognise.
 */
export async function queryRows<T>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  const connection = (em as unknown as Em).getConnection();
  try {
    return (await connection.execute(sql, params, 'all', em.getTransactionContext())) as unknown as T[];
  } catch (err) {
    throw em.getDriver().convertException(err as Error);
  }
}

/**
 * Refills `table` with `insertSql`, locked against the triggers' deltas while it runs, so a write either
 * lands before (and is counted by the rebuild) or after (as a delta on top of it). Joins `em`'s
 * transaction, or opens one.
 */
export async function rebuildLocked(em: EntityManager, table: string, insertSql: string): Promise<void> {
  const run = async (tx: EntityManager) => {
    await queryRows(tx, `lock table ${table} in exclusive mode`);
    await queryRows(tx, `delete from ${table}`);
    await queryRows(tx, insertSql);
  };
  if (em.isInTransaction()) await run(em);
  else await em.transactional(run);
}
