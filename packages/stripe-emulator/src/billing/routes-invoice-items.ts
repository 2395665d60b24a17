import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest } from '../errors.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import { recomputeTotals } from './invoices.js';
import { unitTimesQuantity } from './money.js';
import { idOf, type InvoiceItemRecord, type InvoiceRecord, type PriceRecord } from './records.js';
import { requireCustomer, requireInvoice } from './routes-invoices.js';

/** Invoice items: pending ones (picked up by the next invoice) or added to a draft invoice at once. */
export function registerInvoiceItemRoutes(router: Router, emu: Emulator): void {
  router.post('/v1/invoiceitems', ({ params: p }) => {
    const customer = p.string('customer', { required: true });
    const amount = p.int('amount');
    const currency = p.currency('currency');
    const description = p.string('description');
    const invoice = p.string('invoice');
    const subscription = p.string('subscription');
    const metadata = p.metadata();
    const discountable = p.bool('discountable');
    const quantity = p.int('quantity', { min: 0 });
    const unitAmountDecimal = p.decimal('unit_amount_decimal');
    const pricing = p.object('pricing');
    const priceId = pricing?.string('price') ?? p.string('price');
    const periodP = p.object('period');
    const period = periodP ? { start: periodP.int('start', { required: true, min: 0 }), end: periodP.int('end', { required: true, min: 0 }) } : undefined;
    p.done();
    const c = requireCustomer(emu, customer);
    const price = priceId ? emu.store.require<PriceRecord>('price', priceId, 'price', 'pricing[price]') : null;
    if (amount === undefined && !price && unitAmountDecimal === undefined) throw invalidRequest('Missing required param: amount.', 'amount', 'parameter_missing');
    const qty = quantity ?? 1;
    const total = amount ?? (price ? unitTimesQuantity(String(price.unit_amount_decimal ?? price.unit_amount ?? 0), qty) : unitTimesQuantity(unitAmountDecimal!, qty));
    const cur = currency ?? price?.currency ?? c.currency ?? 'usd';
    let inv: InvoiceRecord | null = null;
    if (invoice) {
      inv = requireInvoice(emu, invoice, 'invoice');
      if (inv.status !== 'draft') throw invalidRequest('You can only add invoice items to draft invoices.', 'invoice', 'invoice_not_editable');
    }
    if (subscription) emu.store.require('subscription', subscription, 'subscription', 'subscription');
    const now = emu.nowFor(c);
    const ii = {
      id: newId('ii', 24),
      object: 'invoiceitem',
      amount: total,
      currency: cur,
      customer,
      customer_account: null,
      date: now,
      description: description ?? null,
      discountable: discountable ?? true,
      discounts: [],
      invoice: null,
      livemode: false,
      metadata: metadata ?? {},
      net_amount: total,
      parent: subscription ? { type: 'subscription_details', subscription_details: { subscription } } : null,
      period: period ?? { start: now, end: now },
      pricing: price
        ? { type: 'price_details', price_details: { price: price.id, product: typeof price.product === 'string' ? price.product : price.product.id }, unit_amount_decimal: price.unit_amount_decimal }
        : { type: 'price_details', unit_amount_decimal: unitAmountDecimal ?? String(qty ? total / qty : total) },
      proration: false,
      quantity: qty,
      quantity_decimal: String(qty),
      tax_rates: [],
      test_clock: c.test_clock ? idOf(c.test_clock) : null,
    } as unknown as InvoiceItemRecord;
    emu.store.insert('invoiceitem', ii);
    emu.events.emit('invoiceitem.created', ii);
    if (inv) {
      const line = {
        id: newId('il', 24),
        object: 'line_item',
        amount: total,
        currency: cur,
        description: ii.description,
        discount_amounts: [],
        discountable: ii.discountable,
        discounts: [],
        invoice: inv.id,
        livemode: false,
        metadata: ii.metadata ?? {},
        parent: {
          type: 'invoice_item_details',
          subscription_item_details: null,
          invoice_item_details: { invoice_item: ii.id, proration: false, proration_details: { credited_items: null }, subscription: subscription ?? null },
        },
        period: ii.period,
        pretax_credit_amounts: [],
        pricing: ii.pricing,
        quantity: qty,
        quantity_decimal: String(qty),
        subscription: subscription ?? null,
        subtotal: total,
        taxes: [],
      } as unknown as Stripe.InvoiceLineItem;
      ii.invoice = inv.id;
      inv.lines.data.push(line);
      recomputeTotals(emu, inv);
    }
    return ii;
  });

  router.get('/v1/invoiceitems/:id', ({ params: p, path }) => {
    p.done();
    return emu.store.require<InvoiceItemRecord>('invoiceitem', path.id!, 'invoiceitem');
  });

  router.delete('/v1/invoiceitems/:id', ({ params: p, path }) => {
    p.done();
    const ii = emu.store.require<InvoiceItemRecord>('invoiceitem', path.id!, 'invoiceitem');
    const invId = idOf(ii.invoice);
    const inv = invId ? emu.store.get<InvoiceRecord>('invoice', invId) : undefined;
    if (inv && inv.status !== 'draft') throw invalidRequest('This invoice item is on a finalized invoice and cannot be deleted.', undefined, 'invoice_not_editable');
    if (inv) {
      inv.lines.data = inv.lines.data.filter(
        (l) => l.parent?.invoice_item_details?.invoice_item !== ii.id && l.parent?.subscription_item_details?.invoice_item !== ii.id,
      );
      recomputeTotals(emu, inv);
    }
    emu.store.delete('invoiceitem', ii.id);
    emu.events.emit('invoiceitem.deleted', ii);
    return { id: ii.id, object: 'invoiceitem', deleted: true };
  });

  router.get('/v1/invoiceitems', ({ params: p, url }) => {
    const customer = p.string('customer');
    const invoice = p.string('invoice');
    const pending = p.bool('pending');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<InvoiceItemRecord>('invoiceitem')).filter(
      (ii) =>
        (customer === undefined || idOf(ii.customer) === customer) &&
        (invoice === undefined || idOf(ii.invoice) === invoice) &&
        (pending === undefined || (ii.invoice === null) === pending) &&
        (!created || created(ii.date)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}
