import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import type { Router } from '../http/router.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { idOf } from './records.js';

/** Invoice payments: the link between an invoice and the PaymentIntent that pays it. */
export function registerInvoicePaymentRoutes(router: Router, emu: Emulator): void {
  router.get('/v1/invoice_payments', ({ params: p, url }) => {
    const invoice = p.string('invoice');
    const payment = p.object('payment');
    const piFilter = payment?.string('payment_intent');
    payment?.enum('type', ['payment_intent', 'payment_record'] as const);
    const status = p.enum('status', ['canceled', 'open', 'paid'] as const);
    const list = newestFirst(emu.store.all<Stripe.InvoicePayment & Stored>('invoice_payment')).filter(
      (ip) =>
        (invoice === undefined || idOf(ip.invoice) === invoice) &&
        (piFilter === undefined || idOf(ip.payment.payment_intent) === piFilter) &&
        (status === undefined || ip.status === status),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.get('/v1/invoice_payments/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require('invoice_payment', path.id!, 'invoice_payment');
  });
}
