/**
 * Run something once the transaction behind `em` has committed (and never if it rolls back): side
 * effects outside the database, such as notifications, must not happen for work that is undone.
 * Outside a transaction it runs at once.
 *
 * Tasks are kept per transaction level (MikroORM's transaction context). A savepoint release is not
 * the commit: its tasks move to the enclosing level and wait for the top-level commit. A savepoint
 * rollback drops only the tasks queued inside it (the work they describe is undone); a top-level
 * rollback drops everything.
 *
 * A task that throws does not fail the commit (it is done); it is logged and counted
 * (`after_commit_task_failures_total`), and the tasks after it still run.
 */
import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import { Counter } from 'prom-client';
import { logger } from '../log.js';
import { metricsRegistry } from '../metrics.js';

export const afterCommitFailures = new Counter({
  name: 'after_commit_task_failures_total',
  help: 'Tasks run after a commit (live signal publishes, notifications) that threw; the committed work stands.',
  registers: [metricsRegistry],
});

type Task = () => void;
type Level = object;

const pending = new WeakMap<Level, Task[]>();
/** Savepoint → the level it was opened in, learnt from the transaction start events. */
const parentOf = new WeakMap<Level, Level>();
/** Between a savepoint's before- and afterTransactionStart: the fork opening it → the enclosing level. */
const opening = new WeakMap<object, Level>();
const hooked = new WeakSet<object>();

function isSavepoint(level: Level | undefined): boolean {
  return !!(level as { savepointName?: string } | undefined)?.savepointName;
}

function flush(level: Level): void {
  const tasks = pending.get(level);
  if (!tasks) return;
  pending.delete(level);
  for (const task of tasks) {
    try {
      task();
    } catch (err) {
      // The transaction is committed: a failing side effect must not look like a failed commit.
      afterCommitFailures.inc();
      logger.error({ module: 'after-commit', err: err instanceof Error ? err.message : String(err) }, 'a task after commit failed');
    }
  }
}

const subscriber: EventSubscriber = {
  beforeTransactionStart(args: TransactionEventArgs) {
    // A savepoint is announced with the enclosing transaction as `transaction`.
    if (args.transaction) opening.set(args.em, args.transaction);
  },
  afterTransactionStart(args: TransactionEventArgs) {
    const parent = opening.get(args.em);
    opening.delete(args.em);
    if (parent && args.transaction && isSavepoint(args.transaction)) parentOf.set(args.transaction, parent);
  },
  afterTransactionCommit(args: TransactionEventArgs) {
    const level = args.transaction;
    if (!level) return;
    if (!isSavepoint(level)) {
      flush(level);
      return;
    }
    const tasks = pending.get(level);
    const parent = parentOf.get(level);
    // Without a known parent (a savepoint opened before the first afterCommit call registered this
    // subscriber) the tasks stay where they are: never run early.
    if (!tasks || !parent) return;
    pending.delete(level);
    pending.set(parent, [...(pending.get(parent) ?? []), ...tasks]);
  },
  afterTransactionRollback(args: TransactionEventArgs) {
    if (args.transaction) pending.delete(args.transaction);
  },
};

export function afterCommit(em: EntityManager, task: Task): void {
  const level = em.isInTransaction() ? (em.getTransactionContext() as Level | undefined) : undefined;
  if (!level) {
    task();
    return;
  }
  const tasks = pending.get(level) ?? [];
  tasks.push(task);
  pending.set(level, tasks);
  const events = em.getEventManager();
  if (!hooked.has(events)) {
    events.registerSubscriber(subscriber);
    hooked.add(events);
  }
}
