/**
 * The dunning timeline, end to end over HTTP: a pro_monthly customer whose card
 * starts failing (`pm_card_chargeCustomerFail`) is renewed on the sandbox test clock; the charge fails and
 * the access state walks GRACE (days 0, 1, 4) → SOFT_SUSPENDED (day 7) → SUSPENDED (day 8) on the
 * clock's frozen time (the test advances the clock, never sleeps for a schedule); replacing the card with
 * `pm_card_visa` and paying the invoice brings it back to ACTIVE. A real HTTP receiver gets the signed
 * notifications, in order; each step is a PAYMENT_FAILED BillingEvent with the attempt number. A late
 * `invoice.payment_failed`, delivered after the invoice was paid, changes nothing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOOK_SECRET, startDunningGateway, startReceiver, type DunningGateway, type Receiver, retryOnDaysThreeAndSix } from './support.js';
import { eventually } from '../support/eventually.js';

let t: DunningGateway;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  t = await startDunningGateway({ DUNNING_WEBHOOK_URL: receiver.url, DUNNING_WEBHOOK_SECRET: HOOK_SECRET, DUNNING_TICK_SECONDS: '1' });
  await retryOnDaysThreeAndSix(t.emulatorUrl);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const ACCESS = `{ customer { id accessState subscriptions { id status currentPeriodEnd } } }`;

interface Notification {
  id: string;
  type: string;
  step: string | null;
  day: number | null;
  attempt: number;
  accessState: string | null;
  closeReason: string | null;
  customerId: string;
  invoiceId: string;
  billingEventId: string | null;
  occurredAt: string;
}

/**
 * Verifies `Billing-Gateway-Signature: t=…,v1=…` over the raw body, as a receiver would: the HMAC, and a
 * signing time within 5 minutes of when the request arrived (not of now: the test may run longer).
 */
function verified(body: string, header: string | string[] | undefined, receivedAt: number): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(header));
  if (!m) return false;
  const expected = createHmac('sha256', HOOK_SECRET).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) && Math.abs(receivedAt / 1000 - Number(m[1])) < 300;
}

function notifications(): Notification[] {
  return receiver.received.map((r) => {
    expect(verified(r.body, r.headers['billing-gateway-signature'], r.receivedAt)).toBe(true);
    return JSON.parse(r.body) as Notification;
  });
}

async function waitForNotifications(n: number): Promise<Notification[]> {
  await eventually(`${n} dunning notifications`, async () => receiver.received.length >= n);
  return notifications();
}

describe('dunning on a test clock', () => {
  let token: string;
  let customerId: string;
  let subscriptionId: string;
  let failedAt: number;
  let invoiceId: string;

  const access = async () => {
    const r = await t.gql(ACCESS, {}, token);
    expect(r.errors).toBeUndefined();
    return r.data.customer.accessState as string;
  };

  it('a failed renewal opens a case: GRACE on day 0, nothing notified yet', async () => {
    token = await t.token('dunned_user');
    const sub = await t.gql(
      `mutation ($input: SubscribeInput!) { subscribe(input: $input) { subscription { id status currentPeriodEnd customer { id } } } }`,
      { input: { plan: 'pro_monthly', paymentMethod: 'pm_card_visa', idempotencyKey: 'dunning-sub-1' } },
      token,
    );
    expect(sub.errors).toBeUndefined();
    subscriptionId = sub.data.subscribe.subscription.id;
    customerId = sub.data.subscribe.subscription.customer.id;
    await t.settle();
    expect(await access()).toBe('ACTIVE');

    // The customer's card starts failing: a new card, made the default as a portal would.
    const failing = await t.stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customerId });
    await t.stripe.customers.update(customerId, { invoice_settings: { default_payment_method: failing.id } });
    await t.stripe.subscriptions.update(subscriptionId, { default_payment_method: failing.id });

    // The renewal invoice is drafted at the period end and charged an hour later: day 0 of dunning.
    const periodEnd = Date.parse(sub.data.subscribe.subscription.currentPeriodEnd) / 1000;
    failedAt = periodEnd + 3600;
    await t.advanceTo(failedAt);
    const renewal = (await t.stripe.invoices.list({ subscription: subscriptionId, status: 'open' })).data[0]!;
    expect(renewal).toMatchObject({ attempt_count: 1, amount_due: 500 });
    invoiceId = renewal.id!;

    expect(await access()).toBe('GRACE');
    const cases = await t.sql<{ status: string; attempt: number; step: number; invoice_id: string; opened_at: Date }>(
      'select status, attempt, step, invoice_id, opened_at from dunning_cases where customer_id = ?',
      [customerId],
    );
    expect(cases).toHaveLength(1);
    expect(cases[0]).toMatchObject({ status: 'open', attempt: 1, step: 0, invoice_id: invoiceId });
    // Day 0 is the failure on the customer's clock (the test clock), not wall time.
    expect(new Date(cases[0]!.opened_at).getTime()).toBe(failedAt * 1000);
    expect(receiver.received).toHaveLength(0);
  });

  it('day 1: reminder (GRACE); day 4: warning (GRACE); day 7: SOFT_SUSPENDED; day 8: SUSPENDED', async () => {
    await t.advanceTo(failedAt + 1 * DAY);
    expect(await access()).toBe('GRACE');
    expect((await waitForNotifications(1)).map((n) => [n.step, n.day, n.attempt, n.accessState])).toEqual([['reminder', 1, 1, 'GRACE']]);

    await t.advanceTo(failedAt + 3 * DAY); // Stripe's first retry fails: attempt 2
    expect(await access()).toBe('GRACE');
    await t.advanceTo(failedAt + 4 * DAY);
    expect(await access()).toBe('GRACE');
    expect((await waitForNotifications(2)).at(-1)).toMatchObject({ step: 'warning', day: 4, attempt: 2, accessState: 'GRACE' });

    await t.advanceTo(failedAt + 6 * DAY); // second retry fails: attempt 3
    expect(await access()).toBe('GRACE');
    await t.advanceTo(failedAt + 7 * DAY);
    expect(await access()).toBe('SOFT_SUSPENDED');
    expect((await waitForNotifications(3)).at(-1)).toMatchObject({ step: 'soft_suspension', day: 7, attempt: 3, accessState: 'SOFT_SUSPENDED' });

    await t.advanceTo(failedAt + 8 * DAY);
    expect(await access()).toBe('SUSPENDED');
    expect((await waitForNotifications(4)).at(-1)).toMatchObject({ step: 'suspension', day: 8, attempt: 3, accessState: 'SUSPENDED' });

    // An admin sees the same through Customer.accessState of any customer.
    const admin = await t.gql(`query ($id: ID!) { customer(id: $id) { accessState } }`, { id: customerId }, await t.token('ops', 'admin'));
    expect(admin.data.customer.accessState).toBe('SUSPENDED');
  });

  it('a new card and the invoice paid close the case: ACTIVE', async () => {
    const visa = await t.stripe.paymentMethods.attach('pm_card_visa', { customer: customerId });
    await t.stripe.customers.update(customerId, { invoice_settings: { default_payment_method: visa.id } });
    await t.stripe.subscriptions.update(subscriptionId, { default_payment_method: visa.id });
    const paid = await t.stripe.invoices.pay(invoiceId);
    expect(paid.status).toBe('paid');
    await t.settle();
    expect(await access()).toBe('ACTIVE');
    const cases = await t.sql<{ status: string; close_reason: string }>('select status, close_reason from dunning_cases where customer_id = ?', [customerId]);
    expect(cases).toEqual([{ status: 'closed', close_reason: 'paid' }]);

    // Every notification, in order, each signed and for this customer's invoice.
    const seen = await waitForNotifications(5);
    expect(seen.map((n) => `${n.type}:${n.step ?? n.closeReason}`)).toEqual([
      'dunning.step:reminder',
      'dunning.step:warning',
      'dunning.step:soft_suspension',
      'dunning.step:suspension',
      'dunning.closed:paid',
    ]);
    expect(new Set(seen.map((n) => n.id)).size).toBe(5);
    for (const n of seen) expect(n).toMatchObject({ customerId, invoiceId });
    // occurredAt is the customer's clock: the step's day after the failure.
    expect(seen.slice(0, 4).map((n) => (Date.parse(n.occurredAt) / 1000 - failedAt) / DAY)).toEqual([1, 4, 7, 8]);

    // PAYMENT_FAILED BillingEvents: one per Stripe attempt, one per step (naming it), in order.
    const events = await t.sql<{ id: string; message: string }>(
      `select id, message from billing_events where customer_id = ? and type = 'PAYMENT_FAILED' order by created_at`,
      [customerId],
    );
    expect(events.map((e) => e.message.replace(customerId, 'cus'))).toEqual([
      'payment_failed customer=cus retry=1',
      'payment_failed customer=cus retry=1 step=reminder day=1',
      'payment_failed customer=cus retry=2',
      'payment_failed customer=cus retry=2 step=warning day=4',
      'payment_failed customer=cus retry=3',
      'payment_failed customer=cus retry=3 step=soft_suspension day=7',
      'payment_failed customer=cus retry=3 step=suspension day=8',
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${t.gw.port}/metrics`)).text();
    for (const action of ['reminder', 'warning', 'soft_suspension', 'suspension']) expect(metrics).toContain(`billing_dunning_steps_total{action="${action}"} 1`);
    expect(metrics).toContain('billing_dunning_cases_total{event="closed_paid"} 1');
    // Each step's notification names its BillingEvent.
    expect(seen.slice(0, 4).map((n) => n.billingEventId)).toEqual([events[1]!.id, events[3]!.id, events[5]!.id, events[6]!.id]);
  });

  it('a late invoice.payment_failed, delivered after the invoice was paid, suspends no one', async () => {
    // The failure of attempt 3 as Stripe sent it, delivered again under a new event id (a late delivery).
    let original: import('stripe').Stripe.Event | undefined;
    for await (const e of t.stripe.events.list({ type: 'invoice.payment_failed', limit: 100 })) {
      if ((e.data.object as { id?: string }).id === invoiceId && (e.data.object as { attempt_count: number }).attempt_count === 3) original = e;
    }
    expect(original).toBeDefined();
    const late = { ...original!, id: 'evt_late_payment_failed_1' };
    const payload = JSON.stringify(late);
    const signature = t.stripe.webhooks.generateTestHeaderString({ payload, secret: t.gw.stripe.webhookSecret! });
    const res = await fetch(`http://127.0.0.1:${t.gw.port}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: payload,
    });
    expect(res.status).toBe(200);
    await eventually('the late event to be processed', async () => {
      const rows = await t.sql<{ status: string }>(`select status from webhook_events where id = 'evt_late_payment_failed_1'`);
      return rows[0]?.status === 'processed';
    });
    const before = receiver.received.length;
    // The ticker runs every second: give it a run after the event.
    await t.gw.dunning.ticker.runNow();
    expect(await access()).toBe('ACTIVE');
    expect(await t.sql(`select status from dunning_cases where customer_id = ?`, [customerId])).toEqual([{ status: 'closed' }]);
    expect(receiver.received).toHaveLength(before);
    const failures = await t.sql<{ n: string | number }>(`select count(*) as n from billing_events where customer_id = ? and type = 'PAYMENT_FAILED'`, [customerId]);
    expect(Number(failures[0]!.n)).toBe(7);
  });
});
