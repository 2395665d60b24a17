import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingEvent, Customer, IdempotencyKey, Milestone, UsageRecord } from '../../src/db/entities/index.js';
import type { Orm } from '../../src/db/orm.js';
import { createTestOrm, type TestOrm } from '../support/db.js';

const customer = (id: string, externalId: string | null) => ({
  id,
  externalId,
  email: `${id}@example.test`,
  createdAt: new Date('2026-11-01T00:00:00Z'),
  raw: { id, object: 'customer' } as never,
});

const usage = (customerId: string, idempotencyKey: string) => ({
  customerId,
  meter: 'api_calls',
  quantity: 3,
  timestamp: new Date('2026-11-20T10:00:00Z'),
  idempotencyKey,
});

const signal = (sourceEventId: string, type: 'PAYMENT_RECEIVED' | 'MRR_UPDATED') => ({
  id: `${sourceEventId}:${type}`,
  type,
  occurredAt: new Date('2026-11-20T10:00:00Z'),
  customerId: 'cus_a',
  amount: 10_000,
  currency: 'usd',
  message: 'payment_received customer=cus_a amount=$100.00',
  sourceEventId,
});

describe('unique constraints', () => {
  let db: TestOrm;
  let orm: Orm;

  beforeAll(async () => {
    db = await createTestOrm();
    orm = db.orm;
  });
  afterAll(() => db?.dispose());

  it('allow one customer per external id, and any number without one', async () => {
    const em = orm.em.fork();
    em.create(Customer, customer('cus_a', 'user-1'));
    em.create(Customer, customer('cus_n1', null));
    em.create(Customer, customer('cus_n2', null));
    await em.flush();

    const again = orm.em.fork();
    again.create(Customer, customer('cus_b', 'user-1'));
    await expect(again.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    expect(await orm.em.fork().count(Customer, { externalId: 'user-1' })).toBe(1);
  });

  it('count a usage idempotency key once per customer', async () => {
    const em = orm.em.fork();
    em.create(UsageRecord, usage('cus_a', 'k1'));
    em.create(UsageRecord, usage('cus_b', 'k1'));
    await em.flush();

    const again = orm.em.fork();
    again.create(UsageRecord, usage('cus_a', 'k1'));
    await expect(again.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);

    const rows = await orm.em.fork().find(UsageRecord, {}, { orderBy: { customerId: 'asc' } });
    expect(rows.map((r) => [r.customerId, r.idempotencyKey])).toEqual([
      ['cus_a', 'k1'],
      ['cus_b', 'k1'],
    ]);
    // The ledger id (the meter event identifier) is generated when the writer gives none.
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    expect(rows.every((r) => r.sentAt === null)).toBe(true);
  });

  it('store a billing event once per source event and type', async () => {
    const em = orm.em.fork();
    em.create(BillingEvent, signal('evt_1', 'PAYMENT_RECEIVED'));
    em.create(BillingEvent, signal('evt_1', 'MRR_UPDATED'));
    await em.flush();

    const again = orm.em.fork();
    again.create(BillingEvent, { ...signal('evt_1', 'PAYMENT_RECEIVED'), id: 'another-id' });
    await expect(again.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    expect(await orm.em.fork().count(BillingEvent, { sourceEventId: 'evt_1' })).toBe(2);
  });

  it('keep one idempotency key per scope and one milestone per currency and threshold', async () => {
    const key = { scope: 'user-1', key: 'k', operation: 'subscribe', requestHash: 'h', expiresAt: new Date('2026-11-22T00:00:00Z') };
    const em = orm.em.fork();
    em.create(IdempotencyKey, key);
    em.create(IdempotencyKey, { ...key, scope: 'user-2' });
    em.create(Milestone, { currency: 'usd', threshold: 10_000, mrrAmount: 10_100, reachedAt: new Date() });
    await em.flush();

    const k = orm.em.fork();
    k.create(IdempotencyKey, key);
    await expect(k.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    const m = orm.em.fork();
    m.create(Milestone, { currency: 'usd', threshold: 10_000, mrrAmount: 20_000, reachedAt: new Date() });
    await expect(m.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
  });

  it('let exactly one of several concurrent first writes of an external id win', async () => {
    const attempts = Array.from({ length: 6 }, (_, i) =>
      orm.em.fork().transactional(async (em) => {
        em.create(Customer, customer(`cus_race_${i}`, 'user-race'));
      }),
    );
    const results = await Promise.allSettled(attempts);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(UniqueConstraintViolationException);
    }
    expect(await orm.em.fork().count(Customer, { externalId: 'user-race' })).toBe(1);
  });

  it('read back typed values', async () => {
    const em = orm.em.fork();
    em.create(Customer, { ...customer('cus_typed', 'user-typed'), metadata: { plan: 'pro' } });
    await em.flush();

    const read = orm.em.fork();
    const c = await read.findOneOrFail(Customer, 'cus_typed');
    expect(c.createdAt).toEqual(new Date('2026-11-01T00:00:00Z'));
    expect(c.metadata).toEqual({ plan: 'pro' });
    expect(c.deleted).toBe(false);
    expect(c.syncedAt).toBeInstanceOf(Date);
    const m = await read.findOneOrFail(Milestone, { currency: 'usd', threshold: 10_000 });
    expect(m.mrrAmount).toBe(10_100);
    const key = await read.findOneOrFail(IdempotencyKey, { scope: 'user-1', key: 'k' });
    expect(key.status).toBe('in_progress');
  });
});
