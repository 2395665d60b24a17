import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Subscription } from '../../src/db/entities/subscription.js';
import { Customer } from '../../src/db/entities/customer.js';
import { Invoice, InvoiceLine } from '../../src/db/entities/invoice.js';
import { startLifecycleGateway, SUBSCRIBE, type LifecycleGateway } from './harness.js';

let gw: LifecycleGateway;

beforeAll(async () => {
  gw = await startLifecycleGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('subscribe with a card', () => {
  it('creates the customer and an active subscription, and the mirror equals Stripe', async () => {
    const token = await gw.token('user_card', { email: 'card@example.com' });
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', quantity: 3, paymentMethod: 'pm_card_visa' } }, token);
    expect(errors).toBeUndefined();
    const sub = data!.subscribe.subscription;
    expect(data!.subscribe.checkoutUrl).toBeNull();
    expect(data!.subscribe.clientSecret).toBeNull();
    expect(sub).toMatchObject({ status: 'ACTIVE', isActive: true, quantity: 3, plan: { id: 'basic_monthly' }, cancelAtPeriodEnd: false });
    expect(sub.customer).toMatchObject({ externalId: 'user_card', email: 'card@example.com' });
    expect(sub.latestInvoice).toMatchObject({ status: 'PAID', total: { amount: 300, currency: 'usd' }, amountPaid: { amount: 300 } });

    // At Stripe: the customer on the sandbox clock with the external id, the card as default.
    const customer = await gw.stripe.customers.retrieve(sub.customer.id);
    if (customer.deleted) throw new Error('deleted');
    expect(customer.metadata.external_id).toBe('user_card');
    expect(customer.test_clock).toBe(gw.testClockId);
    expect(customer.invoice_settings.default_payment_method).toMatch(/^pm_/);

    await expectMirrorEqualsStripe(sub.id);

    // An immediate query (no webhook in this test) agrees with the mutation's answer.
    const read = await gw.gql(
      `{ customer { id subscriptions { id status quantity plan { id } } invoices { totalCount edges { node { id total { amount } status } } } } }`,
      {},
      token,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data!.customer).toEqual({
      id: sub.customer.id,
      subscriptions: [{ id: sub.id, status: 'ACTIVE', quantity: 3, plan: { id: 'basic_monthly' } }],
      invoices: { totalCount: 1, edges: [{ node: { id: sub.latestInvoice.id, total: { amount: 300 }, status: 'PAID' } }] },
    });
  });

  it('answers CARD_DECLINED with the decline code and leaves no subscription (declined at attach)', async () => {
    const token = await gw.token('user_declined');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_chargeDeclined' } }, token);
    expect(data).toEqual({ subscribe: null });
    expect(errors![0]!.extensions).toMatchObject({ code: 'CARD_DECLINED', declineCode: 'generic_decline' });
    const customerId = (await gw.orm.em.fork().findOneOrFail(Customer, { externalId: 'user_declined' })).id;
    const subs = await gw.stripe.subscriptions.list({ customer: customerId, status: 'all' });
    expect(subs.data).toHaveLength(0);
    expect(await gw.orm.em.fork().count(Subscription, { customerId })).toBe(0);
  });

  it('answers CARD_DECLINED when the first charge fails, with no incomplete subscription and the card detached', async () => {
    const token = await gw.token('user_charge_fail');
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_chargeCustomerFail' } }, token);
    expect(errors![0]!.extensions).toMatchObject({ code: 'CARD_DECLINED', declineCode: 'generic_decline' });
    const customerId = (await gw.orm.em.fork().findOneOrFail(Customer, { externalId: 'user_charge_fail' })).id;
    expect((await gw.stripe.subscriptions.list({ customer: customerId, status: 'all' })).data).toHaveLength(0);
    expect((await gw.stripe.customers.listPaymentMethods(customerId)).data).toHaveLength(0);
  });
});

describe('subscribe without a card', () => {
  it('returns a Checkout URL by default (no subscription yet)', async () => {
    const token = await gw.token('user_checkout');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', quantity: 2 } }, token);
    expect(errors).toBeUndefined();
    expect(data!.subscribe.subscription).toBeNull();
    expect(data!.subscribe.checkoutUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/checkout\//);
    const sessions = await gw.stripe.checkout.sessions.list({ limit: 10 });
    const session = sessions.data.find((s) => data!.subscribe.checkoutUrl === s.url)!;
    expect(session).toMatchObject({ mode: 'subscription', status: 'open' });
    const items = await gw.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data.map((i) => [i.price!.lookup_key, i.quantity])).toEqual(
      expect.arrayContaining([
        ['pro_monthly', 2],
        ['pro_monthly__api_calls', null],
      ]),
    );
  });

  it('returns the client secret of an incomplete subscription when asked (paymentFlow CLIENT_SECRET)', async () => {
    const token = await gw.token('user_elements');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentFlow: 'CLIENT_SECRET' } }, token);
    expect(errors).toBeUndefined();
    expect(data!.subscribe.clientSecret).toMatch(/^pi_\w+_secret_/);
    expect(data!.subscribe.subscription).toMatchObject({ status: 'INCOMPLETE', isActive: false, latestInvoice: { status: 'OPEN', total: { amount: 100 } } });
    await expectMirrorEqualsStripe(data!.subscribe.subscription.id);
  });

  it('starts a trial at once, without a card', async () => {
    const token = await gw.token('user_trial');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', trialDays: 14 } }, token);
    expect(errors).toBeUndefined();
    const sub = data!.subscribe.subscription;
    expect(sub).toMatchObject({ status: 'TRIALING', isActive: true, latestInvoice: { total: { amount: 0 } } });
    expect(Date.parse(sub.trialEnd) - Date.parse(sub.currentPeriodStart)).toBe(14 * 86_400_000);
    await expectMirrorEqualsStripe(sub.id);
  });

  it('charges the default card on file', async () => {
    const token = await gw.token('user_on_file');
    const first = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly', paymentMethod: 'pm_card_visa' } }, token);
    expect(first.errors).toBeUndefined();
    // Another product, no card given: the default card pays.
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly' } }, token);
    expect(errors).toBeUndefined();
    expect(data!.subscribe.checkoutUrl).toBeNull();
    expect(data!.subscribe.subscription).toMatchObject({ status: 'ACTIVE', latestInvoice: { status: 'PAID', total: { amount: 500 } } });
  });
});

describe('subscribe rules', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['an unknown plan', { plan: 'gold_monthly' }, 'plan'],
    ['a plan that is not self-serve', { plan: 'enterprise' }, 'plan'],
    ['a quantity below 1', { plan: 'basic_monthly', quantity: 0 }, 'quantity'],
    ['a bad payment method id', { plan: 'basic_monthly', paymentMethod: 'card_123' }, 'paymentMethod'],
    ['a trial of 0 days', { plan: 'basic_monthly', trialDays: 0 }, 'trialDays'],
    ['an unknown promotion code', { plan: 'basic_monthly', promotionCode: 'NOPE', paymentMethod: 'pm_card_visa' }, 'promotionCode'],
    ['a success URL that is not absolute', { plan: 'basic_monthly', successUrl: '/done' }, 'successUrl'],
  ];
  it.each(cases)('rejects %s with BAD_USER_INPUT naming the field', async (_name, input, field) => {
    const token = await gw.token('user_rules');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input }, token);
    expect(data).toEqual({ subscribe: null });
    expect(errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('rejects a quantity above 1 on a plan that is not per seat, and accepts 1', async () => {
    const token = await gw.token('user_flat');
    const many = await gw.gql(SUBSCRIBE, { input: { plan: 'flat_monthly', quantity: 2, paymentMethod: 'pm_card_visa' } }, token);
    expect(many.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    const one = await gw.gql(SUBSCRIBE, { input: { plan: 'flat_monthly', paymentMethod: 'pm_card_visa' } }, token);
    expect(one.errors).toBeUndefined();
    expect(one.data!.subscribe.subscription).toMatchObject({ quantity: 1, plan: { id: 'flat_monthly' }, latestInvoice: { total: { amount: 2000 } } });
  });

  it('answers CONFLICT for a second live subscription to the same product', async () => {
    const token = await gw.token('user_twice');
    const first = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa' } }, token);
    expect(first.errors).toBeUndefined();
    const second = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_yearly', paymentMethod: 'pm_card_visa' } }, token);
    expect(second.errors![0]!.extensions!.code).toBe('CONFLICT');
    const customerId = first.data!.subscribe.subscription.customer.id;
    expect((await gw.stripe.subscriptions.list({ customer: customerId })).data).toHaveLength(1);
  });

  it('applies a promotion code by its code', async () => {
    const coupon = await gw.stripe.coupons.create({ percent_off: 25, duration: 'forever' });
    await gw.stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'QUARTER' });
    const token = await gw.token('user_promo');
    const { data, errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'pro_monthly', quantity: 2, promotionCode: 'quarter', paymentMethod: 'pm_card_visa' } }, token);
    expect(errors).toBeUndefined();
    expect(data!.subscribe.subscription.latestInvoice.total.amount).toBe(750);
    await expectMirrorEqualsStripe(data!.subscribe.subscription.id);
  });

  it('needs a token', async () => {
    const { errors } = await gw.gql(SUBSCRIBE, { input: { plan: 'basic_monthly' } });
    expect(errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
  });
});

/** The mirror rows written by the mutation equal the objects Stripe (the emulator) returns now. */
async function expectMirrorEqualsStripe(subscriptionId: string): Promise<void> {
  const em = gw.orm.em.fork();
  const row = await em.findOneOrFail(Subscription, { id: subscriptionId });
  const sub = await gw.stripe.subscriptions.retrieve(subscriptionId);
  const licensed = sub.items.data.find((i) => i.price.recurring?.usage_type !== 'metered')!;
  expect({
    status: row.status,
    customerId: row.customerId,
    planId: row.planId,
    priceId: row.priceId,
    quantity: row.quantity,
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    currentPeriodStart: row.currentPeriodStart?.getTime(),
    currentPeriodEnd: row.currentPeriodEnd?.getTime(),
    trialEnd: row.trialEnd?.getTime() ?? null,
    canceledAt: row.canceledAt?.getTime() ?? null,
    latestInvoiceId: row.latestInvoiceId,
  }).toEqual({
    status: sub.status,
    customerId: sub.customer,
    planId: licensed.price.lookup_key,
    priceId: licensed.price.id,
    quantity: licensed.quantity,
    cancelAtPeriodEnd: sub.cancel_at_period_end,
    currentPeriodStart: licensed.current_period_start * 1000,
    currentPeriodEnd: licensed.current_period_end * 1000,
    trialEnd: sub.trial_end ? sub.trial_end * 1000 : null,
    canceledAt: sub.canceled_at ? sub.canceled_at * 1000 : null,
    latestInvoiceId: sub.latest_invoice,
  });
  const invoice = await gw.stripe.invoices.retrieve(sub.latest_invoice as string);
  const invRow = await em.findOneOrFail(Invoice, { id: invoice.id });
  expect({ status: invRow.status, total: invRow.total, amountDue: invRow.amountDue, amountPaid: invRow.amountPaid, customerId: invRow.customerId, subscriptionId: invRow.subscriptionId }).toEqual({
    status: invoice.status,
    total: invoice.total,
    amountDue: invoice.amount_due,
    amountPaid: invoice.amount_paid,
    customerId: invoice.customer,
    subscriptionId,
  });
  const lines = await em.find(InvoiceLine, { invoiceId: invoice.id }, { orderBy: { position: 'asc' } });
  const stripeLines = (await gw.stripe.invoices.listLineItems(invoice.id, { limit: 100 })).data;
  expect(lines.map((l) => [l.id, l.amount, l.quantity])).toEqual(stripeLines.map((l) => [l.id, l.amount, l.quantity]));
  const customer = await em.findOneOrFail(Customer, { id: row.customerId });
  const stripeCustomer = await gw.stripe.customers.retrieve(row.customerId);
  if (stripeCustomer.deleted) throw new Error('deleted');
  expect({ email: customer.email, externalId: customer.externalId, testClock: customer.testClock }).toEqual({
    email: stripeCustomer.email,
    externalId: stripeCustomer.metadata.external_id,
    testClock: stripeCustomer.test_clock,
  });
}

