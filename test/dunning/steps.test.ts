/**
 * Dunning's database rules on a real database (PostgreSQL with TEST_DATABASE_URL, else PGlite): the
 * customer's clock from the mirrored test clock (monotonic whatever the event order), steps due on that
 * clock, each run exactly once by concurrent runners, several due steps run in order, the case opened
 * only for an open invoice and moved back by an earlier failure, access state by the case's times.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accessStatesOf } from '../../src/billing/access/access-state.js';
import { customerNow, customerNowOf } from '../../src/billing/clock/customer-clock.js';
import { closeSettledCases } from '../../src/billing/dunning/close-settled.js';
import { createDunning } from '../../src/billing/dunning/dunning.js';
import type { DunningNotification } from '../../src/billing/dunning/notification.js';
import { openOrAdvanceCase } from '../../src/billing/dunning/open-or-advance.js';
import { defaultDunningSchedule } from '../../src/dunning-schedule.js';
import { createSignalBus } from '../../src/events/index.js';
import { createSignals } from '../../src/billing/signals/index.js';
import { logger } from '../../src/log.js';
import { mirrorTestClock } from '../../src/stripe/mirror/test-clocks.js';
import { withMirrorBatch } from '../../src/stripe/mirror/batch.js';
import { queryRows } from '../../src/db/sql.js';
import { clearTables, createTestOrm, type TestOrm } from '../support/db.js';

let db: TestOrm;
const DAY = 86_400;
const T0 = Date.UTC(2026, 2, 1) / 1000;
const schedule = defaultDunningSchedule(7);

beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(async () => {
  await db?.dispose();
});
beforeEach(async () => {
  await clearTables(db.orm);
});

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return (await db.orm.em.fork().getConnection().execute(query, params)) as T[];
}

/** Timestamp columns as Dates (the PostgreSQL driver hands them over as strings, PGlite as Dates). */
function withDates<T extends Record<string, unknown>>(rows: T[], ...cols: string[]): T[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cols.includes(k) && v !== null ? new Date(v as string) : v])) as T);
}

async function customer(id: string, clock: string | null): Promise<void> {
  await sql(`insert into customers (id, test_clock, created_at, raw) values (?, ?, now(), '{}'::jsonb)`, [id, clock]);
}

async function invoice(id: string, customerId: string, status: string, attempts: number, billingReason = 'subscription_cycle'): Promise<void> {
  await sql(
    `insert into invoices (id, customer_id, subscription_id, status, billing_reason, currency, total, amount_due, amount_paid, attempt_count, created_at, raw)
     values (?, ?, 'sub_1', ?, ?, 'usd', 500, 500, 0, ?, now(), '{}'::jsonb)
     on conflict (id) do update set status = excluded.status, attempt_count = excluded.attempt_count`,
    [id, customerId, status, billingReason, attempts],
  );
}

const clockAt = (id: string, frozen: number, status = 'ready') => mirrorTestClock(db.orm.em.fork(), { id, frozen_time: frozen, status: status as 'ready' });

function dunningUnderTest() {
  const seen: DunningNotification[] = [];
  const signals = createSignals({ bus: createSignalBus(), config: { mrrMilestones: [] }, log: logger });
  const dunning = createDunning({
    schedule,
    signals,
    notifiers: [{ name: 'memory', notify: async (n) => void seen.push(n) }],
    log: logger,
  });
  return { dunning, seen };
}

const tx = <T>(fn: (em: import('@mikro-orm/core').EntityManager) => Promise<T>) => db.orm.em.fork().transactional(fn);

describe('the customer clock', () => {
  it("is the mirrored test clock's frozen time, which only moves forward whatever the event order", async () => {
    await customer('cus_clock', 'clock_a');
    await customer('cus_wall', null);
    await clockAt('clock_a', T0, 'ready');
    await clockAt('clock_a', T0 + 5 * DAY, 'ready');
    // Late: the advancing event of the first advance, and the creation.
    await clockAt('clock_a', T0, 'advancing');
    await clockAt('clock_a', T0 - DAY, 'ready');
    expect(withDates(await sql('select frozen_time, status from test_clocks'), 'frozen_time')).toEqual([{ frozen_time: new Date((T0 + 5 * DAY) * 1000), status: 'ready' }]);
    await clockAt('clock_a', T0 + 5 * DAY, 'advancing');
    expect((await sql<{ status: string }>('select status from test_clocks'))[0]!.status).toBe('advancing');

    const before = Date.now();
    const nows = await customerNowOf(db.orm.em.fork(), ['cus_clock', 'cus_wall', 'cus_unknown']);
    expect(nows.get('cus_clock')).toEqual(new Date((T0 + 5 * DAY) * 1000));
    expect(nows.get('cus_wall')!.getTime()).toBeGreaterThanOrEqual(before);
    expect(nows.get('cus_unknown')!.getTime()).toBeGreaterThanOrEqual(before);
    expect(await customerNow(db.orm.em.fork(), 'cus_clock')).toEqual(new Date((T0 + 5 * DAY) * 1000));
  });
});

describe('opening a case', () => {
  it('only for an open, attempted, non-first invoice; an earlier failure moves day 0 back', async () => {
    await customer('cus_1', 'clock_1');
    await invoice('in_first', 'cus_1', 'open', 1, 'subscription_create');
    await invoice('in_paid', 'cus_1', 'paid', 2);
    await invoice('in_1', 'cus_1', 'open', 2);
    const em = db.orm.em.fork();
    const at = new Date((T0 + 3 * DAY) * 1000);
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_first', failedAt: at, schedule })).toMatchObject({ action: 'ignored' });
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_paid', failedAt: at, schedule })).toEqual({ action: 'ignored', reason: 'invoice is paid' });
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_nope', failedAt: at, schedule })).toMatchObject({ action: 'ignored' });
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_1', failedAt: at, schedule })).toMatchObject({ action: 'opened', attempt: 2 });
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_1', failedAt: at, schedule })).toMatchObject({ action: 'unchanged' });
    // Attempt 1's event arrives late: day 0 moves back three days, with the restriction times.
    const first = new Date(T0 * 1000);
    expect(await openOrAdvanceCase(em, { invoiceId: 'in_1', failedAt: first, schedule })).toMatchObject({ action: 'advanced', attempt: 2 });
    const row = await sql('select opened_at, next_step_at, soft_suspend_at, suspend_at, attempt from dunning_cases');
    expect(withDates(row, 'opened_at', 'next_step_at', 'soft_suspend_at', 'suspend_at')).toEqual([
      {
        opened_at: first,
        next_step_at: new Date((T0 + DAY) * 1000),
        soft_suspend_at: new Date((T0 + 7 * DAY) * 1000),
        suspend_at: new Date((T0 + 8 * DAY) * 1000),
        attempt: 2,
      },
    ]);
  });

  it('closes when the mirrored invoice is settled, never while it is open', async () => {
    await customer('cus_2', null);
    await invoice('in_2', 'cus_2', 'open', 1);
    await openOrAdvanceCase(db.orm.em.fork(), { invoiceId: 'in_2', failedAt: new Date(), schedule });
    expect(await closeSettledCases(db.orm.em.fork(), 'in_2', new Date())).toEqual([]);
    await invoice('in_2', 'cus_2', 'void', 1);
    expect(await closeSettledCases(db.orm.em.fork(), 'in_2', new Date())).toMatchObject([{ invoiceId: 'in_2', reason: 'void' }]);
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_2'])).toEqual(new Map([['cus_2', 'NONE']]));
  });

  // With the batch's invoices given (as the worker gives them, their cases read in one statement) and
  // without (each close statement counts what it left open).
  it.each([true, false])("in the worker's batch, a case opened after an event that found none is still closed by a later event (invoices given: %s)", async (given) => {
    await customer('cus_b', null);
    await invoice('in_b', 'cus_b', 'open', 1);
    const { dunning, seen } = dunningUnderTest();
    const now = Math.floor(Date.now() / 1000);
    const event = (type: string, status: string, at: number) =>
      ({ id: `evt_${type}`, type, created: at, data: { object: { id: 'in_b', object: 'invoice', status } } }) as unknown as Stripe.Event;
    const events = [
      event('invoice.updated', 'open', now - 30),
      event('invoice.payment_failed', 'open', now - 20),
      event('invoice.paid', 'paid', now - 10),
      event('invoice.payment_succeeded', 'paid', now - 10),
    ];
    await tx((em) =>
      withMirrorBatch(em, async () => {
        if (given) dunning.afterEvent.batch!.begin(em, events);
        // No case yet: the batch learns the invoice has none open.
        await dunning.afterEvent(em, events[0]!);
        expect(await queryRows(em, 'select count(*)::int as n from dunning_cases')).toEqual([{ n: 0 }]);
        await dunning.afterEvent(em, events[1]!);
        expect(await queryRows(em, `select status from dunning_cases where invoice_id = 'in_b'`)).toEqual([{ status: 'open' }]);
        await queryRows(em, `update invoices set status = 'paid' where id = 'in_b'`);
        await dunning.afterEvent(em, events[2]!);
        // Closed once: the next event about the invoice has nothing left to close.
        await dunning.afterEvent(em, events[3]!);
      }),
    );
    expect(await sql('select status, close_reason from dunning_cases')).toEqual([{ status: 'closed', close_reason: 'paid' }]);
    expect(seen.filter((n) => n.type === 'dunning.closed').map((n) => n.closeReason)).toEqual(['paid']);
  });

  it("in the worker's batch, an applied copy that leaves the invoice open closes nothing; a settled one closes", async () => {
    await customer('cus_c', null);
    await invoice('in_c', 'cus_c', 'open', 1);
    await tx((em) => openOrAdvanceCase(em, { invoiceId: 'in_c', failedAt: new Date(), schedule }));
    const { dunning, seen } = dunningUnderTest();
    const applied = { action: 'applied' as const, kind: 'invoice' as const, objectId: 'in_c' };
    const event = (type: string, status: string) =>
      ({ id: `evt_c_${type}`, type, created: Math.floor(Date.now() / 1000), data: { object: { id: 'in_c', object: 'invoice', status } } }) as unknown as Stripe.Event;
    await tx((em) =>
      withMirrorBatch(em, async () => {
        await dunning.afterEvent(em, event('invoice.updated', 'open'), applied);
        expect(await queryRows(em, `select status from dunning_cases where invoice_id = 'in_c'`)).toEqual([{ status: 'open' }]);
        await queryRows(em, `update invoices set status = 'void' where id = 'in_c'`);
        await dunning.afterEvent(em, event('invoice.voided', 'void'), applied);
      }),
    );
    expect(await sql('select status, close_reason from dunning_cases')).toEqual([{ status: 'closed', close_reason: 'void' }]);
    expect(seen.filter((n) => n.type === 'dunning.closed').map((n) => n.closeReason)).toEqual(['void']);
  });
});

describe('due steps', () => {
  it('run on the customer clock, all of them in order when several are due, each once', async () => {
    await customer('cus_3', 'clock_3');
    await clockAt('clock_3', T0);
    await invoice('in_3', 'cus_3', 'open', 1);
    const { dunning, seen } = dunningUnderTest();
    await tx((em) => openOrAdvanceCase(em, { invoiceId: 'in_3', failedAt: new Date(T0 * 1000), schedule }));

    expect(await tx((em) => dunning.runDue(em))).toBe(0);
    // Wall time is far beyond day 8, but the customer's clock says day 0.
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_3'])).toEqual(new Map([['cus_3', 'GRACE']]));

    await clockAt('clock_3', T0 + 7 * DAY + 60);
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_3'])).toEqual(new Map([['cus_3', 'SOFT_SUSPENDED']]));
    expect(await tx((em) => dunning.runDue(em))).toBe(3);
    expect(await tx((em) => dunning.runDue(em))).toBe(0);
    expect(seen.map((n) => `${n.step}@${n.day}:${n.accessState}`)).toEqual(['reminder@1:GRACE', 'warning@4:GRACE', 'soft_suspension@7:SOFT_SUSPENDED']);
    const events = await sql<{ message: string }>(`select message from billing_events where type = 'PAYMENT_FAILED' order by created_at`);
    expect(events.map((e) => e.message)).toEqual([
      'payment_failed customer=cus_3 retry=1 step=reminder day=1',
      'payment_failed customer=cus_3 retry=1 step=warning day=4',
      'payment_failed customer=cus_3 retry=1 step=soft_suspension day=7',
    ]);
    // An explicit `now` is honoured (entitlements may ask "at this moment").
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_3'], new Date((T0 + 9 * DAY) * 1000))).toEqual(new Map([['cus_3', 'SUSPENDED']]));
  });

  it('concurrent runners (ticker of several replicas) run each step exactly once', async () => {
    const customers = Array.from({ length: 30 }, (_, i) => `cus_c${i}`);
    await clockAt('clock_c', T0);
    for (const id of customers) {
      await customer(id, 'clock_c');
      await invoice(`in_${id}`, id, 'open', 1);
      await tx((em) => openOrAdvanceCase(em, { invoiceId: `in_${id}`, failedAt: new Date(T0 * 1000), schedule }));
    }
    await clockAt('clock_c', T0 + 4 * DAY);
    const { dunning, seen } = dunningUnderTest();
    const counts = await Promise.all(Array.from({ length: 4 }, () => tx((em) => dunning.runDue(em))));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(60);
    expect(seen).toHaveLength(60);
    expect(new Set(seen.map((n) => n.id)).size).toBe(60);
    const steps = await sql<{ step: number }>('select distinct step from dunning_cases');
    expect(steps).toEqual([{ step: 2 }]);
  });

  it('a failing notifier neither blocks nor rolls back a step; the other notifiers still get it', async () => {
    await customer('cus_nf', null);
    await invoice('in_nf', 'cus_nf', 'open', 1);
    await tx((em) => openOrAdvanceCase(em, { invoiceId: 'in_nf', failedAt: new Date(Date.now() - 2 * DAY * 1000), schedule }));
    const seen: string[] = [];
    const dunning = createDunning({
      schedule,
      notifiers: [
        { name: 'throws', notify: () => { throw new Error('boom'); } },
        { name: 'rejects', notify: async () => { throw new Error('bang'); } },
        { name: 'memory', notify: async (n) => void seen.push(n.step!) },
      ],
      log: logger,
    });
    expect(await tx((em) => dunning.runDue(em))).toBe(1);
    expect(seen).toEqual(['reminder']);
    expect(await sql('select step from dunning_cases')).toEqual([{ step: 1 }]);
  });

  it('the ticker sweep closes a case whose invoice the mirror shows settled without an event (sync --full)', async () => {
    await customer('cus_sw', null);
    await invoice('in_sw', 'cus_sw', 'open', 1);
    await tx((em) => openOrAdvanceCase(em, { invoiceId: 'in_sw', failedAt: new Date(Date.now() - 10 * DAY * 1000), schedule }));
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_sw'])).toEqual(new Map([['cus_sw', 'SUSPENDED']]));
    await invoice('in_sw', 'cus_sw', 'paid', 1);
    const { dunning, seen } = dunningUnderTest();
    expect(await tx((em) => dunning.sweep(em))).toBe(0);
    expect(seen.map((n) => `${n.type}:${n.closeReason}`)).toEqual(['dunning.closed:paid']);
    expect(await accessStatesOf(db.orm.em.fork(), ['cus_sw'])).toEqual(new Map([['cus_sw', 'NONE']]));
  });

  it('a rolled-back run notifies nothing and leaves the steps due', async () => {
    await customer('cus_rb', null);
    await invoice('in_rb', 'cus_rb', 'open', 1);
    const { dunning, seen } = dunningUnderTest();
    await tx((em) => openOrAdvanceCase(em, { invoiceId: 'in_rb', failedAt: new Date(Date.now() - 2 * DAY * 1000), schedule }));
    await expect(
      tx(async (em) => {
        expect(await dunning.runDue(em)).toBe(1);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(seen).toHaveLength(0);
    expect(await tx((em) => dunning.runDue(em))).toBe(1);
    expect(seen.map((n) => n.step)).toEqual(['reminder']);
  });
});
