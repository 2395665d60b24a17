import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meteredLookupKey } from '../../src/catalog.js';
import { Invoice, InvoiceLine } from '../../src/db/entities/index.js';
import { MirrorInputError, fetchAllLines, invoiceRow, mirrorObject, upsertInvoice } from '../../src/stripe/mirror/index.js';
import { countStatements } from '../support/db.js';
import { DAY, JAN_1_2026, json, mirrorWorld, seconds, type MirrorWorld } from './support.js';
import { advanceClock } from '../support/test-clock.js';

let w: MirrorWorld;
let clock: Stripe.TestHelpers.TestClock;
let customer: Stripe.Customer;
let sub: Stripe.Subscription;

beforeAll(async () => {
  w = await mirrorWorld();
  clock = await w.stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  customer = await w.stripe.customers.create({ email: 'inv@example.com', test_clock: clock.id });
  const pm = await w.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  customer = await w.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  sub = await w.stripe.subscriptions.create({
    customer: customer.id,
    items: [{ price: w.prices.get('basic_monthly')!.id, quantity: 3 }, { price: w.prices.get(meteredLookupKey('basic_monthly', 'api_calls'))!.id }],
    trial_period_days: 14,
  });
  // Past the trial: the first real invoice is issued and paid.
  await advanceClock(w.stripe, clock.id, JAN_1_2026 + 15 * DAY);
});
afterAll(() => w?.close());

const em = () => w.db.orm.em.fork();
const lineRows = (invoiceId: string) => em().find(InvoiceLine, { invoiceId }, { orderBy: { position: 'asc' } });
const allInvoices = async (): Promise<Stripe.Invoice[]> => {
  const out: Stripe.Invoice[] = [];
  for await (const inv of w.stripe.invoices.list({ customer: customer.id, limit: 100 })) out.push(inv);
  return out;
};

/** The mirror against Stripe's copy, with expectations written from Stripe's fields. */
async function expectInvoiceMirror(invoiceId: string) {
  const inv = await w.stripe.invoices.retrieve(invoiceId);
  const lines = await fetchAllLines(w.stripe, inv);
  const row = await em().findOneOrFail(Invoice, { id: invoiceId });
  expect(row).toMatchObject({
    id: inv.id,
    customerId: inv.customer,
    subscriptionId: inv.parent?.subscription_details?.subscription ?? null,
    number: inv.number,
    status: inv.status,
    billingReason: inv.billing_reason,
    currency: inv.currency,
    subtotal: inv.subtotal,
    total: inv.total,
    amountDue: inv.amount_due,
    amountPaid: inv.amount_paid,
    attemptCount: inv.attempt_count,
    hostedInvoiceUrl: inv.hosted_invoice_url,
    invoicePdf: inv.invoice_pdf,
    testClock: inv.test_clock,
  });
  expect(seconds(row.paidAt)).toBe(inv.status_transitions.paid_at);
  expect(seconds(row.createdAt)).toBe(inv.created);
  expect(seconds(row.periodStart)).toBe(inv.period_start);
  expect(seconds(row.periodEnd)).toBe(inv.period_end);
  expect(seconds(row.dueDate)).toBe(inv.due_date);
  expect(seconds(row.nextPaymentAttempt)).toBe(inv.next_payment_attempt);
  expect(row.raw).toEqual(json(inv));
  const rows = await lineRows(invoiceId);
  expect(
    rows.map((l) => ({ id: l.id, amount: l.amount, currency: l.currency, description: l.description, quantity: l.quantity, priceId: l.priceId, proration: l.proration, start: seconds(l.periodStart), end: seconds(l.periodEnd), position: l.position })),
  ).toEqual(
    lines.map((l, position) => ({
      id: l.id,
      amount: l.amount,
      currency: l.currency,
      description: l.description,
      quantity: l.quantity,
      priceId: l.pricing?.price_details?.price ?? null,
      proration: l.parent?.subscription_item_details?.proration ?? false,
      start: l.period.start,
      end: l.period.end,
      position,
    })),
  );
  return { inv, row, lines: rows };
}

describe('upsertInvoice', () => {
  it('mirrors every invoice of a subscription (trial, then the paid renewal) with its lines', async () => {
    const invoices = await allInvoices();
    expect(invoices.length).toBeGreaterThanOrEqual(2);
    for (const inv of invoices) {
      const { count, statements } = await countStatements(w.db.orm, () => upsertInvoice(em(), inv, { lines: inv.lines.data }));
      // begin, invoice upsert, lines upsert, stale lines delete, commit.
      expect(count, statements.join('\n')).toBeLessThanOrEqual(5);
    }
    for (const inv of invoices) await expectInvoiceMirror(inv.id);

    const renewal = invoices.find((i) => i.amount_paid > 0)!;
    const { row, lines } = await expectInvoiceMirror(renewal.id);
    expect(row.status).toBe('paid');
    expect(row.paidAt).not.toBeNull();
    expect(row.subscriptionId).toBe(sub.id);
    expect(lines.map((l) => l.priceId)).toContain(w.prices.get('basic_monthly')!.id);
  });

  it('upserting twice changes nothing and keeps one row per invoice and line', async () => {
    const [inv] = await allInvoices();
    const before = await em().findOneOrFail(Invoice, { id: inv!.id });
    const beforeLines = await lineRows(inv!.id);
    await upsertInvoice(em(), inv!);
    await upsertInvoice(em(), inv!);
    const after = await em().findOneOrFail(Invoice, { id: inv!.id });
    const { syncedAt: _a, ...b } = before;
    const { syncedAt: _b, ...a } = after;
    expect(a).toEqual(b);
    expect(await lineRows(inv!.id)).toEqual(beforeLines);
    expect(await em().count(Invoice, { id: inv!.id })).toBe(1);
  });

  it('stores Stripe’s Decimal values as the strings the column reads back, without touching the caller’s copy', async () => {
    const [listed] = await allInvoices();
    const inv = await w.stripe.invoices.retrieve(listed!.id, { expand: ['customer'] });
    // The SDK turns decimal strings (unit_amount_decimal…) into Decimal instances: at least one here.
    const decimals: string[] = [];
    const walk = (v: unknown, path: string): void => {
      if (!v || typeof v !== 'object') return;
      if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype) decimals.push(path);
      else for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(inv, '');
    expect(decimals.length).toBeGreaterThan(0);

    const raw = invoiceRow(inv).raw as unknown as Record<string, unknown>;
    const expected = json({ ...inv, customer: customer.id }) as Record<string, unknown>;
    delete expected.confirmation_secret;
    delete expected.payments;
    // Plain JSON values all the way down, equal to what the round trip through JSON gives.
    expect(raw).toStrictEqual(expected);
    // Collapsing the customer to its id changed the stored copy only.
    expect((inv.customer as Stripe.Customer).id).toBe(customer.id);
    await upsertInvoice(em(), inv);
    // What convergence compares a same-second payload with: the stored copy, read back.
    expect((await em().findOneOrFail(Invoice, { id: inv.id })).raw).toStrictEqual(raw);
  });

  it('marks proration lines of an upgrade invoice as Stripe does', async () => {
    const licensed = sub.items.data.find((i) => i.price.recurring?.usage_type !== 'metered')!;
    const updated = await w.stripe.subscriptions.update(sub.id, {
      items: [{ id: licensed.id, quantity: 5 }],
      proration_behavior: 'always_invoice',
      expand: ['latest_invoice'],
    });
    const inv = updated.latest_invoice as Stripe.Invoice;
    expect(inv.lines.data.some((l) => l.parent?.subscription_item_details?.proration)).toBe(true);
    const results = await mirrorObject(em(), inv, { catalog: w.catalog, lastEventAt: new Date((JAN_1_2026 + 15 * DAY) * 1000) });
    expect(results).toEqual([{ kind: 'invoice', id: inv.id, action: 'upserted' }]);
    const { lines, row } = await expectInvoiceMirror(inv.id);
    expect(lines.some((l) => l.proration)).toBe(true);
    expect(row.lastEventAt).toEqual(new Date((JAN_1_2026 + 15 * DAY) * 1000));
  });

  it('deletes lines no longer on the invoice', async () => {
    const [inv] = (await allInvoices()).filter((i) => i.lines.data.length >= 2);
    const fewer = json(inv) as Stripe.Invoice;
    fewer.lines.data = fewer.lines.data.slice(1);
    await upsertInvoice(em(), fewer);
    expect((await lineRows(inv!.id)).map((l) => l.id)).toEqual(inv!.lines.data.slice(1).map((l) => l.id));
    await upsertInvoice(em(), inv!);
    expect((await lineRows(inv!.id)).map((l) => l.id)).toEqual(inv!.lines.data.map((l) => l.id));
  });

  it('a truncated line list is refused without the full list; fetchAllLines pages through it', async () => {
    // A manual invoice with 7 lines, read as if Stripe had inlined only part of them.
    for (let i = 1; i <= 7; i++) await w.stripe.invoiceItems.create({ customer: customer.id, amount: 100 * i, currency: 'usd', description: `item ${i}` });
    const draft = await w.stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect(draft.lines.data).toHaveLength(7);
    const truncated = json(draft) as Stripe.Invoice;
    truncated.lines = { ...truncated.lines, data: truncated.lines.data.slice(0, 2), has_more: true };

    await expect(upsertInvoice(em(), truncated)).rejects.toThrow(MirrorInputError);
    expect(await em().count(Invoice, { id: draft.id })).toBe(0);

    const all = await fetchAllLines(w.stripe, truncated, 3);
    expect(all.map((l) => l.id)).toEqual(draft.lines.data.map((l) => l.id));
    await upsertInvoice(em(), truncated, { lines: all });
    expect((await lineRows(draft.id)).map((l) => l.amount)).toEqual(draft.lines.data.map((l) => l.amount));
    const stored = await em().findOneOrFail(Invoice, { id: draft.id });
    expect(stored.raw.lines).toMatchObject({ has_more: false, data: json(draft.lines.data) });

    // mirrorObject with a client fetches the missing lines itself.
    await em().nativeDelete(InvoiceLine, { invoiceId: draft.id });
    await mirrorObject(em(), truncated, { catalog: w.catalog, stripe: w.stripe });
    expect(await lineRows(draft.id)).toHaveLength(7);

    // invoice.deleted (a deleted draft) removes the invoice and its lines.
    await w.stripe.invoices.del(draft.id);
    expect(await mirrorObject(em(), draft, { catalog: w.catalog, eventType: 'invoice.deleted' })).toEqual([{ kind: 'invoice', id: draft.id, action: 'deleted' }]);
    expect(await em().count(Invoice, { id: draft.id })).toBe(0);
    expect(await em().count(InvoiceLine, { invoiceId: draft.id })).toBe(0);
  });

  it('skips previews and objects it does not mirror', async () => {
    const preview = await w.stripe.invoices.createPreview({ subscription: sub.id });
    const [result] = await mirrorObject(em(), preview, { catalog: w.catalog });
    expect(result).toMatchObject({ kind: 'skipped', object: 'invoice' });
    const pm = await w.stripe.paymentMethods.retrieve(customer.invoice_settings.default_payment_method as string);
    expect(await mirrorObject(em(), pm, { catalog: w.catalog })).toEqual([{ kind: 'skipped', object: 'payment_method', id: pm.id, reason: 'not mirrored' }]);
  });
});
