/**
 * Real Stripe objects (from the emulator, through the SDK), mirrored with the mirror's own upserts,
 * then read over HTTP GraphQL: what the gateway answers must be what Stripe says.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXTERNAL_ID_METADATA_KEY, SUBSCRIPTION_MIRROR_EXPAND, upsertCustomer, upsertInvoice, upsertSubscription } from '../../src/stripe/mirror/index.js';
import { unstoredInvoiceOf } from '../../src/billing/invoices/invoice-view.js';
import { toUnstoredInvoice } from '../../src/graphql/types/invoice.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { JAN_1_2026, mirrorWorld, type MirrorWorld } from '../mirror/support.js';
import { advanceClock } from '../support/test-clock.js';

let w: MirrorWorld;
let gw: TestGateway;
let sub: Stripe.Subscription;
let invoices: Stripe.Invoice[];

const iso = (unix: number | null | undefined) => (typeof unix === 'number' ? new Date(unix * 1000).toISOString() : null);

beforeAll(async () => {
  w = await mirrorWorld();
  const clock = await w.stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
  let customer = await w.stripe.customers.create({ email: 'emu@example.com', test_clock: clock.id, metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user_emu' } });
  const pm = await w.stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  customer = await w.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const created = await w.stripe.subscriptions.create({ customer: customer.id, items: [{ price: w.prices.get('basic_monthly')!.id, quantity: 3 }] });
  // An upgrade halfway through the month, invoiced at once: a second invoice with proration lines.
  await advanceClock(w.stripe, clock.id, JAN_1_2026 + 15 * 86_400);
  const licensed = created.items.data[0]!;
  await w.stripe.subscriptions.update(created.id, {
    items: [{ id: licensed.id, price: w.prices.get('pro_monthly')!.id, quantity: 3 }],
    proration_behavior: 'always_invoice',
  });
  sub = await w.stripe.subscriptions.retrieve(created.id, { expand: [...SUBSCRIPTION_MIRROR_EXPAND] });
  invoices = (await w.stripe.invoices.list({ customer: customer.id, limit: 100 })).data;

  const em = w.db.orm.em.fork();
  await upsertCustomer(em, customer);
  await upsertSubscription(em, sub, w.catalog);
  for (const inv of invoices) await upsertInvoice(em, inv);
  gw = await startTestGateway({}, { orm: w.db.orm });
});
afterAll(async () => {
  await gw?.close();
  await w?.close();
});

describe('mirrored emulator objects over GraphQL', () => {
  it('answers the subscription as Stripe has it, with its latest invoice and lines', async () => {
    const q = /* GraphQL */ `
      query {
        customer {
          id externalId mrr { amount currency }
          subscriptions {
            id status isActive quantity cancelAtPeriodEnd currentPeriodStart currentPeriodEnd
            plan { id } mrr { amount currency }
            latestInvoice { id status total { amount } amountPaid { amount } lines { amount { amount } quantity proration periodStart periodEnd } }
          }
        }
      }
    `;
    const { body } = await gw.gql(q, {}, await gw.token('user_emu'));
    expect(body.errors).toBeUndefined();
    const c = body.data!.customer;
    expect(c).toMatchObject({ id: sub.customer, externalId: 'user_emu', mrr: { amount: 1500, currency: 'usd' } });
    const item = sub.items.data[0]!;
    expect(c.subscriptions).toHaveLength(1);
    const s = c.subscriptions[0];
    expect(s).toMatchObject({
      id: sub.id,
      status: sub.status.toUpperCase(),
      isActive: true,
      quantity: item.quantity,
      cancelAtPeriodEnd: sub.cancel_at_period_end,
      currentPeriodStart: iso(item.current_period_start),
      currentPeriodEnd: iso(item.current_period_end),
      plan: { id: 'pro_monthly' },
      mrr: { amount: 1500, currency: 'usd' },
    });
    const latest = invoices.find((i) => i.id === (typeof sub.latest_invoice === 'string' ? sub.latest_invoice : sub.latest_invoice?.id))!;
    expect(s.latestInvoice).toEqual({
      id: latest.id,
      status: latest.status!.toUpperCase(),
      total: { amount: latest.total },
      amountPaid: { amount: latest.amount_paid },
      lines: latest.lines.data.map((l) => ({
        amount: { amount: l.amount },
        quantity: l.quantity,
        proration: l.parent?.subscription_item_details?.proration ?? false,
        periodStart: iso(l.period.start),
        periodEnd: iso(l.period.end),
      })),
    });
    expect(s.latestInvoice.lines.some((l: { proration: boolean }) => l.proration)).toBe(true);
  });

  it('lists the invoices newest first with Stripe amounts and URLs', async () => {
    const q = /* GraphQL */ `
      query { invoices { totalCount edges { node { id number status total { amount } amountDue { amount } createdAt hostedInvoiceUrl pdfUrl subscription { id } } } } }
    `;
    const { body } = await gw.gql(q, {}, await gw.token('user_emu'));
    expect(body.errors).toBeUndefined();
    const expected = [...invoices].sort((a, b) => b.created - a.created || (b.id < a.id ? -1 : 1));
    expect(body.data!.invoices.totalCount).toBe(invoices.length);
    expect(body.data!.invoices.edges.map((e: { node: unknown }) => e.node)).toEqual(
      expected.map((i) => ({
        id: i.id,
        number: i.number,
        status: i.status!.toUpperCase(),
        total: { amount: i.total },
        amountDue: { amount: i.amount_due },
        createdAt: iso(i.created),
        hostedInvoiceUrl: i.hosted_invoice_url ?? null,
        pdfUrl: i.invoice_pdf ?? null,
        subscription: { id: sub.id },
      })),
    );
  });

  it('builds an Invoice node from an unstored preview, its lines inline', async () => {
    const preview = await w.stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0]!.id, price: w.prices.get('pro_yearly')!.id, quantity: 3 }] },
    });
    const node = toUnstoredInvoice(unstoredInvoiceOf(preview, `upcoming_${sub.id}`));
    expect(node.id).toBe(preview.id ?? `upcoming_${sub.id}`);
    expect(node.total).toMatchObject({ amount: preview.total, currency: preview.currency });
    expect(node.amountDue.amount).toBe(preview.amount_due);
    expect(node.subscriptionId).toBe(sub.id);
    expect(node.customerId).toBe(sub.customer);
    expect(node.inlineLines!.map((l) => l.amount.amount)).toEqual(preview.lines.data.map((l) => l.amount));
    expect(node.inlineLines!.reduce((sum, l) => sum + l.amount.amount, 0)).toBe(preview.subtotal);
  });
});
