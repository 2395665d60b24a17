import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { resourceMissing } from '../errors.js';
import { newId } from '../ids.js';
import type { Params } from '../http/params.js';
import type { Router } from '../http/router.js';
import { newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';
import { attachablePaymentMethod, type PaymentMethodRecord } from './payment-methods.js';

export type CardRecord = Stripe.Card & Stored;
type CustomerRecord = Stripe.Customer & Stored;

/** Stripe's test card tokens, each the same card as the test PaymentMethod it names. */
const TEST_TOKENS: Record<string, string> = {
  tok_visa: 'pm_card_visa',
  tok_mastercard: 'pm_card_mastercard',
  tok_chargeDeclined: 'pm_card_chargeDeclined',
  tok_chargeCustomerFail: 'pm_card_chargeCustomerFail',
  tok_authenticationRequired: 'pm_card_authenticationRequired',
  tok_threeDSecure2Required: 'pm_card_threeDSecure2Required',
};

/**
 * Turns a test token into a legacy card source of the customer (`card_…`). Stripe lets a card source be
 * used wherever a PaymentMethod is, under the same id, so the card is also stored as a PaymentMethod
 * `card_…`: billing charges it like any other card. Throws (and stores nothing) for an unknown token
 * or a declining card. The caller stores the returned card with `addSource` once everything is valid.
 */
export function cardFromToken(emu: Emulator, token: string, customerId: string, param: string): { card: CardRecord; pm: PaymentMethodRecord } {
  const testPm = TEST_TOKENS[token];
  if (!testPm) throw resourceMissing('token', token, param);
  const made = attachablePaymentMethod(emu, testPm, customerId, param);
  emu.store.delete('payment_method', made.id);
  const id = newId('card', 24);
  const pm: PaymentMethodRecord = { ...made, id, customer: customerId };
  const c = made.card!;
  const card: CardRecord = {
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
    brand: c.brand === 'mastercard' ? 'MasterCard' : 'Visa',
    country: c.country,
    customer: customerId,
    cvc_check: 'pass',
    dynamic_last4: null,
    exp_month: c.exp_month,
    exp_year: c.exp_year,
    fingerprint: c.fingerprint ?? null,
    funding: c.funding,
    last4: c.last4,
    metadata: {},
    name: null,
    regulated_status: 'unregulated',
    tokenization_method: null,
  };
  return { card, pm };
}

/** Stores a checked card as the customer's source (the first one becomes `default_source`). */
export function addSource(emu: Emulator, customer: CustomerRecord, made: { card: CardRecord; pm: PaymentMethodRecord }): CardRecord {
  emu.store.insert('payment_method', made.pm);
  emu.store.insert('card', made.card);
  emu.events.emit('customer.source.created', made.card);
  if (!customer.default_source) {
    updateWithEvent(emu, 'customer.updated', customer, (c) => {
      c.default_source = made.card.id;
    });
  }
  return made.card;
}

function liveCustomerOf(emu: Emulator, id: string): CustomerRecord {
  const c = emu.store.require<CustomerRecord>('customer', id, 'customer');
  if ((c as { deleted?: boolean }).deleted) throw resourceMissing('customer', id, 'id');
  return c;
}

function sourceOf(emu: Emulator, customerId: string, id: string): CardRecord {
  const card = emu.store.get<CardRecord>('card', id);
  if (!card || card.customer !== customerId) throw resourceMissing('source', id);
  return card;
}

function readCardUpdate(p: Params) {
  return {
    metadata: p.metadata(),
    name: p.nullableString('name'),
    expMonth: p.int('exp_month', { min: 1, max: 12 }),
    expYear: p.int('exp_year'),
    address: Object.fromEntries(
      (['address_city', 'address_country', 'address_line1', 'address_line2', 'address_state', 'address_zip'] as const).map((k) => [k, p.nullableString(k)]),
    ) as Record<string, string | null | undefined>,
  };
}

export function registerSources(router: Router, emu: Emulator): void {
  router.post('/v1/customers/:id/sources', ({ params: p, path }) => {
    const customer = liveCustomerOf(emu, path.id!);
    const source = p.string('source', { required: true });
    const metadata = p.metadata();
    p.bool('validate');
    p.done();
    const made = cardFromToken(emu, source, customer.id, 'source');
    made.card.metadata = mergeMetadata({}, metadata);
    return addSource(emu, customer, made);
  });

  router.get('/v1/customers/:id/sources', ({ params: p, path, url }) => {
    liveCustomerOf(emu, path.id!);
    const object = p.string('object');
    const list = newestFirst(emu.store.all<CardRecord>('card')).filter(
      (c) => c.customer === path.id && (object === undefined || object === 'card'),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });

  router.get('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    p.done();
    liveCustomerOf(emu, path.id!);
    return sourceOf(emu, path.id!, path.source!);
  });

  router.post('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    liveCustomerOf(emu, path.id!);
    const card = sourceOf(emu, path.id!, path.source!);
    const u = readCardUpdate(p);
    p.done();
    return updateWithEvent(emu, 'customer.source.updated', card, (c) => {
      c.metadata = mergeMetadata((c.metadata ?? {}) as Record<string, string>, u.metadata);
      if (u.name !== undefined) c.name = u.name;
      if (u.expMonth !== undefined) c.exp_month = u.expMonth;
      if (u.expYear !== undefined) c.exp_year = u.expYear;
      for (const [k, v] of Object.entries(u.address)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
    });
  });

  router.delete('/v1/customers/:id/sources/:source', ({ params: p, path }) => {
    p.done();
    const customer = liveCustomerOf(emu, path.id!);
    const card = sourceOf(emu, customer.id, path.source!);
    emu.store.delete('card', card.id);
    emu.store.delete('payment_method', card.id);
    emu.events.emit('customer.source.deleted', card);
    if (customer.default_source === card.id) {
      const next = newestFirst(emu.store.all<CardRecord>('card')).find((c) => c.customer === customer.id);
      updateWithEvent(emu, 'customer.updated', customer, (c) => {
        c.default_source = next?.id ?? null;
      });
    }
    return { id: card.id, object: 'card', customer: customer.id, deleted: true };
  });
}
