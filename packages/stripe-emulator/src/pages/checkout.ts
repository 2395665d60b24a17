import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError } from '../errors.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata } from '../resources/common.js';
import { priceAmount } from './amounts.js';
import type { PagesContext } from './billing-bridge.js';
import {
  applyPromotionCode,
  completeCheckout,
  couponOf,
  createCheckoutSession,
  expireSession,
  refreshExpiry,
  sessionLineItems,
  sessionSubscriptionData,
  SESSION_KIND,
  successUrlFor,
  type CheckoutSessionRecord,
} from './checkout-sessions.js';
import { formatDateTime, formatInterval, formatMoney, html, htmlResponse, notFoundPage, page, redirect, type SafeHtml } from './html.js';

/** Test cards offered on the hosted page (Stripe's test PaymentMethod tokens). */
export const CHECKOUT_TEST_CARDS = [
  { token: 'pm_card_visa', label: 'Pay with Visa •••• 4242', note: 'succeeds' },
  { token: 'pm_card_chargeDeclined', label: 'Pay with Visa •••• 0002', note: 'declined' },
  { token: 'pm_card_chargeCustomerFail', label: 'Pay with Visa •••• 0341', note: 'attaches, then the charge fails' },
] as const;

export function registerCheckout(router: Router, emu: Emulator): void {
  const ctx: PagesContext = { emu, router };
  const find = (id: string): CheckoutSessionRecord =>
    refreshExpiry(emu, emu.store.require<CheckoutSessionRecord>(SESSION_KIND, id, 'checkout.session'));

  emu.includable(SESSION_KIND, 'line_items', (session) => ({
    object: 'list',
    data: sessionLineItems(emu, session.id),
    has_more: false,
    url: `/v1/checkout/sessions/${session.id}/line_items`,
  }));

  // Sessions of customers on a test clock expire while the clock advances (with their event);
  // others expire when next looked at.
  emu.onClockAdvance((clock, _from, to) => {
    for (const s of emu.store.all<CheckoutSessionRecord>(SESSION_KIND)) {
      if (s.status === 'open' && s.expires_at <= to && emu.clockIdOf(s) === clock.id) expireSession(emu, s, s.expires_at);
    }
  });

  router.post('/v1/checkout/sessions', ({ params }) => createCheckoutSession(ctx, params));

  router.get('/v1/checkout/sessions/:id', ({ params: p, path }) => {
    p.done();
    return find(path.id!);
  });

  router.post('/v1/checkout/sessions/:id', ({ params: p, path }) => {
    const session = find(path.id!);
    const metadata = p.metadata();
    p.done();
    session.metadata = mergeMetadata((session.metadata ?? {}) as Record<string, string>, metadata);
    emu.store.changed();
    return session;
  });

  router.get('/v1/checkout/sessions', ({ params: p, url }) => {
    const customer = p.string('customer');
    const subscription = p.string('subscription');
    const status = p.enum('status', ['open', 'complete', 'expired'] as const);
    const paymentIntent = p.string('payment_intent');
    const details = p.object('customer_details');
    const email = details?.string('email', { required: true });
    const created = createdFilter(p);
    const sessions = emu.store.all<CheckoutSessionRecord>(SESSION_KIND).map((s) => refreshExpiry(emu, s));
    const list = newestFirst(sessions).filter(
      (s) =>
        (customer === undefined || s.customer === customer) &&
        (subscription === undefined || s.subscription === subscription) &&
        (status === undefined || s.status === status) &&
        (paymentIntent === undefined || s.payment_intent === paymentIntent) &&
        (email === undefined || s.customer_details?.email === email || s.customer_email === email) &&
        (!created || created(s.created)),
    );
    const result = paginate(list, p, url);
    p.done();
    return result;
  });

  router.post('/v1/checkout/sessions/:id/expire', ({ params: p, path }) => {
    p.done();
    return expireSession(emu, find(path.id!));
  });

  router.get('/v1/checkout/sessions/:id/line_items', ({ params: p, path, url }) => {
    const session = find(path.id!);
    // Line items list in the order they were given, as at Stripe.
    const result = paginate(sessionLineItems(emu, session.id), p, url);
    p.done();
    return result;
  });

  /**
   * Emulator extension (not in Stripe's API): completes an open session as if the customer had paid
   * on the hosted page, for tests that do not want to drive HTML. `payment_method` is a test token
   * or PaymentMethod id (default `pm_card_visa`); a declining card answers 402 and completes nothing.
   * Call it with `stripe.rawRequest('POST', '/v1/test_helpers/checkout/sessions/<id>/complete', { payment_method })`.
   */
  router.post('/v1/test_helpers/checkout/sessions/:id/complete', async ({ params: p, path }) => {
    const session = find(path.id!);
    const paymentMethod = p.string('payment_method') ?? 'pm_card_visa';
    p.done();
    return completeCheckout(ctx, session, paymentMethod);
  });

  /**
   * What Checkout's own page calls (not in Stripe's published API, but what `stripe trigger
   * checkout.session.completed` drives): read the session, then confirm it with a card;
   * `expected_amount` must match the session's total.
   */
  router.get('/v1/payment_pages/:id', ({ params: p, path }) => {
    p.done();
    return find(path.id!);
  });
  router.post('/v1/payment_pages/:id/confirm', async ({ params: p, path }) => {
    const session = find(path.id!);
    const paymentMethod = p.string('payment_method', { required: true });
    const expected = p.int('expected_amount', { min: 0 });
    p.done();
    if (expected !== undefined && expected !== (session.amount_total ?? 0)) {
      throw new StripeError(400, { type: 'invalid_request_error', code: 'checkout_amount_mismatch', message: `The expected amount (${expected}) does not match the session's total (${session.amount_total ?? 0}).`, param: 'expected_amount' });
    }
    return completeCheckout(ctx, session, paymentMethod);
  });

  // The hosted page: no API key, plain HTML forms.
  router.get(
    '/checkout/:id',
    ({ path }) => {
      const session = emu.store.get<CheckoutSessionRecord>(SESSION_KIND, path.id!);
      if (!session) return notFoundPage('No such checkout session.');
      refreshExpiry(emu, session);
      return htmlResponse(checkoutPage(emu, session));
    },
    { auth: false },
  );

  router.post(
    '/checkout/:id',
    async ({ params: p, path }) => {
      const session = emu.store.get<CheckoutSessionRecord>(SESSION_KIND, path.id!);
      if (!session) return notFoundPage('No such checkout session.');
      // A repeated submit (back button, double click) of a completed session buys nothing more.
      if (session.status === 'complete') return redirect(successUrlFor(session) ?? `/checkout/${encodeURIComponent(session.id)}`);
      try {
        const promotionCode = p.has('promotion_code') ? (p.string('promotion_code') ?? '') : undefined;
        const paymentMethod = promotionCode === undefined ? p.string('payment_method', { required: true }) : p.string('payment_method');
        const email = p.string('email');
        p.done();
        if (promotionCode !== undefined) {
          // The "Apply" button: reprice, then show the page again (post/redirect/get).
          applyPromotionCode(emu, session, promotionCode);
          return redirect(`/checkout/${encodeURIComponent(session.id)}`);
        }
        await completeCheckout(ctx, session, paymentMethod!, email ? { email } : {});
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        return htmlResponse(checkoutPage(emu, session, err.body.message), err.status);
      }
      return redirect(successUrlFor(session) ?? `/checkout/${encodeURIComponent(session.id)}`);
    },
    { auth: false },
  );
}

function checkoutPage(emu: Emulator, session: CheckoutSessionRecord, error?: string): SafeHtml {
  const items = sessionLineItems(emu, session.id);
  const data = sessionSubscriptionData(emu, session.id);
  const currency = session.currency;
  const customer = typeof session.customer === 'string' ? emu.store.get<Stripe.Customer & Stored>('customer', session.customer) : null;
  const email = session.customer_details?.email ?? session.customer_email ?? customer?.email ?? null;
  const coupon = session.discounts?.[0] ? couponOf(emu, session.discounts[0]) : null;
  const recurringTotal = items.reduce((s, li) => {
    return li.price ? s + priceAmount(emu, li.price, li.quantity ?? 0) : s;
  }, 0);
  const interval = items[0]?.price?.recurring ?? null;

  const rows = items.map((li) => {
    const p = li.price;
    const metered = p?.recurring?.usage_type === 'metered';
    const unit = metered ? 'billed by usage' : p?.billing_scheme === 'tiered' ? 'tiered pricing' : formatMoney(p?.unit_amount, currency);
    return html`<tr><td>${li.description ?? p?.id}<div class="muted">${unit} ${formatInterval(p?.recurring)}</div></td>
<td class="num">${metered ? '—' : li.quantity}</td><td class="num">${formatMoney(li.amount_subtotal, currency)}</td></tr>`;
  });

  let body: SafeHtml;
  if (session.status === 'complete') {
    const next = successUrlFor(session);
    body = html`<h1>${session.mode === 'subscription' ? 'Thanks for subscribing' : session.mode === 'payment' ? 'Thanks for your payment' : 'Your card is saved'}</h1><p>This checkout session is complete.</p>
${next ? html`<p><a href="${next}">Continue</a></p>` : null}`;
  } else if (session.status === 'expired') {
    body = html`<h1>This checkout session has expired</h1><p class="muted">Start again from the site you came from.</p>
${session.cancel_url ? html`<p><a href="${session.cancel_url}">Return</a></p>` : null}`;
  } else {
    const cards = CHECKOUT_TEST_CARDS.map(
      (c, i) => html`<button type="submit" name="payment_method" value="${c.token}"${i > 0 ? html` class="secondary"` : null}>${c.label}</button> <span class="muted">${c.note}</span><br>`,
    );
    body = html`<h1>${session.mode === 'subscription' ? 'Subscribe' : session.mode === 'payment' ? 'Pay' : 'Save a card'}</h1>
${email ? html`<p class="muted">${email}</p>` : null}
${error ? html`<div class="error" role="alert">${error}</div>` : null}
<table><thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Today</th></tr></thead><tbody>${rows}</tbody>
<tfoot>
${session.total_details?.amount_discount ? html`<tr><td colspan="2">Discount${coupon?.name ? html` (${coupon.name})` : null}</td><td class="num">−${formatMoney(session.total_details.amount_discount, currency)}</td></tr>` : null}
<tr class="total"><td colspan="2">Total due today</td><td class="num" id="total">${formatMoney(session.amount_total, currency)}</td></tr></tfoot></table>
${session.mode !== 'subscription' ? null : data.trial_period_days ? html`<div class="notice">${data.trial_period_days}-day free trial, then ${formatMoney(recurringTotal, currency)} ${formatInterval(interval)}.</div>` : html`<p class="muted">Then ${formatMoney(recurringTotal, currency)} ${formatInterval(interval)}${items.some((li) => li.price?.recurring?.usage_type === 'metered') ? ' plus usage' : ''}.</p>`}
${session.allow_promotion_codes && !session.discounts?.length
      ? html`<form method="post" action="/checkout/${session.id}"><label>Promotion code <input name="promotion_code" autocomplete="off"></label> <button type="submit" class="secondary">Apply</button></form>`
      : null}
<form method="post" action="/checkout/${session.id}">
${session.customer || session.customer_email ? null : html`<p><label>Email <input type="email" name="email" autocomplete="email"></label></p>`}
${cards}
</form>
<p class="muted">Expires ${formatDateTime(session.expires_at)}.${session.cancel_url ? html` <a href="${session.cancel_url}">Cancel and return</a>` : null}</p>`;
  }
  return page('Checkout', body);
}
