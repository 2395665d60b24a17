/**
 * Run something once the transaction behind `em` has committed (and never if it rolls back): side
 * effects outside the database, such as notifications, must not happen for work that is undone.
 * Outside a transaction it runs at once. A savepoint release is not the commit: it waits for the
 * top-level transaction.
 */
import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';

type Task = () => void;

const pending = new WeakMap<object, Task[]>();
const hooked = new WeakSet<object>();

function flush(em: object): void {
  const tasks = pending.get(em);
  if (!tasks) return;
  pending.delete(em);
  for (const task of tasks) {
    try {
      task();
    } catch {
      // The transaction is committed: a failing side effect must not look like a failed commit.
    }
  }
}

const subscriber: EventSubscriber = {
  afterTransactionCommit(args: TransactionEventArgs) {
    if (args.transaction?.savepointName) return;
    flush(args.em);
  },
  afterTransactionRollback(args: TransactionEventArgs) {
    if (args.transaction?.savepointName) return;
    pending.delete(args.em);
  },
};

export function afterCommit(em: EntityManager, task: Task): void {
  if (!em.isInTransaction()) {
    task();
    return;
  }
  const tasks = pending.get(em) ?? [];
  tasks.push(task);
  pending.set(em, tasks);
  const events = em.getEventManager();
  if (!hooked.has(events)) {
    events.registerSubscriber(subscriber);
    hooked.add(events);
  }
}
