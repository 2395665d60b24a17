import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { resourceMissing } from '../errors.js';
import { addCardSource, checkCardToken, newCardSource } from './sources.js';
import { newId } from '../ids.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { attachablePaymentMethod, markAttached, requireAttached, type PaymentMethodRecord } from './payment-methods.js';

export type CustomerRecord = Stripe.Customer & Stored;

export function registerCustomers(router: Router, emu: Emulator): void {
  router.post('/v1/customers', ({ params: p }) => {
    const email = p.email() ?? undefined;
    const name = p.string('name');
    const description = p.string('description');
    const phone = p.string('phone');
    const metadata = p.metadata();
    const testClock = p.string('test_clock');
    const settings = p.object('invoice_settings');
    const defaultPm = settings?.string('default_payment_method');
    const paymentMethod = p.string('payment_method');
    const source = p.string('source');
    p.done();
    const sourceCard = source ? checkCardToken(source, 'source') : undefined;
    if (testClock) emu.store.require('test_helpers.test_clock', testClock, 'test_helpers.test_clock', 'test_clock');
    const customer: CustomerRecord = {
      id: newId('cus', 14),
      object: 'customer',
      address: null,
      balance: 0,
      created: testClock ? emu.nowFor({ test_clock: testClock }) : emu.realNow(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: description ?? null,
      discount: null,
      email: email ?? null,
      invoice_prefix: newId('', 8).slice(1).toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: mergeMetadata({}, metadata),
      name: name ?? null,
      next_invoice_sequence: 1,
      phone: phone ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: testClock ?? null,
    };
    // Cards are checked before anything is stored, so a declined card leaves no customer behind. A
    // test token becomes a new PaymentMethod; when both params name the same token it is one card,
    // and the default is that card's real `pm_…` id, never the token's name.
    const cards = new Map<string, PaymentMethodRecord>();
    const card = (id: string, param: string): PaymentMethodRecord => {
      let pm = cards.get(id);
      if (!pm) cards.set(id, (pm = attachablePaymentMethod(emu, id, customer.id, param)));
      return pm;
    };
    try {
      if (paymentMethod) card(paymentMethod, 'payment_method');
      if (defaultPm) customer.invoice_settings.default_payment_method = card(defaultPm, 'invoice_settings[default_payment_method]').id;
    } catch (err) {
      for (const [asked, pm] of cards) if (pm.id !== asked) emu.store.delete('payment_method', pm.id);
      throw err;
    }
    emu.store.insert('customer', customer);
    const cardSource = sourceCard ? newCardSource(emu, customer.id, sourceCard) : undefined;
    if (cardSource) customer.default_source = cardSource.id;
    emu.events.emit('customer.created', customer);
    if (cardSource) emu.events.emit('customer.source.created', cardSource);
    for (const pm of cards.values()) markAttached(emu, pm, customer.id);
    return customer;
  });

  router.get('/v1/customers/:id', ({ emu, params: p, path }) => {
    p.done();
    return emu.store.require<CustomerRecord>('customer', path.id!, 'customer');
  });

  router.post('/v1/customers/:id', ({ params: p, path }) => {
    const customer = liveCustomer(emu, path.id!);
    const email = p.email();
    const name = p.nullableString('name');
    const description = p.nullableString('description');
    const phone = p.nullableString('phone');
    const metadata = p.metadata();
    const settings = p.object('invoice_settings');
    const defaultPm = settings?.nullableString('default_payment_method');
    const source = p.string('source');
    p.done();
    if (defaultPm) requireAttached(emu, defaultPm, customer.id, 'invoice_settings[default_payment_method]');
    // A new source becomes the default source, as at Stripe.
    if (source) {
      const card = addCardSource(emu, customer, source, 'source');
      if (customer.default_source !== card.id) {
        updateWithEvent(emu, 'customer.updated', customer, (c) => {
          c.default_source = card.id;
        });
      }
    }
    return updateWithEvent(emu, 'customer.updated', customer, (c) => {
      if (email !== undefined) c.email = email;
      if (name !== undefined) c.name = name;
      if (description !== undefined) c.description = description;
      if (phone !== undefined) c.phone = phone;
      c.metadata = mergeMetadata(c.metadata as Record<string, string>, metadata);
      if (defaultPm !== undefined) c.invoice_settings.default_payment_method = defaultPm;
    });
  });

  router.delete('/v1/customers/:id', ({ params: p, path }) => {
    p.done();
    return deleteCustomer(emu, liveCustomer(emu, path.id!));
  });

  router.get('/v1/customers', ({ params: p, url }) => {
    const email = p.string('email');
    const testClock = p.string('test_clock');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<CustomerRecord>('customer')).filter(
      (c) =>
        !(c as { deleted?: boolean }).deleted &&
        (email === undefined || c.email === email) &&
        (testClock === undefined || c.test_clock === testClock) &&
        (!created || created(c.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}

/** A customer that exists and is not deleted (Stripe: 404 for unknown, and most writes refuse deleted ones). */
export function liveCustomer(emu: Emulator, id: string, param = 'id'): CustomerRecord {
  const c = emu.store.require<CustomerRecord>('customer', id, 'customer', param);
  if ((c as { deleted?: boolean }).deleted) {
    throw resourceMissing('customer', id, param);
  }
  return c;
}

/**
 * Deletes a customer as Stripe does: the hooks in `emu.customerDeleteHooks` run first (billing cancels
 * subscriptions), then a `{ id, object, deleted: true }` stub replaces it and `customer.deleted` is emitted.
 */
export function deleteCustomer(emu: Emulator, customer: CustomerRecord): { id: string; object: 'customer'; deleted: true } {
  for (const hook of emu.customerDeleteHooks) hook(customer);
  const deleted = { id: customer.id, object: 'customer', deleted: true } as const;
  emu.store.insert('customer', deleted as unknown as CustomerRecord);
  emu.events.emit('customer.deleted', customer);
  return deleted;
}
