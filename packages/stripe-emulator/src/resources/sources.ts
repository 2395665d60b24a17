import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { cardError, invalidRequest, resourceMissing } from '../errors.js';
import { jsonClone, previousAttributes } from '../events.js';
import type { Router } from '../http/router.js';
import { newId } from '../ids.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { newCardPaymentMethod, testCard, type PaymentMethodRecord } from './payment-methods.js';

export type CardSourceRecord = Stripe.Card & Stored;
type CustomerRecord = Stripe.Customer & Stored;

const BRAND_NAMES: Record<string, string> = { visa: 'Visa', mastercard: 'MasterCard', amex: 'American Express' };

/**
 * Checks a card token (`tok_visa`, `tok_chargeDeclined`, …) as adding it as a source does, before
 * anything is stored: an unknown token is refused, a declining card is declined (402).
 */
export function checkCardToken(token: string, param: string): NonNullable<ReturnType<typeof testCard>> {
  const card = token.startsWith('tok_') ? testCard(token) : undefined;
  if (!card) throw invalidRequest(`No such token: '${token}'`, param, 'resource_missing');
  if (card.behaviour === 'declined') throw cardError('Your card was declined.', 'generic_decline', { param });
  return card;
}

/**
 * Adds a card from a token as a customer's source (the legacy Sources API): a `card_…` object
 * (`customer.source.created`), the customer's `default_source` when it had none (`customer.updated`).
 * The same card is also a PaymentMethod with that id, as at Stripe, so invoices can charge it.
 */
export function addCardSource(emu: Emulator, customer: CustomerRecord, token: string, param: string, metadata: Record<string, string> = {}): CardSourceRecord {
  const source = newCardSource(emu, customer.id, checkCardToken(token, param), metadata);
  emu.events.emit('customer.source.created', source);
  if (!customer.default_source) {
    updateWithEvent(emu, 'customer.updated', customer, (cu) => {
      cu.default_source = source.id;
    });
  }
  return source;
}

/** Stores a card source (and its PaymentMethod twin) without announcing it (customers.create announces it). */
export function newCardSource(emu: Emulator, customerId: string, card: NonNullable<ReturnType<typeof testCard>>, metadata: Record<string, string> = {}): CardSourceRecord {
  const id = newId('card', 24);
  const pm: PaymentMethodRecord = newCardPaymentMethod(emu, card, { id });
  pm.customer = customerId;
  const c = pm.card!;
  const source: CardSourceRecord = {
    id,
    object: 'card',
    address_city: null,
    address_country: null,
    address_line1: null,
    address_line1_check: null,
    address_line2: null,
    address_state: null,
    address_zip: null,
    address_zip_check: null,
    allow_redisplay: 'unspecified',
    brand: BRAND_NAMES[c.brand] ?? c.brand,
    country: c.country,
    customer: customerId,
    cvc_check: 'pass',
    dynamic_last4: null,
    exp_month: c.exp_month,
    exp_year: c.exp_year,
    fingerprint: c.fingerprint ?? null,
    funding: c.funding,
    last4: c.last4,
    metadata,
    name: null,
    regulated_status: 'unregulated',
    tokenization_method: null,
  };
  return emu.store.insert('card', source);
}

export function registerSources(router: Router, emu: Emulator): void {
  const liveCustomer = (id: string): CustomerRecord => {
    const c = emu.store.get<CustomerRecord>('customer', id);
    if (!c || (c as { deleted?: boolean }).deleted) throw resourceMissing('customer', id);
    return c;
  };
  const sourceOf = (customer: CustomerRecord, id: string): CardSourceRecord => {
    const s = emu.store.get<CardSourceRecord>('card', id);
    if (!s || s.customer !== customer.id) throw resourceMissing('source', id);
    return s;
  };

  router.post('/v1/customers/:id/sources', ({ params: p, path }) => {
    const token = p.string('source', { required: true });
    const metadata = p.metadata();
    p.bool('validate');
    p.done();
    return addCardSource(emu, liveCustomer(path.id!), token, 'source', mergeMetadata({}, metadata));
  });

  router.get('/v1/customers/:id/sources', ({ params: p, path, url }) => {
    const customer = liveCustomer(path.id!);
    const object = p.string('object');
    const list = newestFirst(emu.store.all<CardSourceRecord>('card')).filter((s) => s.customer === customer.id && (object === undefined || object === 'card'));
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.get('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    p.done();
    return sourceOf(liveCustomer(path.id!), path.source!);
  });

  router.post('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    const metadata = p.metadata();
    const name = p.nullableString('name');
    const expMonth = p.int('exp_month', { min: 1, max: 12 });
    const expYear = p.int('exp_year');
    const address = {
      address_city: p.nullableString('address_city'),
      address_country: p.nullableString('address_country'),
      address_line1: p.nullableString('address_line1'),
      address_line2: p.nullableString('address_line2'),
      address_state: p.nullableString('address_state'),
      address_zip: p.nullableString('address_zip'),
    };
    p.done();
    const source = sourceOf(liveCustomer(path.id!), path.source!);
    const before = jsonClone(source) as Record<string, unknown>;
    source.metadata = mergeMetadata(source.metadata ?? {}, metadata);
    if (name !== undefined) source.name = name;
    if (expMonth !== undefined) source.exp_month = expMonth;
    if (expYear !== undefined) source.exp_year = expYear;
    for (const [k, v] of Object.entries(address)) if (v !== undefined) (source as Record<string, unknown>)[k] = v;
    const prev = previousAttributes(before, source as Record<string, unknown>);
    if (Object.keys(prev).length > 0) {
      const pm = emu.store.get<PaymentMethodRecord>('payment_method', source.id);
      if (pm?.card) Object.assign(pm.card, { exp_month: source.exp_month, exp_year: source.exp_year });
      if (pm) pm.billing_details.name = source.name;
      emu.store.changed();
      emu.events.emit('customer.source.updated', source, { previousAttributes: prev });
    }
    return source;
  });

  router.delete('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    p.done();
    const customer = liveCustomer(path.id!);
    const source = sourceOf(customer, path.source!);
    emu.store.delete('card', source.id);
    emu.store.delete('payment_method', source.id);
    emu.events.emit('customer.source.deleted', source);
    if (customer.default_source === source.id) {
      const next = newestFirst(emu.store.all<CardSourceRecord>('card')).find((s) => s.customer === customer.id);
      updateWithEvent(emu, 'customer.updated', customer, (cu) => {
        cu.default_source = next?.id ?? null;
      });
    }
    return { id: source.id, object: 'card', customer: customer.id, deleted: true };
  });
}
