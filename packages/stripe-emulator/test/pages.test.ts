import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../src/index.js';

let emu: RunningEmulator;
let stripe: Stripe;
let price: Stripe.Price;

beforeAll(async () => {
  emu = await startEmulator({ port: 0 });
  stripe = new Stripe('sk_test_pages', { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
  const product = await stripe.products.create({ name: 'Team plan' });
  price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 4250, recurring: { interval: 'month' } });
});
afterAll(() => emu.close());

/** A customer with an active subscription bought through checkout (the test-helper completion). */
async function subscribedCustomer(email: string): Promise<{ customer: string; subscription: Stripe.Subscription }> {
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer_email: email,
    line_items: [{ price: price.id, quantity: 2 }],
    success_url: 'https://app.example/done',
  });
  const done = (await stripe.rawRequest('POST', `/v1/test_helpers/checkout/sessions/${session.id}/complete`, {
    payment_method: 'pm_card_visa',
  })) as Stripe.Checkout.Session;
  const subscription = await stripe.subscriptions.retrieve(done.subscription as string);
  return { customer: done.customer as string, subscription };
}

function submit(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual' });
}

describe('billing portal', () => {
  it('announces a new session with billing_portal.session.created', async () => {
    const customer = await stripe.customers.create({ email: 'portal-event@example.com' });
    const session = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.example/account' });
    const events = await stripe.events.list({ type: 'billing_portal.session.created', limit: 100 });
    const mine = events.data.filter((e) => (e.data.object as Stripe.BillingPortal.Session).id === session.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.data.object).toEqual(JSON.parse(JSON.stringify(session, (k, v) => (k === 'lastResponse' ? undefined : v))));
  });

  it('serves a page listing the subscriptions; cancelling there sets cancel_at_period_end, renewing clears it', async () => {
    const { customer, subscription } = await subscribedCustomer('portal@example.com');
    const session = await stripe.billingPortal.sessions.create({ customer, return_url: 'https://app.example/account' });
    expect(session).toMatchObject({ object: 'billing_portal.session', customer, return_url: 'https://app.example/account', livemode: false });
    expect(session.url).toBe(`${emu.url}/portal/${session.id}`);
    expect(session.configuration).toMatch(/^bpc_/);

    const res = await fetch(session.url);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(subscription.id);
    expect(body).toContain('Team plan');
    expect(body).toContain('href="https://app.example/account"');
    const invoiceId = subscription.latest_invoice as string;
    expect(body).toContain(`/invoices/${invoiceId}`);

    const cancel = await submit(`${session.url}/subscriptions/${subscription.id}`, { action: 'cancel' });
    expect(cancel.status).toBe(303);
    expect(cancel.headers.get('location')).toContain(`/portal/${session.id}`);
    expect((await stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(true);
    const updated = await stripe.events.list({ type: 'customer.subscription.updated', limit: 100 });
    const cancelEvent = updated.data.find((e) => (e.data.object as Stripe.Subscription).id === subscription.id);
    expect(cancelEvent?.data.previous_attributes).toMatchObject({ cancel_at_period_end: false });
    expect(await (await fetch(session.url)).text()).toContain('Renew subscription');

    expect((await submit(`${session.url}/subscriptions/${subscription.id}`, { action: 'renew' })).status).toBe(303);
    expect((await stripe.subscriptions.retrieve(subscription.id)).cancel_at_period_end).toBe(false);
  });

  it('replaces the default card with a test card, and refuses a declining one', async () => {
    const { customer } = await subscribedCustomer('cards@example.com');
    const session = await stripe.billingPortal.sessions.create({ customer });
    const res = await submit(`${session.url}/payment-method`, { payment_method: 'pm_card_mastercard' });
    expect(res.status).toBe(303);
    const c = await stripe.customers.retrieve(customer, { expand: ['invoice_settings.default_payment_method'] });
    const pm = (c as Stripe.Customer).invoice_settings.default_payment_method as Stripe.PaymentMethod;
    expect(pm.card?.last4).toBe('4444');
    const declined = await submit(`${session.url}/payment-method`, { payment_method: 'pm_card_chargeDeclined' });
    expect(declined.status).toBe(402);
    expect(await declined.text()).toContain('declined');
    const after = (await stripe.customers.retrieve(customer)) as Stripe.Customer;
    expect(after.invoice_settings.default_payment_method).toBe(pm.id);
  });

  it('creates, retrieves and lists configurations; rejects bad input', async () => {
    const config = await stripe.billingPortal.configurations.create({
      features: { invoice_history: { enabled: false }, subscription_cancel: { enabled: true, mode: 'at_period_end' } },
      business_profile: { headline: 'Acme billing' },
      default_return_url: 'https://app.example/home',
    });
    expect(config).toMatchObject({ object: 'billing_portal.configuration', active: true, is_default: false, default_return_url: 'https://app.example/home' });
    expect(config.features.invoice_history.enabled).toBe(false);
    expect((await stripe.billingPortal.configurations.retrieve(config.id)).id).toBe(config.id);
    expect((await stripe.billingPortal.configurations.list()).data.map((c) => c.id)).toContain(config.id);
    const { customer } = await subscribedCustomer('configured@example.com');
    const session = await stripe.billingPortal.sessions.create({ customer, configuration: config.id });
    expect(session.return_url).toBe('https://app.example/home');
    const body = await (await fetch(session.url)).text();
    expect(body).toContain('Acme billing');
    expect(body).not.toContain('Invoice history');

    const withFlow = await stripe.billingPortal.sessions.create({
      customer,
      flow_data: { type: 'payment_method_update', after_completion: { type: 'redirect', redirect: { return_url: 'https://app.example/after' } } },
    });
    expect(withFlow.flow).toBeNull(); // accepted, not acted on: the page shows the portal home
    await expect(stripe.billingPortal.sessions.create({} as never)).rejects.toMatchObject({ param: 'customer' });
    await expect(stripe.billingPortal.sessions.create({ customer, return_url: 'javascript:alert(1)' })).rejects.toMatchObject({ param: 'return_url' });
    await expect(stripe.billingPortal.sessions.create({ customer: 'cus_nope' })).rejects.toMatchObject({ statusCode: 404, param: 'customer' });
    await expect(stripe.billingPortal.configurations.create({} as never)).rejects.toMatchObject({ param: 'features' });
    expect((await fetch(`${emu.url}/portal/bps_nope`)).status).toBe(404);
  });
});

describe('hosted invoice page and PDF', () => {
  it('shows the invoice number, lines and amounts', async () => {
    const { subscription } = await subscribedCustomer('invoice@example.com');
    const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string);
    expect(invoice.hosted_invoice_url).toBe(`${emu.url}/invoices/${invoice.id}`);
    expect(invoice.invoice_pdf).toBe(`${emu.url}/invoices/${invoice.id}/pdf`);
    const res = await fetch(invoice.hosted_invoice_url!);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(invoice.number).toBeTruthy();
    expect(body).toContain(invoice.number!);
    expect(body).toContain('$85.00');
    expect(body).toContain('invoice@example.com');
    expect(body).toContain('paid');
    expect(body).not.toContain('/pay"'); // paid: no Pay button
  });

  it('serves a real PDF', async () => {
    const { subscription } = await subscribedCustomer('pdf@example.com');
    const res = await fetch(`${emu.url}/invoices/${subscription.latest_invoice as string}/pdf`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await res.arrayBuffer());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.toString('latin1').trimEnd().endsWith('%%EOF')).toBe(true);
    const pages = /\/Type \/Pages[\s\S]*?\/Count (\d+)/.exec(pdf.toString('latin1'));
    expect(Number(pages?.[1])).toBeGreaterThan(0);
    expect((await fetch(`${emu.url}/invoices/in_nope/pdf`)).status).toBe(404);
  });

  it('pays an open invoice with the Pay button', async () => {
    const customer = await stripe.customers.create({ email: 'open@example.com' });
    const failing = await stripe.paymentMethods.attach('pm_card_chargeCustomerFail', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], payment_behavior: 'allow_incomplete' });
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(invoice.status).toBe('open');
    const page = await (await fetch(`${emu.url}/invoices/${invoice.id}`)).text();
    expect(page).toContain(`action="/invoices/${invoice.id}/pay"`);
    expect(page).toContain('$42.50');

    const failed = await submit(`${emu.url}/invoices/${invoice.id}/pay`, {});
    expect(failed.status).toBe(402);
    expect((await stripe.invoices.retrieve(invoice.id)).status).toBe('open');

    const paid = await submit(`${emu.url}/invoices/${invoice.id}/pay`, { payment_method: 'pm_card_visa' });
    expect(paid.status).toBe(303);
    expect((await stripe.invoices.retrieve(invoice.id)).status).toBe('paid');
    expect(await (await fetch(`${emu.url}${paid.headers.get('location')!}`)).text()).toContain('Thank you');
  });
});
