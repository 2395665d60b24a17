import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterCommit } from '../../src/db/after-commit.js';
import type { Orm } from '../../src/db/orm.js';
import { createTestOrm } from '../support/db.js';

/**
 * afterCommit on a real database: tasks run once the top-level transaction commits, never on rollback;
 * a released savepoint hands its tasks to the enclosing transaction, a rolled-back one drops only its own.
 */
let db: Awaited<ReturnType<typeof createTestOrm>>;
let orm: Orm;

beforeAll(async () => {
  db = await createTestOrm();
  orm = db.orm;
});
afterAll(() => db?.dispose());

const ran: string[] = [];
const task = (name: string) => () => void ran.push(name);

describe('afterCommit', () => {
  it('runs at once outside a transaction', () => {
    ran.length = 0;
    afterCommit(orm.em.fork(), task('now'));
    expect(ran).toEqual(['now']);
  });

  it('runs after the commit, not before, and never after a rollback', async () => {
    ran.length = 0;
    await orm.em.fork().transactional(async (tx) => {
      afterCommit(tx, task('committed'));
      await tx.execute('select 1');
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['committed']);
    await expect(
      orm.em.fork().transactional(async (tx) => {
        afterCommit(tx, task('rolled back'));
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(ran).toEqual(['committed']);
  });

  it('savepoints: a released one waits for the outer commit, a rolled-back one drops only its own tasks', async () => {
    ran.length = 0;
    await orm.em.fork().transactional(async (tx) => {
      afterCommit(tx, task('outer'));
      await tx.transactional(async (inner) => {
        afterCommit(inner, task('released savepoint'));
      });
      await expect(
        tx.transactional(async (inner) => {
          afterCommit(inner, task('rolled-back savepoint'));
          throw new Error('undo the savepoint');
        }),
      ).rejects.toThrow('undo the savepoint');
      expect(ran).toEqual([]);
    });
    expect(ran.sort()).toEqual(['outer', 'released savepoint']);
  });
});
