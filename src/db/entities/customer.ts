import { defineEntity, p } from '@mikro-orm/core';
import { API_KEY_CHANGES_TRIGGERS } from './api-key-change.js';
import type Stripe from 'stripe';

/** Mirror of a Stripe customer. `externalId` is the JWT `sub` of the product user it belongs to. */
export const CustomerSchema = defineEntity({
  name: 'Customer',
  tableName: 'customers',
  properties: {
    /** cus_… */
    id: p.text().primary(),
    /** The caller's id in the product (JWT `sub`); null for customers created outside the gateway. */
    externalId: p.text().nullable().unique('customers_external_id_unique'),
    email: p.text().nullable(),
    name: p.text().nullable(),
    metadata: p.json<Record<string, string>>().default('{}'),
    defaultPaymentMethod: p.text().nullable(),
    testClock: p.text().nullable(),
    deleted: p.boolean().default(false),
    /** Stripe `created`. */
    createdAt: p.datetime(),
    raw: p.json<Stripe.Customer | Stripe.DeletedCustomer>(),
    /** `created` of the Stripe event that last wrote this row; null when written from an API response. */
    lastEventAt: p.datetime().nullable(),
    syncedAt: p.datetime().defaultRaw('now()').onCreate(() => new Date()),
  },
  indexes: [
    { name: 'customers_email_index', properties: ['email'] },
    // Keyset pages in either direction (`order by created_at desc, id desc` scans it backwards).
    { name: 'customers_created_at_id_index', properties: ['createdAt', 'id'] },
  ],
  triggers: [API_KEY_CHANGES_TRIGGERS.customers],
});

export class Customer extends CustomerSchema.class {}
CustomerSchema.setClass(Customer);
