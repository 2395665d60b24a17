/**
 * `sync --full` into a new mirror: the lists are the truth (canceled subscriptions included), so no
 * event history is replayed; the events cursor is set to the listing's start, so the events sync
 * after it processes only what changed meanwhile; a cursor Stripe no longer holds (older than its
 * 30-day event retention) is treated the same way. Pages of the lists are written together, each
 * object as its one-by-one writer would; a page the database refuses is redone object by object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullSyncEventsStart } from '../../src/stripe/sync/backfill.js';
import { readEventsCursor, syncFull, syncMissedEvents, writeEventsCursor } from '../../src/stripe/sync/index.js';
import { gateway, planPrice, stripeSide, type Gateway, type StripeSide } from './support.js';

let side: StripeSide;
let gw: Gateway;

beforeAll(async () => {
  side = await stripeSide();
  gw = await gateway(side);
});
afterAll(async () => {
  await gw?.close();
  await side?.close();
});

const sql = <T = Record<string, unknown>>(q: string, params: unknown[] = []) => gw.orm.em.getConnection().execute<T[]>(q, params);

describe('sync --full into a new mirror', () => {
  it('lists every object, canceled subscriptions and coupons included, replays no history, and starts the events cursor at the listing', async () => {
    const price = await planPrice(side.stripe, 'pro_monthly');
    const coupon = await side.stripe.coupons.create({ percent_off: 25, duration: 'forever' });
    const made: { customer: string; sub: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const customer = await side.stripe.customers.create({ email: `full${i}@example.com`, metadata: { external_id: `full_user_${i}` } });
      await side.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
      const pm = (await side.stripe.paymentMethods.list({ customer: customer.id })).data[0]!;
      await side.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await side.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id, quantity: i + 1 }],
        ...(i === 1 ? { discounts: [{ coupon: coupon.id }] } : {}),
      });
      made.push({ customer: customer.id, sub: sub.id });
    }
    await side.stripe.subscriptions.cancel(made[2]!.sub);
    // Two Stripe customers with one external id: the first mirrored keeps it, as one by one.
    const twin = await side.stripe.customers.create({ email: 'twin@example.com', metadata: { external_id: 'full_user_0' } });
    const newest = (await side.stripe.events.list({ limit: 1 })).data[0]!;

    const start = await fullSyncEventsStart(gw.orm, side.stripe);
    expect(start).toEqual({ replay: false });
    expect(await readEventsCursor(gw.orm.em.fork())).toEqual({ id: newest.id, created: newest.created });

    const report = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(report.failed).toEqual([]);
    expect(report.checked.customers).toBe(4);
    expect(report.checked.subscriptions).toBe(3);
    expect(report.checked.invoices).toBeGreaterThanOrEqual(3);
    expect(report.drift.every((d) => d.kind === 'missing')).toBe(true);
    expect(report.drift).toHaveLength(report.checked.customers + report.checked.subscriptions + report.checked.invoices);

    expect(await sql(`select id, status, quantity, discount is not null as discounted from subscriptions order by quantity`)).toEqual([
      { id: made[0]!.sub, status: 'active', quantity: 1, discounted: false },
      { id: made[1]!.sub, status: 'active', quantity: 2, discounted: true },
      { id: made[2]!.sub, status: 'canceled', quantity: 3, discounted: false },
    ]);
    const externalIds = await sql<{ id: string; external_id: string | null }>(`select id, external_id from customers where email in ('full0@example.com', 'twin@example.com')`);
    expect(externalIds.filter((c) => c.external_id === 'full_user_0')).toHaveLength(1);
    expect(externalIds.map((c) => c.id).sort()).toEqual([made[0]!.customer, twin.id].sort());
    // Every invoice with its lines, in Stripe's order.
    for (const inv of (await side.stripe.invoices.list({ limit: 100 })).data) {
      const lines = await sql<{ id: string }>(`select id from invoice_lines where invoice_id = ? order by position`, [inv.id]);
      expect(lines.map((l) => l.id)).toEqual(inv.lines.data.map((l) => l.id));
    }
    // Written as the one-by-one writers would: a second run finds nothing to repair but the twin that
    // could not claim the external id (its row always lacks it, as when mirrored one by one).
    const loser = externalIds.find((c) => c.external_id === null)!.id;
    expect((await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog })).drift).toEqual([{ table: 'customers', id: loser, kind: 'changed', fields: ['externalId'] }]);

    // No history replayed: the events sync after the listing reads only what came after its start.
    await side.stripe.customers.update(made[0]!.customer, { email: 'changed@example.com' });
    const after = await syncMissedEvents({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(after.cursorBefore).toEqual({ id: newest.id, created: newest.created });
    expect(after.listed).toBe(1);
    expect(after.processed).toBe(1);
    expect(await sql(`select email from customers where id = ?`, [made[0]!.customer])).toEqual([{ email: 'changed@example.com' }]);
  });

  it('redoes a page the database refuses object by object: the one bad subscription and invoice are skipped with their reasons, the rest written', async () => {
    const price = await planPrice(side.stripe, 'pro_monthly');
    const made: { customer: string; sub: string; invoice: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const customer = await side.stripe.customers.create({ email: `refused${i}@example.com` });
      await side.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
      const pm = (await side.stripe.paymentMethods.list({ customer: customer.id })).data[0]!;
      await side.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await side.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id, quantity: 2 }] });
      made.push({ customer: customer.id, sub: sub.id, invoice: String(sub.latest_invoice) });
    }
    const [bad, good] = made as [(typeof made)[0], (typeof made)[0]];
    await sql(`alter table subscriptions add constraint full_sync_refused check (id <> '${bad.sub}')`);
    await sql(`alter table invoices add constraint full_sync_refused check (id <> '${bad.invoice}')`);
    try {
      const report = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
      expect(report.failed.map((f) => [f.table, f.id]).sort()).toEqual(
        [
          ['invoices', bad.invoice],
          ['subscriptions', bad.sub],
        ].sort(),
      );
      expect(report.failed.every((f) => /full_sync_refused/.test(f.reason))).toBe(true);
    } finally {
      await sql(`alter table subscriptions drop constraint full_sync_refused`);
      await sql(`alter table invoices drop constraint full_sync_refused`);
    }
    // The rest of each page went through, as its writer writes it: the row, its items, its MRR point.
    expect(await sql(`select id, quantity from subscriptions where id in (?, ?)`, [bad.sub, good.sub])).toEqual([{ id: good.sub, quantity: 2 }]);
    expect(await sql(`select count(*)::int as n from subscription_items where subscription_id = ?`, [good.sub])).toEqual([{ n: 1 }]);
    expect((await sql<{ n: number }>(`select count(*)::int as n from subscription_mrr_points where subscription_id = ?`, [good.sub]))[0]!.n).toBeGreaterThan(0);
    expect(await sql(`select id from invoices where id in (?, ?)`, [bad.invoice, good.invoice])).toEqual([{ id: good.invoice }]);
    // Once the database takes them, the next run writes them: nothing else of these differs.
    const again = await syncFull({ orm: gw.orm, stripe: side.stripe, catalog: side.catalog });
    expect(again.failed).toEqual([]);
    const ours = new Set(made.flatMap((m) => [m.customer, m.sub, m.invoice]));
    expect(again.drift.filter((d) => ours.has(d.id)).map((d) => [d.table, d.id, d.kind]).sort()).toEqual(
      [
        ['invoices', bad.invoice, 'missing'],
        ['subscriptions', bad.sub, 'missing'],
      ].sort(),
    );
  });

  it('catches up the events of a cursor Stripe still holds; one it no longer holds (past its retention) restarts at the newest event', async () => {
    await side.stripe.customers.create({ email: 'cursor@example.com' });
    const held = (await side.stripe.events.list({ limit: 1 })).data[0]!;
    await writeEventsCursor(gw.orm.em.fork(), { id: held.id, created: held.created });
    expect(await fullSyncEventsStart(gw.orm, side.stripe)).toEqual({ replay: true });
    expect(await readEventsCursor(gw.orm.em.fork())).toEqual({ id: held.id, created: held.created });

    await writeEventsCursor(gw.orm.em.fork(), { id: 'evt_gone_past_retention', created: held.created - 40 * 86_400 });
    await side.stripe.customers.create({ email: 'cursor2@example.com' });
    const newest = (await side.stripe.events.list({ limit: 1 })).data[0]!;
    expect(await fullSyncEventsStart(gw.orm, side.stripe)).toEqual({ replay: false });
    expect(await readEventsCursor(gw.orm.em.fork())).toEqual({ id: newest.id, created: newest.created });
  });
});
