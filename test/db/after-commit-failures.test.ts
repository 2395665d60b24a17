import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit, afterCommitFailures } from '../../src/db/after-commit.js';
import { createLogger, logger, setLogger } from '../../src/log.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

/**
 * A task that throws after a commit: the commit stands, the tasks after it still run, and the failure
 * is one error log line and one count of `after_commit_task_failures_total`, never silence.
 */
let db: TestOrm;
const lines: { level: number; msg: string; module?: string; err?: string }[] = [];
const processLogger = logger;

beforeAll(async () => {
  db = await createTestOrm();
  setLogger(createLogger({ level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } }));
});
afterAll(async () => {
  setLogger(processLogger);
  await db?.dispose();
});

const failures = async () => (await afterCommitFailures.get()).values[0]?.value ?? 0;

describe('afterCommit, a failing task', () => {
  it('is logged and counted; the commit and the next task are unaffected', async () => {
    const before = await failures();
    const ran: string[] = [];
    await db.orm.em.fork().transactional(async (tx) => {
      await tx.execute(`insert into sync_state (key, value, updated_at) values ('test.after_commit', 'kept', now())`);
      afterCommit(tx, () => {
        throw new Error('notifier down');
      });
      afterCommit(tx, () => void ran.push('next'));
    });
    expect(ran).toEqual(['next']);
    expect(await db.orm.em.fork().getConnection().execute(`select value from sync_state where key = 'test.after_commit'`)).toEqual([{ value: 'kept' }]);
    expect(await failures()).toBe(before + 1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, module: 'after-commit', err: 'notifier down', msg: 'a task after commit failed' }));
  });
});
