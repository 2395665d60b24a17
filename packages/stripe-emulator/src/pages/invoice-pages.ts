import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { StripeError } from '../errors.js';
import { RawResponse, type Router } from '../http/router.js';
import { attachPaymentMethod } from '../resources/payment-methods.js';
import type { Stored } from '../store.js';
import { payInvoice, pendingAuthentication, type PagesContext } from './billing-bridge.js';
import { html, htmlResponse, notFoundPage, page, redirect, statusBadge, type SafeHtml } from './html.js';
import { renderInvoicePdf } from './invoice-pdf.js';
import { invoiceView, type InvoiceRecord } from './invoice-view.js';

/** The hosted invoice page (`invoice.hosted_invoice_url`). */
export function invoicePageUrl(emu: Emulator, invoiceId: string): string {
  return `${emu.baseUrl}/invoices/${encodeURIComponent(invoiceId)}`;
}

/** The invoice PDF (`invoice.invoice_pdf`). */
export function invoicePdfUrl(emu: Emulator, invoiceId: string): string {
  return `${invoicePageUrl(emu, invoiceId)}/pdf`;
}

/**
 * The card the Pay button charges: the invoice's, else its subscription's, else the customer's
 * default; without one, a new `pm_card_visa` attached to the customer (as a customer would add a card).
 */
function cardForPayment(emu: Emulator, invoice: InvoiceRecord): string {
  const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' ? (v as { id: string }).id : null);
  const customerId = idOf(invoice.customer)!;
  const subId = idOf(invoice.parent?.subscription_details?.subscription);
  const sub = subId ? emu.store.get<Stripe.Subscription & Stored>('subscription', subId) : undefined;
  const customer = emu.store.get<Stripe.Customer & Stored>('customer', customerId);
  const existing = idOf(invoice.default_payment_method) ?? idOf(sub?.default_payment_method) ?? idOf(customer?.invoice_settings?.default_payment_method) ?? idOf(customer?.default_source);
  return existing ?? attachPaymentMethod(emu, 'pm_card_visa', customerId, 'payment_method').id;
}

export function registerInvoicePages(router: Router, emu: Emulator): void {
  const ctx: PagesContext = { emu, router };
  const find = (id: string): InvoiceRecord | undefined => {
    const inv = emu.store.get<InvoiceRecord>('invoice', id);
    return inv && !(inv as { deleted?: boolean }).deleted ? inv : undefined;
  };

  router.get(
    '/invoices/:id',
    ({ params: p, path }) => {
      const paid = p.string('paid');
      const invoice = find(path.id!);
      if (!invoice) return notFoundPage('No such invoice.');
      return htmlResponse(invoicePage(emu, invoice, { notice: paid ? 'Thank you, the invoice is paid.' : undefined }));
    },
    { auth: false },
  );

  router.get(
    '/invoices/:id/pdf',
    async ({ path }) => {
      const invoice = find(path.id!);
      if (!invoice) return notFoundPage('No such invoice.');
      const pdf = await renderInvoicePdf(invoiceView(emu, invoice));
      const name = `Invoice-${(invoice.number ?? invoice.id).replace(/[^A-Za-z0-9_-]/g, '')}.pdf`;
      return new RawResponse(200, 'application/pdf', pdf, { 'Content-Disposition': `inline; filename="${name}"`, 'Cache-Control': 'no-store' });
    },
    { auth: false },
  );

  /** Form: no `payment_method` = the default card (see `cardForPayment`); or a test token. */
  router.post(
    '/invoices/:id/pay',
    ({ params: p, path }) => {
      const invoice = find(path.id!);
      if (!invoice) return notFoundPage('No such invoice.');
      try {
        const token = p.string('payment_method');
        p.done();
        const customerId = typeof invoice.customer === 'string' ? invoice.customer : invoice.customer!.id;
        const pm = token ? attachPaymentMethod(emu, token, customerId, 'payment_method').id : cardForPayment(emu, invoice);
        // The customer is on the page: a card that needs 3-D Secure shows its challenge.
        payInvoice(ctx, invoice.id, pm, 'on_session');
        if (pendingAuthentication(emu, invoice.id)) return redirect(`/invoices/${encodeURIComponent(invoice.id)}`);
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        return htmlResponse(invoicePage(emu, find(path.id!) ?? invoice, { error: err.body.message }), err.status);
      }
      return redirect(`/invoices/${encodeURIComponent(invoice.id)}?paid=1`);
    },
    { auth: false },
  );

  /**
   * The 3-D Secure challenge of a payment that waits for the customer (`requires_action`, e.g. a
   * renewal after `invoice.payment_action_required`): `result=complete` passes it and pays the
   * invoice, as confirming the PaymentIntent after Stripe.js's challenge does; `fail` leaves it open.
   */
  router.post(
    '/invoices/:id/authenticate',
    ({ params: p, path }) => {
      const invoice = find(path.id!);
      if (!invoice) return notFoundPage('No such invoice.');
      const result = p.string('result') ?? 'complete';
      p.done();
      const pi = pendingAuthentication(emu, invoice.id);
      if (!pi) return htmlResponse(invoicePage(emu, invoice, { error: 'This invoice has no payment waiting for authentication.' }), 400);
      if (result !== 'complete') return htmlResponse(invoicePage(emu, invoice, { error: 'Authentication failed. The invoice is still open.' }), 402);
      try {
        payInvoice(ctx, invoice.id, typeof pi.payment_method === 'string' ? pi.payment_method : pi.payment_method!.id, 'authenticated');
      } catch (err) {
        if (!(err instanceof StripeError)) throw err;
        return htmlResponse(invoicePage(emu, find(path.id!) ?? invoice, { error: err.body.message }), err.status);
      }
      return redirect(`/invoices/${encodeURIComponent(invoice.id)}?paid=1`);
    },
    { auth: false },
  );
}

function invoicePage(emu: Emulator, invoice: InvoiceRecord, opts: { notice?: string | undefined; error?: string } = {}): SafeHtml {
  const v = invoiceView(emu, invoice);
  const challenge = pendingAuthentication(emu, invoice.id);
  const body = html`<h1>${v.title} ${statusBadge(v.status)}</h1>
<p class="muted">${v.accountName}</p>
${opts.notice ? html`<div class="notice" role="status">${opts.notice}</div>` : null}
${opts.error ? html`<div class="error" role="alert">${opts.error}</div>` : null}
<table><tbody>
<tr><th>Invoice number</th><td>${v.number}</td></tr>
<tr><th>Billed to</th><td>${v.customerName}${v.customerName && v.customerEmail ? html`<br>` : null}${v.customerEmail}</td></tr>
<tr><th>Date of issue</th><td>${v.created}</td></tr>
${v.dueDate ? html`<tr><th>Date due</th><td>${v.dueDate}</td></tr>` : null}
${v.period ? html`<tr><th>Billing period</th><td>${v.period}</td></tr>` : null}
${v.paidAt ? html`<tr><th>Date paid</th><td>${v.paidAt}</td></tr>` : null}
</tbody></table>
<h2>Items</h2>
<table><thead><tr><th>Description</th><th>Period</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
<tbody>${v.lines.map((l) => html`<tr><td>${l.description}</td><td>${l.period}</td><td class="num">${l.quantity}</td><td class="num">${l.amount}</td></tr>`)}</tbody>
<tfoot>${v.totals.map((t) => html`<tr${t.strong ? html` class="total"` : null}><td colspan="3">${t.label}</td><td class="num">${t.amount}</td></tr>`)}</tfoot></table>
${challenge
    ? html`<div class="notice" role="status">Your bank asks you to confirm this payment (3-D Secure).</div>
<form method="post" action="/invoices/${v.id}/authenticate"><button type="submit" name="result" value="complete">Complete authentication</button>
<button type="submit" class="secondary" name="result" value="fail">Fail authentication</button></form>`
    : v.canPay
    ? html`<form method="post" action="/invoices/${v.id}/pay"><button type="submit">Pay ${v.totals.at(-1)!.amount}</button>
<button type="submit" class="secondary" name="payment_method" value="pm_card_chargeDeclined">Pay with Visa •••• 0002 (declined)</button></form>`
    : null}
<p><a href="/invoices/${v.id}/pdf">Download PDF</a></p>`;
  return page(v.title, body);
}
