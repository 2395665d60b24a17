import type { EntityManager } from '@mikro-orm/core';
import type { Em } from './orm.js';

/** Runs SQL through `em`, inside its transaction when it has one (raw SQL does not join it by itself). */
export async function queryRows<T>(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  const connection = (em as unknown as Em).getConnection();
  return (await connection.execute(sql, params, 'all', em.getTransactionContext())) as unknown as T[];
}
