import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError } from '../errors.js';
import type { Router } from '../http/router.js';
import type { CustomerRecord } from '../resources/customers.js';
import type { PaymentMethodRecord } from '../resources/payment-methods.js';
import type { Stored } from '../store.js';
import { priceAmount } from './amounts.js';
import { attachDefaultCard, setCancelAtPeriodEnd, setSubscriptionPaymentMethod, type PagesContext } from './billing-bridge.js';
import { formatDate, formatInterval, formatMoney, html, htmlResponse, notFoundPage, page, redirect, statusBadge, type SafeHtml } from './html.js';
import { invoicePageUrl } from './invoice-pages.js';
import { PORTAL_SESSION_KIND, portalConfigurationOf, registerPortalApi, type PortalSessionRecord } from './portal-sessions.js';

type SubscriptionRecord = Stripe.Subscription & Stored;
type InvoiceRecord = Stripe.Invoice & Stored;

/** Cards the portal offers as a replacement default (Stripe's test PaymentMethod tokens). */
const PORTAL_TEST_CARDS = [
  { token: 'pm_card_visa', label: 'Visa •••• 4242' },
  { token: 'pm_card_mastercard', label: 'Mastercard •••• 4444' },
  { token: 'pm_card_chargeCustomerFail', label: 'Visa •••• 0341 (charges fail)' },
  { token: 'pm_card_chargeDeclined', label: 'Visa •••• 0002 (declined)' },
] as const;

/** Statuses in which a subscription can still be set to cancel at period end (or renewed). */
const CHANGEABLE = new Set(['active', 'trialing', 'past_due']);

const NOTICES: Record<string, string> = {
  canceled: 'Your subscription will be canceled at the end of the current period.',
  renewed: 'Your subscription will renew.',
  card: 'Your default card was updated.',
};

export function registerPortal(router: Router, emu: Emulator): void {
  const ctx: PagesContext = { emu, router };
  registerPortalApi(router, emu);

  const sessionOf = (id: string): PortalSessionRecord | undefined => emu.store.get<PortalSessionRecord>(PORTAL_SESSION_KIND, id);

  router.get(
    '/portal/:id',
    ({ params: p, path }) => {
      const notice = p.string('notice');
      const session = sessionOf(path.id!);
      if (!session) return notFoundPage('No such billing portal session.');
      return htmlResponse(portalPage(emu, session, { notice: notice ? NOTICES[notice] : undefined }));
    },
    { auth: false },
  );

  /** Form: `action=cancel` (cancel at period end) or `action=renew`. */
  router.post(
    '/portal/:id/subscriptions/:subscription',
    ({ params: p, path }) => {
      const session = sessionOf(path.id!);
      if (!session) return notFoundPage('No such billing portal session.');
      try {
        const action = p.enum('action', ['cancel', 'renew'] as const, { required: true });
        p.done();
        const sub = emu.store.get<SubscriptionRecord>('subscription', path.subscription!);
        if (!sub || sub.customer !== session.customer) return notFoundPage('No such subscription for this customer.');
        if (!portalConfigurationOf(emu, session).features.subscription_cancel.enabled) {
          throw new StripeError(400, { type: 'invalid_request_error', message: 'Cancellation is not enabled in this portal.' });
        }
        if (!CHANGEABLE.has(sub.status)) {
          throw new StripeError(400, { type: 'invalid_request_error', message: `A ${sub.status} subscription cannot be changed.` });
        }
        setCancelAtPeriodEnd(ctx, sub.id, action === 'cancel');
        return redirect(`/portal/${encodeURIComponent(session.id)}?notice=${action === 'cancel' ? 'canceled' : 'renewed'}`);
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        return htmlResponse(portalPage(emu, session, { error: err.body.message }), err.status);
      }
    },
    { auth: false },
  );

  /** Form: `payment_method=<test token>` becomes the default card of the customer and its live subscriptions. */
  router.post(
    '/portal/:id/payment-method',
    ({ params: p, path }) => {
      const session = sessionOf(path.id!);
      if (!session) return notFoundPage('No such billing portal session.');
      try {
        const token = p.string('payment_method', { required: true });
        p.done();
        if (!portalConfigurationOf(emu, session).features.payment_method_update.enabled) {
          throw new StripeError(400, { type: 'invalid_request_error', message: 'Updating payment methods is not enabled in this portal.' });
        }
        const pm = attachDefaultCard(ctx, session.customer, token);
        // Stripe's portal makes the new card the default for the customer's subscriptions too.
        for (const sub of customerSubscriptions(emu, session.customer)) {
          if (CHANGEABLE.has(sub.status) && sub.default_payment_method) setSubscriptionPaymentMethod(ctx, sub.id, pm.id);
        }
        return redirect(`/portal/${encodeURIComponent(session.id)}?notice=card`);
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        return htmlResponse(portalPage(emu, session, { error: err.body.message }), err.status);
      }
    },
    { auth: false },
  );
}

function customerSubscriptions(emu: Emulator, customerId: string): SubscriptionRecord[] {
  return emu.store
    .all<SubscriptionRecord>('subscription')
    .filter((s) => s.customer === customerId)
    .reverse();
}

function customerInvoices(emu: Emulator, customerId: string): InvoiceRecord[] {
  return emu.store
    .all<InvoiceRecord>('invoice')
    .filter((i) => i.customer === customerId && i.status !== 'draft')
    .reverse();
}

function productName(emu: Emulator, price: Stripe.Price): string {
  const productId = typeof price.product === 'string' ? price.product : price.product.id;
  return emu.store.get<Stripe.Product & Stored>('product', productId)?.name ?? price.nickname ?? price.id;
}

function subscriptionBlock(emu: Emulator, session: PortalSessionRecord, sub: SubscriptionRecord, canCancel: boolean): SafeHtml {
  const items = sub.items.data;
  const periodEnd = items[0]?.current_period_end ?? null;
  const lines = items.map((item) => {
    const metered = item.price.recurring?.usage_type === 'metered';
    const amount = metered ? 'billed by usage' : formatMoney(priceAmount(emu, item.price, item.quantity ?? 1), item.price.currency);
    return html`<div>${productName(emu, item.price)}${!metered && (item.quantity ?? 1) > 1 ? html` × ${item.quantity}` : null} · ${amount} ${formatInterval(item.price.recurring)}</div>`;
  });
  let state: SafeHtml | null = null;
  if (sub.status === 'trialing' && sub.trial_end) state = html`Trial ends ${formatDate(sub.trial_end)}.`;
  if (sub.cancel_at_period_end) state = html`Cancels on ${formatDate(sub.cancel_at ?? periodEnd)}.`;
  else if (sub.status === 'canceled') state = html`Canceled on ${formatDate(sub.ended_at ?? sub.canceled_at)}.`;
  else if (CHANGEABLE.has(sub.status) && periodEnd) state = html`${state} Renews on ${formatDate(periodEnd)}.`;
  const action = sub.cancel_at_period_end ? 'renew' : 'cancel';
  const button =
    canCancel && CHANGEABLE.has(sub.status)
      ? html`<form class="inline" method="post" action="/portal/${session.id}/subscriptions/${sub.id}">
<input type="hidden" name="action" value="${action}"><button type="submit"${action === 'cancel' ? html` class="secondary"` : null}>${action === 'cancel' ? 'Cancel subscription' : 'Renew subscription'}</button></form>`
      : null;
  return html`<tr id="${sub.id}"><td>${lines}<div class="muted">${state}</div></td><td>${statusBadge(sub.status)}</td><td class="num">${button}</td></tr>`;
}

function portalPage(emu: Emulator, session: PortalSessionRecord, opts: { notice?: string | undefined; error?: string } = {}): SafeHtml {
  const config = portalConfigurationOf(emu, session);
  const customer = emu.store.get<CustomerRecord>('customer', session.customer);
  const subs = customerSubscriptions(emu, session.customer);
  const invoices = customerInvoices(emu, session.customer).slice(0, 24);
  const defaultPmId = customer?.invoice_settings?.default_payment_method;
  const pm = typeof defaultPmId === 'string' ? emu.store.get<PaymentMethodRecord>('payment_method', defaultPmId) : undefined;
  const f = config.features;

  const subscriptions = html`<h2>Subscriptions</h2>
${subs.length === 0 ? html`<p class="muted">No subscriptions.</p>` : html`<table><tbody>${subs.map((s) => subscriptionBlock(emu, session, s, f.subscription_cancel.enabled))}</tbody></table>`}`;

  const card = f.payment_method_update.enabled
    ? html`<h2>Payment method</h2>
<p>${pm?.card ? html`${pm.card.brand} •••• ${pm.card.last4}, expires ${pm.card.exp_month}/${pm.card.exp_year}` : html`<span class="muted">No default card.</span>`}</p>
<form method="post" action="/portal/${session.id}/payment-method">${PORTAL_TEST_CARDS.map(
        (c) => html`<button type="submit" class="secondary" name="payment_method" value="${c.token}">Use ${c.label}</button>`,
      )}</form>`
    : null;

  const history = f.invoice_history.enabled
    ? html`<h2>Invoice history</h2>
${invoices.length === 0 ? html`<p class="muted">No invoices yet.</p>` : html`<table><thead><tr><th>Date</th><th>Invoice</th><th>Status</th><th class="num">Amount</th></tr></thead><tbody>${invoices.map(
          (i) => html`<tr><td>${formatDate(i.created)}</td><td><a href="${i.hosted_invoice_url ?? invoicePageUrl(emu, i.id)}">${i.number ?? i.id}</a></td><td>${statusBadge(i.status)}</td><td class="num">${formatMoney(i.total, i.currency)}</td></tr>`,
        )}</tbody></table>`}`
    : null;

  const body = html`<h1>${config.business_profile.headline ?? 'Manage your billing'}</h1>
<p class="muted">${customer?.name ?? ''} ${customer?.email ?? session.customer}</p>
${opts.notice ? html`<div class="notice" role="status">${opts.notice}</div>` : null}
${opts.error ? html`<div class="error" role="alert">${opts.error}</div>` : null}
${subscriptions}${card}${history}
${session.return_url ? html`<p><a href="${session.return_url}">← Return</a></p>` : null}`;
  return page('Billing portal', body);
}
