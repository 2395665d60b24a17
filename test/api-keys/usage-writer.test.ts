/**
 * The ledger rows of VALID answers, written behind the answers: each once, the quota's reservation
 * settled as committed or not, retried after a failed statement, given up (units released, logged)
 * after the last attempt, and `drain` waits for all of it. Failures are real: the ledger table is
 * renamed away while the writer tries.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QuotaCounters } from '../../src/billing/api-keys/quota-counters.js';
import { UsageWriter } from '../../src/billing/api-keys/usage-writer.js';
import type { Logger } from '../../src/log.js';
import { queryRows } from '../../src/db/sql.js';
import { onQuery } from '../../src/db/query-observer.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { eventually } from '../support/eventually.js';

let db: TestOrm;
beforeAll(async () => {
  db = await createTestOrm();
});
afterAll(() => db?.dispose());

const period = { from: new Date('2026-03-01T00:00:00Z'), to: new Date('2026-04-01T00:00:00Z') };
// Milliseconds past the second: the ledger keeps them.
const at = Date.parse('2026-03-05T00:00:00.000Z') + 7;

function logCapture(): { log: Logger; errors: { obj: unknown; msg: string }[] } {
  const errors: { obj: unknown; msg: string }[] = [];
  const noop = () => undefined;
  const log = { error: (obj: unknown, msg: string) => errors.push({ obj, msg }), warn: noop, info: noop, debug: noop, trace: noop, fatal: noop } as unknown as Logger;
  return { log, errors };
}

const sumOf = async (customerId: string) =>
  Number((await queryRows<{ n: string | null }>(db.orm.em.fork(), `select sum(quantity)::text as n from usage_records where customer_id = ?`, [customerId]))[0]!.n ?? 0);

it('writes each row once and settles reservations as committed or already counted', async () => {
  const em = db.orm.em.fork();
  const quotas = new QuotaCounters(em);
  const { log, errors } = logCapture();
  let woken = 0;
  const writer = new UsageWriter(em, quotas, log, 20, () => woken++);
  const key = { customerId: 'cus_writer_1', eventName: 'api_calls', ...period };
  expect(await quotas.used(key, 60_000)).toBe(0);
  for (let i = 0; i < 30; i++) writer.add(key.customerId, 'api_calls', 2, at, `apikey:k1:r${i % 20}`, quotas.reserve(key, 2));
  // Reserved at once, before any insert finished.
  expect(quotas.used(key, 60_000)).toBe(60);
  await writer.drain();
  // 20 distinct requestIds: 40 units committed; the 10 repeats released their reservations.
  expect(await sumOf(key.customerId)).toBe(40);
  expect(quotas.used(key, 60_000)).toBe(40);
  // Stamped at the verification's time to the millisecond, each with an id of its own for the meter event.
  const stored = await queryRows<{ id: string; at: string }>(db.orm.em.fork(), `select id, to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at from usage_records where customer_id = ?`, [key.customerId]);
  expect(new Set(stored.map((r) => r.at))).toEqual(new Set([new Date(at).toISOString()]));
  expect(new Set(stored.map((r) => r.id)).size).toBe(20);
  for (const r of stored) expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(woken).toBeGreaterThan(0);
  expect(errors).toEqual([]);
});

it('tries a failed statement again, and gives up after the last attempt with the units released', async () => {
  const em = db.orm.em.fork();
  const quotas = new QuotaCounters(em);
  const { log, errors } = logCapture();
  const writer = new UsageWriter(em, quotas, log, 10);
  const key = { customerId: 'cus_writer_2', eventName: 'api_calls', ...period };
  expect(await quotas.used(key, 60_000)).toBe(0);
  let inserts = 0;
  const stop = onQuery(db.orm, (q) => {
    if (/insert into usage_records/.test(q.query)) inserts++;
  });
  try {
    await queryRows(db.orm.em.fork(), `alter table usage_records rename to usage_records_away`);
    writer.add(key.customerId, 'api_calls', 3, at, 'apikey:k2:retry', quotas.reserve(key, 3));
    await eventually('a first insert attempt', () => inserts, (n) => n >= 1);
    await queryRows(db.orm.em.fork(), `alter table usage_records_away rename to usage_records`);
    await writer.drain();
    expect(inserts).toBeGreaterThanOrEqual(2);
    expect(await sumOf(key.customerId)).toBe(3);
    expect(quotas.used(key, 60_000)).toBe(3);
    expect(errors).toEqual([]);

    // Now failing every time: five attempts, then the row is given up and its units released.
    await queryRows(db.orm.em.fork(), `alter table usage_records rename to usage_records_away`);
    inserts = 0;
    writer.add(key.customerId, 'api_calls', 4, at, 'apikey:k2:lost', quotas.reserve(key, 4));
    expect(quotas.used(key, 60_000)).toBe(7);
    await writer.drain();
    expect(inserts).toBe(5);
    expect(quotas.used(key, 60_000)).toBe(3);
    expect(errors.map((e) => e.msg)).toEqual(['API key usage could not be written to the ledger']);
    expect(JSON.stringify(errors[0]!.obj)).not.toContain('apikey:k2:lost');
  } finally {
    stop();
    await queryRows(db.orm.em.fork(), `alter table if exists usage_records_away rename to usage_records`);
  }
});

it('a row PostgreSQL refuses fails alone: the rows written with it are counted, it is given up', async () => {
  const em = db.orm.em.fork();
  const quotas = new QuotaCounters(em);
  const { log, errors } = logCapture();
  const writer = new UsageWriter(em, quotas, log, 10);
  const key = { customerId: 'cus_writer_3', eventName: 'api_calls', ...period };
  expect(await quotas.used(key, 60_000)).toBe(0);
  for (let i = 0; i < 5; i++) writer.add(key.customerId, 'api_calls', 1, at, `apikey:k3:r${i}`, quotas.reserve(key, 1));
  // A NUL character: text PostgreSQL cannot store, in the same statement as the five rows around it.
  writer.add(key.customerId, 'api_calls', 10, at, 'apikey:k3:bad\u0000', quotas.reserve(key, 10));
  for (let i = 5; i < 10; i++) writer.add(key.customerId, 'api_calls', 1, at, `apikey:k3:r${i}`, quotas.reserve(key, 1));
  await writer.drain();
  expect(await sumOf(key.customerId)).toBe(10);
  expect(quotas.used(key, 60_000)).toBe(10);
  expect(errors.map((e) => e.msg)).toEqual(['API key usage could not be written to the ledger']);
});
