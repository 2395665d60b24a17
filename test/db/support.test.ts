import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Customer, SyncState } from '../../src/db/entities/index.js';
import { closeOrm, executedMigrations, openOrm } from '../../src/db/orm.js';
import { clearTables, countStatements, createPgliteDataDir, createTestDatabase, createTestOrm } from '../support/db.js';

describe('createTestOrm', () => {
  it('gives each call a database of its own', async () => {
    const [a, b] = await Promise.all([createTestOrm(), createTestOrm()]);
    try {
      const em = a.orm.em.fork();
      em.create(SyncState, { key: 'cursor', value: 'evt_1' });
      await em.flush();
      expect(await a.orm.em.fork().count(SyncState)).toBe(1);
      expect(await b.orm.em.fork().count(SyncState)).toBe(0);
      if (process.env.TEST_DATABASE_URL) expect(a.url).not.toBe(b.url);

      await clearTables(a.orm);
      expect(await a.orm.em.fork().count(SyncState)).toBe(0);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});

describe('countStatements', () => {
  it('counts each SQL statement run inside the callback, and only those', async () => {
    const db = await createTestOrm();
    try {
      const em = db.orm.em.fork();
      await em.find(Customer, {}); // before: not counted

      const one = await countStatements(db.orm, () => em.find(Customer, { email: 'a@example.test' }));
      expect(one.count).toBe(1);
      expect(one.statements[0]).toMatch(/^select .* from "customers"/);
      expect(one.result).toEqual([]);

      const three = await countStatements(db.orm, async () => {
        await em.count(Customer);
        await em.getConnection().execute('select 1');
        await em.fork().find(SyncState, {});
      });
      expect(three.count).toBe(3);

      await em.find(Customer, {}); // after: not counted
      expect(three.count).toBe(3);

      const flush = await countStatements(db.orm, async () => {
        em.create(SyncState, { key: 'k', value: 'v' });
        await em.flush();
      });
      expect(flush.statements.map((q) => q.split(' ')[0])).toEqual(['begin', 'insert', 'commit']);
    } finally {
      await db.dispose();
    }
  });
});

describe('PGlite data dir', () => {
  it('keeps its data and its migrations across a restart', async () => {
    const { dataDir, dispose } = await createPgliteDataDir();
    onTestFinished(dispose);
    const first = await openOrm({ dataDir });
    const em = first.em.fork();
    em.create(Customer, {
      id: 'cus_kept',
      externalId: 'user-kept',
      createdAt: new Date('2026-11-01T00:00:00Z'),
      raw: { id: 'cus_kept', object: 'customer' } as never,
    });
    await em.flush();
    const migrations = await executedMigrations(first);
    await closeOrm(first);

    const second = await openOrm({ dataDir });
    try {
      const kept = await second.em.fork().findOne(Customer, { externalId: 'user-kept' });
      expect(kept?.id).toBe('cus_kept');
      expect(await executedMigrations(second)).toEqual(migrations);
    } finally {
      await closeOrm(second);
    }
  });
});

describe('createTestDatabase', () => {
  it('hands a separate process a migrated, empty database', async () => {
    const db = await createTestDatabase();
    try {
      const orm = await openOrm({ databaseUrl: db.env.DATABASE_URL, dataDir: db.env.DATA_DIR, migrate: false });
      try {
        expect(await executedMigrations(orm)).not.toEqual([]);
        expect(await orm.em.fork().count(Customer)).toBe(0);
      } finally {
        await closeOrm(orm);
      }
    } finally {
      await db.dispose();
    }
  });
});

describe('PGlite lock', () => {
  it('refuses a second open of one data dir until the first closes, and takes over a dead process lock', async () => {
    const { dataDir, dispose } = await createPgliteDataDir();
    onTestFinished(dispose);
    const first = await openOrm({ dataDir });
    try {
      await expect(openOrm({ dataDir })).rejects.toThrow(/already held by this process/);
    } finally {
      await closeOrm(first);
    }

    // A lock file left by a process that no longer exists.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dataDir, 'pglite.lock'), dead.stdout);
    const second = await openOrm({ dataDir });
    expect(readFileSync(join(dataDir, 'pglite.lock'), 'utf8')).toBe(String(process.pid));
    await second.close(true);
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
  });
});
