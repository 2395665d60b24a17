import type Stripe from 'stripe';
import { expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/index.js';
import { EXTERNAL_ID_METADATA_KEY, upsertCustomer } from '../../src/stripe/mirror/index.js';
import { createTestOrm } from '../support/db.js';

const customer = (id: string, externalId: string) =>
  ({ id, object: 'customer', created: 1_767_225_600, email: null, name: null, metadata: { [EXTERNAL_ID_METADATA_KEY]: externalId }, invoice_settings: { default_payment_method: null }, test_clock: null }) as unknown as Stripe.Customer;

// PostgreSQL only (TEST_DATABASE_URL, set by .ci/run): there each fork gets its own connection and the
// writes really race; PGlite serialises them, so there it could not fail.
it.skipIf(!process.env.TEST_DATABASE_URL)('concurrent first writes of one customer never fail on the external_id index, and one row holds the id', async () => {
  const { orm, dispose } = await createTestOrm();
  try {
    for (let round = 0; round < 15; round++) {
      const same = customer(`cus_race${round}`, `user-race-${round}`);
      const other = customer(`cus_race${round}_b`, `user-race-${round}`);
      const results = await Promise.allSettled([...Array.from({ length: 8 }, () => upsertCustomer(orm.em.fork(), same)), upsertCustomer(orm.em.fork(), other)]);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const rows = await orm.em.fork().find(Customer, { id: { $in: [same.id, other.id] } });
      expect(rows).toHaveLength(2);
      expect(rows.filter((r) => r.externalId === `user-race-${round}`)).toHaveLength(1);
    }
  } finally {
    await dispose();
  }
});
