/**
 * Group commit for single `reportUsage` calls. Each call used to be its own insert and its own commit;
 * under concurrency the database's commit rate, not the gateway, capped the calls per second. Calls
 * that arrive while earlier inserts are in flight now wait and go together as one multi-row insert
 * (`insertUsageRows`: one statement, one commit), at most `MAX_ROWS` per statement and
 * `MAX_IN_FLIGHT` statements at once. A call alone (no queue) goes at once, so a quiet gateway adds no
 * latency. Semantics are unchanged: each row is `on conflict do nothing`, a taken key answers with
 * its holder, and a key twice in one statement is inserted once (the first caller gets
 * `inserted: true`, the other the same row as a duplicate).
 */
import type { EntityManager } from '@mikro-orm/core';
import { insertUsageRows, usagePairKey, type LedgerRow, type NewUsageRow } from './ledger.js';

const MAX_ROWS = 500;
const MAX_IN_FLIGHT = 4;

interface Waiter {
  row: NewUsageRow;
  resolve(result: { row: LedgerRow; inserted: boolean }): void;
  reject(err: unknown): void;
}

class UsageInsertQueue {
  private pending: Waiter[] = [];
  private inFlight = 0;

  constructor(private readonly em: EntityManager) {}

  insert(row: NewUsageRow): Promise<{ row: LedgerRow; inserted: boolean }> {
    return new Promise((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.pending.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      const batch = this.pending.splice(0, MAX_ROWS);
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: Waiter[]): Promise<void> {
    const byPair = new Map<string, Waiter[]>();
    for (const w of batch) {
      const k = usagePairKey(w.row.customerId, w.row.idempotencyKey);
      const list = byPair.get(k);
      if (list) list.push(w);
      else byPair.set(k, [w]);
    }
    try {
      // A fork of its own: the statement runs outside any request's identity map or transaction.
      const { rows, inserted } = await insertUsageRows(this.em.fork(), [...byPair.values()].map((ws) => ws[0]!.row));
      for (const [k, waiters] of byPair) {
        const row = rows.get(k);
        waiters.forEach((w, i) => (row ? w.resolve({ row, inserted: i === 0 && inserted.has(k) }) : w.reject(new Error('usage insert: no ledger row'))));
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}

const queues = new WeakMap<object, UsageInsertQueue>();

/** Inserts one ledger row through the database's group-commit queue (one queue per database). */
export function queueUsageInsert(em: EntityManager, row: NewUsageRow): Promise<{ row: LedgerRow; inserted: boolean }> {
  const owner = em.getDriver();
  let queue = queues.get(owner);
  if (!queue) queues.set(owner, (queue = new UsageInsertQueue(em.fork())));
  return queue.insert(row);
}
