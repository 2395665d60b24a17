/**
 * Group commit for single `reportUsage` calls. Each call used to be its own insert and its own commit;
 * under concurrency the database's commit rate, not the gateway, capped the calls per second. Calls
 * that arrive while earlier inserts are in flight now wait and go together as one multi-row insert
 * (`insertUsageRows`: one statement, one commit), at most 500 rows per statement and
 * 4 statements at once. A call alone (no queue) goes at once, so a quiet gateway adds no
 * latency. Semantics are unchanged: each row is `on conflict do nothing`, a taken key answers with
 * its holder, and a key twice in one statement is inserted once (the first caller gets
 * `inserted: true`, the other the same row as a duplicate). The queue itself: `src/db/group-commit.ts`.
 */
import type { EntityManager } from '@mikro-orm/core';
import { GroupCommitQueue, ItemFailed } from '../../db/group-commit.js';
import { insertUsageRows, type InsertedUsage, type NewUsageRow } from './ledger.js';

/** One statement for a batch (a pair twice in it: `insertUsageRows` answers its first caller with `inserted`). */
async function flushUsageRows(em: EntityManager, batch: NewUsageRow[]): Promise<(InsertedUsage | ItemFailed)[]> {
  // A fork of its own: the statement runs outside any request's identity map or transaction.
  const answers = await insertUsageRows(em.fork(), batch);
  return answers.map((a) => a ?? new ItemFailed(new Error('usage insert: no ledger row')));
}

const queues = new WeakMap<object, GroupCommitQueue<NewUsageRow, InsertedUsage>>();

/** Inserts one ledger row through the database's group-commit queue (one queue per database). */
export function queueUsageInsert(em: EntityManager, row: NewUsageRow): Promise<InsertedUsage> {
  const owner = em.getDriver();
  let queue = queues.get(owner);
  if (!queue) {
    const own = em.fork();
    queues.set(owner, (queue = new GroupCommitQueue((batch) => flushUsageRows(own, batch), { maxBatch: 500, maxInFlight: 4 })));
  }
  return queue.submit(row);
}
