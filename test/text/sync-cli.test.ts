/**
 * `billing-gateway sync` and `sync --full`, run from the compiled tree against the emulator over HTTP
 * and a database of their own: a U+0000 payload and an event that cannot be applied do not stop them;
 * the latter is parked with its reason, an unreadable object is skipped with its reason, the rest goes
 * through, and the cursor moves.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliSandbox, type CliSandbox } from '../cli/support.js';
import { control } from '../support/emulator.js';

let cli: CliSandbox;
let stripe: Stripe;
const run = (args: string[]) => cli.run(args);
const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => cli.query<T>(sql, params);
const faults = (spec: Record<string, unknown>) => control(cli.emu, 'faults', spec);

beforeAll(async () => {
  cli = await startCliSandbox({ AUTH_JWT_SECRET: 'sync-cli-text-test-secret-0123456789abcdef' });
  stripe = cli.stripe;
});
afterAll(() => cli?.close());

describe('billing-gateway sync', () => {
  it('parks what it cannot apply, applies the rest (U+0000 included), moves the cursor; --full skips an unreadable object', async () => {
    const nul = await stripe.customers.create({ name: 'Nul\u0000Name' });
    const failing = await stripe.customers.create({ name: 'Unreadable' });
    await stripe.paymentMethods.attach('pm_card_visa', { customer: failing.id });
    const later = await stripe.customers.create({ name: 'Later' });
    // payment_method.attached carries no customer copy: applying it re-reads the customer, which now fails.
    await faults({ status: 500, count: 100_000, pathPrefix: `/v1/customers/${failing.id}` });
    const attached = (await stripe.events.list({ type: 'payment_method.attached' })).data[0]!;
    const newest = (await stripe.events.list({ limit: 1 })).data[0]!;

    const first = await run(['sync', '--json']);
    expect(first.code).toBe(1);
    const report = JSON.parse(first.stdout) as { events: { processed: number; failed: number; parked: { id: string; reason: string }[]; cursorAfter: { id: string } } };
    expect(report.events.parked).toEqual([{ id: attached.id, type: 'payment_method.attached', reason: expect.stringMatching(/\S/) }]);
    expect(report.events.failed).toBe(1);
    expect(report.events.cursorAfter.id).toBe(newest.id);
    expect(await query(`select id, name from customers where id in (?, ?) order by name`, [later.id, nul.id])).toEqual([
      { id: later.id, name: 'Later' },
      { id: nul.id, name: 'Nul\uFFFDName' },
    ]);
    expect(await query(`select status, last_error is not null as has_reason from webhook_events where id = ?`, [attached.id])).toEqual([{ status: 'parked', has_reason: true }]);

    // A second run lists only what is new; its full pass skips an object it cannot read and checks the rest.
    await stripe.customers.create({ name: 'Second run' });
    const ghost = 'cus_ghostcli';
    await query(`insert into customers (id, external_id, metadata, deleted, created_at, raw, synced_at) values (?, null, '{}', false, now(), '{}', now())`, [ghost]);
    await faults({ status: 500, count: 100_000, pathPrefix: `/v1/customers/${ghost}` });
    const full = await run(['sync', '--full', '--json']);
    expect(full.code).toBe(1);
    const fullReport = JSON.parse(full.stdout) as { events: { processed: number; parked: unknown[] }; full: { failed: { table: string; id: string; reason: string }[]; drift: unknown[]; checked: { customers: number } } };
    expect(fullReport.events).toMatchObject({ processed: 1, parked: [] });
    expect(fullReport.full.failed).toEqual([{ table: 'customers', id: ghost, reason: expect.stringMatching(/\S/) }]);
    // The U+0000 customer is stored as mirrored: no drift.
    expect(fullReport.full.drift).toEqual([]);
    expect(fullReport.full.checked.customers).toBe(4);
  });
});
