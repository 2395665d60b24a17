/**
 * Plan changes on the sandbox test clock: an upgrade halfway through a period is previewed and then
 * billed to the cent as Stripe's proration rules give (each line rounded to the cent); a downgrade is
 * credited on the next renewal. Time is the test clock's, so the preview and the change happen at the
 * same instant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Invoice } from '../../src/db/entities/invoice.js';
import { Subscription } from '../../src/db/entities/subscription.js';
import { startLifecycleGateway, SUBSCRIBE, SUBSCRIPTION_FIELDS, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

const UPCOMING = /* GraphQL */ `
  query ($id: ID!, $plan: ID, $quantity: Int) {
    upcomingInvoice(subscriptionId: $id, plan: $plan, quantity: $quantity) {
      id status total { amount currency } amountDue { amount }
      lines { description amount { amount } quantity proration periodStart periodEnd }
    }
  }
`;
const CHANGE_PLAN = /* GraphQL */ `
  mutation ($input: ChangePlanInput!) { changePlan(input: $input) { ${SUBSCRIPTION_FIELDS} } }
`;

describe('plan changes with proration', () => {
  let upgraded: string;
  let downgraded: string;
  let upgradeToken: string;
  let downgradeToken: string;

  beforeAll(async () => {
    // Both subscribe at the clock's start (2026-03-01), so their period is March (31 days).
    upgradeToken = await gw.token('user_upgrade');
    downgradeToken = await gw.token('user_downgrade');
    const up = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', quantity: 3, paymentMethod: 'pm_card_visa' } }, upgradeToken);
    const down = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', quantity: 3, paymentMethod: 'pm_card_visa' } }, downgradeToken);
    expect(up.errors).toBeUndefined();
    expect(down.errors).toBeUndefined();
    upgraded = up.data!.subscribe.subscription.id;
    downgraded = down.data!.subscribe.subscription.id;
    // Halfway: 15.5 of 31 days.
    await gw.advanceClock(15.5 * 86_400);
  });

  it('previews the upgrade basic_monthly ×3 → pro_monthly ×3 halfway through the period, then bills exactly that', async () => {
    const preview = await gw.gql(UPCOMING, { id: upgraded, plan: 'pro_monthly', quantity: 3 }, upgradeToken);
    expect(preview.errors).toBeUndefined();
    const inv = preview.data!.upcomingInvoice;
    // Unused half of 3 × $1.00 credited, remaining half of 3 × $5.00 charged.
    const amounts = inv.lines.filter((l: any) => l.proration).map((l: any) => l.amount.amount).sort((a: number, b: number) => a - b);
    expect(amounts).toEqual([-150, 750]);
    expect(inv.total).toEqual({ amount: 600, currency: 'usd' });
    expect(inv.id).toMatch(/^upcoming_in/);
    // The preview is not stored.
    expect(await gw.orm.em.fork().count(Invoice, { id: inv.id })).toBe(0);

    const changed = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: upgraded, plan: 'pro_monthly' } }, upgradeToken);
    expect(changed.errors).toBeUndefined();
    const sub = changed.data!.changePlan;
    expect(sub).toMatchObject({ status: 'ACTIVE', plan: { id: 'pro_monthly' }, quantity: 3 });
    // Billed now, to the cent, as previewed.
    expect(sub.latestInvoice).toMatchObject({ status: 'PAID', total: { amount: 600 }, amountPaid: { amount: 600 } });
    expect(sub.latestInvoice.lines.map((l: any) => l.amount.amount).sort((a: number, b: number) => a - b)).toEqual([-150, 750]);

    // The mirror agrees with Stripe at once (no webhook in this test).
    const stripeSub = await gw.stripe.subscriptions.retrieve(upgraded);
    const row = await gw.orm.em.fork().findOneOrFail(Subscription, { id: upgraded });
    expect(row).toMatchObject({ planId: 'pro_monthly', quantity: 3, latestInvoiceId: stripeSub.latest_invoice });
    const stripeInvoice = await gw.stripe.invoices.retrieve(stripeSub.latest_invoice as string);
    expect(stripeInvoice).toMatchObject({ total: 600, amount_paid: 600, status: 'paid', billing_reason: 'subscription_update' });
    // The metered item followed the plan: the pro meter price now.
    expect(stripeSub.items.data.map((i) => i.price.lookup_key).sort()).toEqual(['pro_monthly', 'pro_monthly__api_calls']);
  });

  it('credits a downgrade pro_monthly ×3 → basic_monthly ×3 on the next renewal invoice (nothing billed now)', async () => {
    const before = (await gw.stripe.invoices.list({ subscription: downgraded })).data.length;
    const preview = await gw.gql(UPCOMING, { id: downgraded, plan: 'basic_monthly' }, downgradeToken);
    expect(preview.errors).toBeUndefined();
    const inv = preview.data!.upcomingInvoice;
    const prorations = inv.lines.filter((l: any) => l.proration).map((l: any) => l.amount.amount).sort((a: number, b: number) => a - b);
    expect(prorations).toEqual([-750, 150]);
    // The renewal: April at 3 × $1.00 plus the net credit of -$6.00.
    expect(inv.total.amount).toBe(300 - 600);

    const changed = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: downgraded, plan: 'basic_monthly' } }, downgradeToken);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.changePlan).toMatchObject({ plan: { id: 'basic_monthly' }, quantity: 3 });
    expect((await gw.stripe.invoices.list({ subscription: downgraded })).data).toHaveLength(before);
    const pending = await gw.stripe.invoiceItems.list({ customer: changed.data!.changePlan.customer.id, pending: true });
    expect(pending.data.map((i) => i.amount).sort((a, b) => a - b)).toEqual([-750, 150]);
  });

  it('changes the seat count only, and refuses seats below 1', async () => {
    const more = await gw.gql(UPCOMING, { id: upgraded, quantity: 5 }, upgradeToken);
    expect(more.errors).toBeUndefined();
    const bad = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: upgraded, plan: 'pro_monthly', quantity: 0 } }, upgradeToken);
    expect(bad.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    const unknown = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: upgraded, plan: 'enterprise' } }, upgradeToken);
    expect(unknown.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'plan' });
  });

  it('applies no proration with prorate: false', async () => {
    const token = await gw.token('user_noprorate');
    const sub = (await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token)).data!.subscribe.subscription;
    const changed = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: sub.id, plan: 'pro_monthly', quantity: 2, prorate: false } }, token);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.changePlan).toMatchObject({ plan: { id: 'pro_monthly' }, quantity: 2, latestInvoice: { id: sub.latestInvoice.id } });
    expect((await gw.stripe.invoiceItems.list({ customer: sub.customer.id, pending: true })).data).toHaveLength(0);
  });

  it('with a fixed prorationDate, bills exactly what the preview with the same date showed', async () => {
    const token = await gw.token('user_fixed_date');
    const sub = (await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token)).data!.subscribe.subscription;
    // 10 days into a 31-day period (Mar 16 12:00 → Apr 16 12:00): 21/31 of it remains.
    const at = new Date(Date.parse(sub.currentPeriodStart) + 10 * 86_400_000).toISOString();
    const preview = await gw.gql(
      `query ($id: ID!, $at: DateTime) { upcomingInvoice(subscriptionId: $id, plan: "pro_monthly", prorationDate: $at) { total { amount } lines { amount { amount } proration } } }`,
      { id: sub.id, at },
      token,
    );
    expect(preview.errors).toBeUndefined();
    // round(100 × 21/31) = 68 credited, round(500 × 21/31) = 339 charged.
    expect(preview.data!.upcomingInvoice.lines.map((l: any) => l.amount.amount).sort((a: number, b: number) => a - b)).toEqual([-68, 339]);
    expect(preview.data!.upcomingInvoice.total.amount).toBe(271);
    const changed = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: sub.id, plan: 'pro_monthly', prorationDate: at } }, token);
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.changePlan.latestInvoice).toMatchObject({ status: 'PAID', total: { amount: 271 } });
    const outside = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: sub.id, plan: 'pro_monthly', quantity: 2, prorationDate: '2020-01-01T00:00:00Z' } }, token);
    expect(outside.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'prorationDate' });
  });

  it('monthly → yearly: restarts the cycle and invoices at once, as Stripe does (preview = bill)', async () => {
    const token = await gw.token('user_to_yearly');
    const sub = (await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa' } }, token)).data!.subscribe.subscription;
    // Changed at the instant the month began: the whole $5.00 month is unused and credited.
    const preview = await gw.gql(UPCOMING, { id: sub.id, plan: 'pro_yearly' }, token);
    expect(preview.errors).toBeUndefined();
    expect(preview.data!.upcomingInvoice.total).toEqual({ amount: 5000 - 500, currency: 'usd' });
    const r = await gw.gql(CHANGE_PLAN, { input: { subscriptionId: sub.id, plan: 'pro_yearly' } }, token);
    expect(r.errors).toBeUndefined();
    const changed = r.data!.changePlan;
    expect(changed).toMatchObject({ plan: { id: 'pro_yearly' }, latestInvoice: { status: 'PAID', total: { amount: 4500 } } });
    expect(changed.latestInvoice.id).not.toBe(sub.latestInvoice.id);
    const start = new Date(changed.currentPeriodStart);
    const end = new Date(changed.currentPeriodEnd);
    expect(end.getUTCFullYear() - start.getUTCFullYear()).toBe(1);
    expect([end.getUTCMonth(), end.getUTCDate()]).toEqual([start.getUTCMonth(), start.getUTCDate()]);
    const atStripe = await gw.stripe.subscriptions.retrieve(sub.id);
    expect(atStripe.items.data.map((i) => i.price.lookup_key)).toContain('pro_yearly');
  });
});
