/**
 * reportUsage and reportUsageBatch over HTTP against the emulator: exactly once per key under
 * concurrency, duplicates answered with the original, every validation error naming its field,
 * customer isolation, and 1,000-record batches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerNow } from '../../src/billing/clock/customer-clock.js';
import { countRows, startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from '../lifecycle/harness.js';
import { catalogWithCappedPlan, day, errorOf, REPORT, REPORT_BATCH, USAGE, customerBook } from './support.js';

let gw: LifecycleGateway;
let admin: string;
const { tokens, customers, subscribe } = customerBook(() => gw);

async function ledgerRows(customerId: string): Promise<number> {
  const rows = await gw.orm.em.fork().getConnection().execute<{ n: string }[]>(`select count(*) as n from usage_records where customer_id = ?`, [customerId]);
  return Number(rows[0]!.n);
}

async function periodQuantity(sub: string): Promise<number> {
  const r = await gw.gql(USAGE, { meter: 'api_calls' }, tokens[sub]);
  expect(r.errors).toBeUndefined();
  return r.data!.customer.usage[0].quantity;
}

beforeAll(async () => {
  gw = await startLifecycleGateway({ BILLING_CATALOG: catalogWithCappedPlan() });
  admin = await gw.token('ops', { role: 'admin' });
  for (const sub of ['alice', 'bob', 'dave', 'erin']) await subscribe(sub, 'pro_monthly');
  // Ten days into the first period (2026-03-01 → 04-01): every timestamp below is in the past on the
  // customers' clock, whichever "now" customerNow gives.
  await gw.advanceClock(10 * 86_400);
});
afterAll(async () => {
  await gw?.close();
});

describe('reportUsage', () => {
  it('100 parallel calls with 50 distinct keys store exactly 50 records, and the period sum is exact', async () => {
    const calls = Array.from({ length: 100 }, (_, i) => {
      const k = i % 50;
      return gw.gql(REPORT, { input: { meter: 'api_calls', quantity: k + 1, timestamp: day(1 + k / 10), idempotencyKey: `par-${k}` } }, tokens.dave);
    });
    const results = await Promise.all(calls);
    for (const r of results) expect(r.errors).toBeUndefined();
    const records = results.map((r) => r.data!.reportUsage);
    for (let k = 0; k < 50; k++) {
      const pair = [records[k]!, records[k + 50]!];
      expect(pair[0].id).toBe(pair[1].id);
      expect(pair.filter((p) => !p.duplicate)).toHaveLength(1);
      expect(pair[0]).toMatchObject({ quantity: k + 1, idempotencyKey: `par-${k}`, meter: 'api_calls' });
    }
    expect(await ledgerRows(customers.dave!)).toBe(50);
    expect(await periodQuantity('dave')).toBe((50 * 51) / 2);
  });

  it('a repeated key returns the original record with duplicate: true and adds nothing, even with another quantity', async () => {
    const first = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 5, timestamp: day(2), idempotencyKey: 'dup-1' } }, tokens.alice);
    expect(first.errors).toBeUndefined();
    expect(first.data!.reportUsage).toMatchObject({ quantity: 5, duplicate: false, timestamp: day(2) });
    const before = await periodQuantity('alice');
    const again = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 7, timestamp: day(3), idempotencyKey: 'dup-1' } }, tokens.alice);
    expect(again.data!.reportUsage).toEqual({ ...first.data!.reportUsage, duplicate: true });
    // An admin resending it for the customer gets the same record.
    const byAdmin = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 5, customerId: 'alice', idempotencyKey: 'dup-1' } }, admin);
    expect(byAdmin.data!.reportUsage).toEqual({ ...first.data!.reportUsage, duplicate: true });
    // A retry that would no longer validate (timestamp far outside the window) still gets its original.
    const late = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 5, timestamp: '2020-01-01T00:00:00Z', idempotencyKey: 'dup-1' } }, tokens.alice);
    expect(late.data!.reportUsage).toEqual({ ...first.data!.reportUsage, duplicate: true });
    expect(await periodQuantity('alice')).toBe(before);
    // The same key of another customer is another record.
    const bob = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, timestamp: day(2), idempotencyKey: 'dup-1' } }, tokens.bob);
    expect(bob.data!.reportUsage).toMatchObject({ duplicate: false });
    expect(bob.data!.reportUsage.id).not.toBe(first.data!.reportUsage.id);
  });

  it('without a timestamp, the record is stamped with the customer\'s "now"', async () => {
    const em = gw.orm.em.fork();
    const before = await customerNow(em, customers.alice!);
    const r = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'now-1' } }, tokens.alice);
    const after = await customerNow(em, customers.alice!);
    expect(r.errors).toBeUndefined();
    const t = new Date(r.data!.reportUsage.timestamp).getTime();
    expect(t).toBeGreaterThanOrEqual(before.getTime());
    expect(t).toBeLessThanOrEqual(after.getTime());
  });

  it('every validation error is BAD_USER_INPUT naming its field, and nothing is stored', async () => {
    const rowsBefore = await countRows(gw.orm, 'usage_records');
    const bad: [Record<string, unknown>, string][] = [
      [{ meter: 'no_such_meter' }, 'meter'],
      [{ meter: 'storage_gb' }, 'meter'], // in the catalog, not on the pro plan
      [{ quantity: 0 }, 'quantity'],
      [{ quantity: -3 }, 'quantity'],
      [{ quantity: 1_000_001 }, 'quantity'],
      [{ idempotencyKey: '' }, 'idempotencyKey'],
      [{ idempotencyKey: '   ' }, 'idempotencyKey'],
      [{ idempotencyKey: 'k'.repeat(256) }, 'idempotencyKey'],
      [{ timestamp: day(-14) }, 'timestamp'], // before the subscription started (no earlier period)
      [{ timestamp: '2100-01-01T00:00:00Z' }, 'timestamp'], // the future
    ];
    for (const [override, field] of bad) {
      const input = { meter: 'api_calls', quantity: 1, timestamp: day(1), idempotencyKey: `bad-${field}-${Math.random()}`, ...override };
      const r = await gw.gql(REPORT, { input }, tokens.alice);
      expect(errorOf(r), JSON.stringify(override)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    // Values GraphQL itself cannot coerce are named by their path in the variables.
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1e12, idempotencyKey: 'big' } }, tokens.alice))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.quantity',
    });
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, timestamp: 'yesterday', idempotencyKey: 'ts' } }, tokens.alice))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.timestamp',
    });
    // Admins must name the customer.
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'adm-1' } }, admin))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'customerId',
    });
    // A caller with no subscription.
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'x-1' } }, await gw.token('carol')))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'customerId',
    });
    // An admin naming an unknown customer.
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, customerId: 'cus_doesnotexist', idempotencyKey: 'x-2' } }, admin))?.code).toBe('NOT_FOUND');
    // No token.
    expect(errorOf(await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'x-3' } }))?.code).toBe('UNAUTHENTICATED');
    expect(await countRows(gw.orm, 'usage_records')).toBe(rowsBefore);
  });

  it("a customer token cannot report for another customer (FORBIDDEN), an admin can", async () => {
    const rowsBefore = await ledgerRows(customers.alice!);
    for (const customerId of [customers.alice!, 'alice', 'cus_doesnotexist']) {
      const r = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, customerId, idempotencyKey: `iso-${customerId}` } }, tokens.bob);
      expect(errorOf(r)?.code).toBe('FORBIDDEN');
    }
    expect(errorOf(await gw.gql(USAGE, { id: customers.alice }, tokens.bob))?.code).toBe('FORBIDDEN');
    expect(await ledgerRows(customers.alice!)).toBe(rowsBefore);
    // Bob naming himself is fine, by externalId or by cus_ id.
    for (const customerId of ['bob', customers.bob!]) {
      const r = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, timestamp: day(4), customerId, idempotencyKey: `self-${customerId}` } }, tokens.bob);
      expect(r.errors).toBeUndefined();
    }
    const r = await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 2, timestamp: day(4), customerId: customers.alice, idempotencyKey: 'by-admin' } }, admin);
    expect(r.data!.reportUsage).toMatchObject({ quantity: 2, duplicate: false });
    expect(await ledgerRows(customers.alice!)).toBe(rowsBefore + 1);
  });

  it('a meter of a subscription started a moment ago is accepted at once (no stale refusal)', async () => {
    await subscribe('fay', 'pro_monthly');
    // Cached facts for fay: pro_monthly only.
    expect((await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'warm-cache' } }, tokens.fay)).errors).toBeUndefined();
    const before = await gw.gql(REPORT, { input: { meter: 'storage_gb', quantity: 1, idempotencyKey: 'gb-0' } }, tokens.fay);
    expect(errorOf(before)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'meter' });
    expect((await gw.gql(SUBSCRIBE, { input: { plan: 'capped_monthly', paymentMethod: 'pm_card_visa' } }, tokens.fay)).errors).toBeUndefined();
    const after = await gw.gql(REPORT, { input: { meter: 'storage_gb', quantity: 3, idempotencyKey: 'gb-1' } }, tokens.fay);
    expect(after.errors).toBeUndefined();
    expect(after.data!.reportUsage).toMatchObject({ meter: 'storage_gb', quantity: 3, duplicate: false });
    // api_calls is on both plans now.
    expect((await gw.gql(REPORT, { input: { meter: 'api_calls', quantity: 1, idempotencyKey: 'both-1' } }, tokens.fay)).errors).toBeUndefined();
  });
});

describe('reportUsageBatch', () => {
  it('records 1,000 records in one call; keys repeated inside the batch count once', async () => {
    const before = await ledgerRows(customers.erin!);
    const sumBefore = await periodQuantity('erin');
    // 990 distinct keys; the last 10 records repeat the first 10 keys (with other quantities).
    const input = Array.from({ length: 1000 }, (_, i) => ({
      meter: 'api_calls',
      quantity: i < 990 ? 2 : 99,
      timestamp: day(5 + (i % 100) / 100),
      customerId: customers.erin,
      idempotencyKey: `batch-${i < 990 ? i : i - 990}`,
    }));
    const r = await gw.gql(REPORT_BATCH, { input }, admin);
    expect(r.errors).toBeUndefined();
    const out = r.data!.reportUsageBatch as { id: string; duplicate: boolean; idempotencyKey: string; quantity: number }[];
    expect(out).toHaveLength(1000);
    out.forEach((rec, i) => expect(rec.idempotencyKey).toBe(input[i]!.idempotencyKey));
    expect(out.slice(0, 990).every((rec) => !rec.duplicate)).toBe(true);
    for (let j = 0; j < 10; j++) expect(out[990 + j]).toEqual({ ...out[j]!, duplicate: true });
    expect(new Set(out.map((o) => o.id)).size).toBe(990);
    expect(await ledgerRows(customers.erin!)).toBe(before + 990);
    expect(await periodQuantity('erin')).toBe(sumBefore + 990 * 2);

    // Sent again (a retry), with one new key: only that one is added.
    const retry = await gw.gql(REPORT_BATCH, { input: [...input.slice(0, 5), { ...input[0]!, idempotencyKey: 'batch-new' }] }, admin);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.reportUsageBatch.map((x: { duplicate: boolean }) => x.duplicate)).toEqual([true, true, true, true, true, false]);
    expect(await ledgerRows(customers.erin!)).toBe(before + 991);

    // A retried record that would fail now (timestamp far outside the window) still gets its original.
    const late = await gw.gql(REPORT_BATCH, { input: [{ ...input[0]!, timestamp: '2020-01-01T00:00:00Z' }, { ...input[0]!, idempotencyKey: 'batch-new-2' }] }, admin);
    expect(late.errors).toBeUndefined();
    expect(late.data!.reportUsageBatch[0]).toEqual({ ...out[0]!, duplicate: true });
    expect(late.data!.reportUsageBatch[1]).toMatchObject({ duplicate: false, idempotencyKey: 'batch-new-2' });
    expect(await ledgerRows(customers.erin!)).toBe(before + 992);
  });

  it('a bad record fails the whole batch with its index and field; nothing is stored', async () => {
    const before = await countRows(gw.orm, 'usage_records');
    const good = (k: string) => ({ meter: 'api_calls', quantity: 1, timestamp: day(6), idempotencyKey: k });
    const r = await gw.gql(REPORT_BATCH, { input: [good('bb-0'), { ...good('bb-1'), meter: 'nope' }, good('bb-2'), { ...good('bb-3'), quantity: 0 }] }, tokens.alice);
    expect(errorOf(r)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input[3].quantity' });
    const r2 = await gw.gql(REPORT_BATCH, { input: [good('bb-0'), { ...good('bb-1'), meter: 'nope' }, good('bb-2'), { ...good('bb-3'), timestamp: '2100-01-01T00:00:00Z' }] }, tokens.alice);
    expect(errorOf(r2)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input[1].meter', index: 1 });
    expect(errorOf(r2)!.errors.map((e: { field: string }) => e.field)).toEqual(['input[1].meter', 'input[3].timestamp']);
    expect(await countRows(gw.orm, 'usage_records')).toBe(before);
    // Too many records, and another customer's record inside a customer's batch.
    const tooMany = Array.from({ length: 1001 }, (_, i) => good(`tm-${i}`));
    expect(errorOf(await gw.gql(REPORT_BATCH, { input: tooMany }, tokens.alice))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input' });
    expect(errorOf(await gw.gql(REPORT_BATCH, { input: [good('x-0'), { ...good('x-1'), customerId: 'bob' }] }, tokens.alice))?.code).toBe('FORBIDDEN');
    expect(errorOf(await gw.gql(REPORT_BATCH, { input: [{ ...good('x-2'), customerId: 'alice' }, good('x-3')] }, admin))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input[1].customerId',
    });
    expect(await countRows(gw.orm, 'usage_records')).toBe(before);
  });

  it('reports for several customers in one admin batch', async () => {
    const r = await gw.gql(
      REPORT_BATCH,
      {
        input: [
          { meter: 'api_calls', quantity: 3, timestamp: day(7), customerId: 'alice', idempotencyKey: 'multi-1' },
          { meter: 'api_calls', quantity: 4, timestamp: day(7), customerId: customers.bob, idempotencyKey: 'multi-1' },
        ],
      },
      admin,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.reportUsageBatch.map((x: { quantity: number; duplicate: boolean }) => [x.quantity, x.duplicate])).toEqual([
      [3, false],
      [4, false],
    ]);
  });
});
