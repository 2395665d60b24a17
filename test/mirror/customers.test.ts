import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Customer } from '../../src/db/entities/index.js';
import { customerRow, EXTERNAL_ID_METADATA_KEY, mirrorObject, upsertCustomer } from '../../src/stripe/mirror/index.js';
import { countStatements } from '../support/db.js';
import { json, mirrorWorld, seconds, type MirrorWorld } from './support.js';

let w: MirrorWorld;
beforeAll(async () => {
  w = await mirrorWorld();
});
afterAll(() => w?.close());

const row = (id: string) => w.db.orm.em.fork().findOneOrFail(Customer, { id });

describe('upsertCustomer', () => {
  it('stores the customer as Stripe returns it, external id from metadata; twice changes nothing', async () => {
    const clock = await w.stripe.testHelpers.testClocks.create({ frozen_time: 1_767_225_600 });
    const created = await w.stripe.customers.create({
      email: 'ada@example.com',
      name: 'Ada',
      metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-ada', team: 'core' },
      test_clock: clock.id,
    });
    const pm = await w.stripe.paymentMethods.attach('pm_card_visa', { customer: created.id });
    await w.stripe.customers.update(created.id, { invoice_settings: { default_payment_method: pm.id } });
    const stripeCopy = await w.stripe.customers.retrieve(created.id);
    if (stripeCopy.deleted) throw new Error('unexpected');

    const first = await countStatements(w.db.orm, () => upsertCustomer(w.db.orm.em.fork(), stripeCopy));
    // begin, the advisory lock on the external id, the upsert, commit (see upsertCustomer).
    expect(first.statements.filter((q) => !/^(begin|commit)/i.test(q.trim()))).toHaveLength(2);
    const r = await row(created.id);
    expect(r).toMatchObject({
      id: created.id,
      externalId: 'user-ada',
      email: 'ada@example.com',
      name: 'Ada',
      metadata: { external_id: 'user-ada', team: 'core' },
      defaultPaymentMethod: pm.id,
      testClock: clock.id,
      deleted: false,
      lastEventAt: null,
    });
    expect(seconds(r.createdAt)).toBe(stripeCopy.created);
    expect(r.raw).toEqual(json(stripeCopy));
    // The returned entity carries the stored values (external id included).
    expect(first.result.externalId).toBe('user-ada');

    // A caller's EntityManager holding the row sees the next write.
    const callerEm = w.db.orm.em.fork();
    expect((await callerEm.findOneOrFail(Customer, { id: created.id })).name).toBe('Ada');
    await upsertCustomer(callerEm, { ...stripeCopy, name: 'Ada L.' });
    expect((await callerEm.findOneOrFail(Customer, { id: created.id })).name).toBe('Ada L.');
    await upsertCustomer(callerEm, stripeCopy);
    expect((await callerEm.findOneOrFail(Customer, { id: created.id })).name).toBe('Ada');

    const lastEventAt = new Date('2026-01-02T00:00:00Z');
    await upsertCustomer(w.db.orm.em.fork(), stripeCopy, { lastEventAt });
    const again = await row(created.id);
    const { syncedAt: _a, lastEventAt: le, ...before } = r;
    const { syncedAt: _b, lastEventAt: le2, ...after } = again;
    expect(after).toEqual(before);
    expect(le).toBeNull();
    expect(le2).toEqual(lastEventAt);
    expect(await w.db.orm.em.fork().count(Customer, { id: created.id })).toBe(1);
  });

  it('stores an expanded test clock as its id, and leaves the caller’s copy expanded', async () => {
    const clock = await w.stripe.testHelpers.testClocks.create({ frozen_time: 1_767_225_600 });
    const created = await w.stripe.customers.create({ email: 'grace@example.com', test_clock: clock.id });
    const expanded = await w.stripe.customers.retrieve(created.id, { expand: ['test_clock'] });
    if (expanded.deleted) throw new Error('unexpected');
    expect(customerRow(expanded).raw).toStrictEqual(json({ ...expanded, test_clock: clock.id }));
    expect(expanded.test_clock).toMatchObject({ id: clock.id, object: 'test_helpers.test_clock' });
  });

  it('a second Stripe customer with the same external id is stored without it (no constraint error)', async () => {
    const a = await w.stripe.customers.create({ metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-dup' } });
    const b = await w.stripe.customers.create({ metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-dup' } });
    await upsertCustomer(w.db.orm.em.fork(), a);
    const saved = await upsertCustomer(w.db.orm.em.fork(), b);
    expect(saved.externalId).toBeNull();
    expect((await row(a.id)).externalId).toBe('user-dup');
    expect((await row(b.id)).externalId).toBeNull();
    // Re-mirroring the holder keeps it.
    await upsertCustomer(w.db.orm.em.fork(), a);
    expect((await row(a.id)).externalId).toBe('user-dup');
  });

  it('a deleted customer is marked deleted and frees its external id for a new customer', async () => {
    const old = await w.stripe.customers.create({ email: 'gone@example.com', metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-gone' } });
    await upsertCustomer(w.db.orm.em.fork(), old);
    const stub = await w.stripe.customers.del(old.id);
    expect(stub.deleted).toBe(true);
    await upsertCustomer(w.db.orm.em.fork(), stub);
    const r = await row(old.id);
    expect(r).toMatchObject({ deleted: true, externalId: null, email: 'gone@example.com', raw: json(stub) });

    const fresh = await w.stripe.customers.create({ metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-gone' } });
    expect((await upsertCustomer(w.db.orm.em.fork(), fresh)).externalId).toBe('user-gone');

    // A stub for a customer never seen leaves a tombstone.
    await upsertCustomer(w.db.orm.em.fork(), { id: 'cus_never_seen', object: 'customer', deleted: true });
    expect(await row('cus_never_seen')).toMatchObject({ deleted: true, externalId: null });
  });

  it('mirrorObject: customer.deleted carries the full customer; the event type marks it deleted', async () => {
    const c = await w.stripe.customers.create({ metadata: { [EXTERNAL_ID_METADATA_KEY]: 'user-evt' } });
    const results = await mirrorObject(w.db.orm.em.fork(), c, { catalog: w.catalog, eventType: 'customer.deleted', lastEventAt: new Date(c.created * 1000) });
    expect(results).toEqual([{ kind: 'customer', id: c.id, action: 'deleted' }]);
    expect(await row(c.id)).toMatchObject({ deleted: true, externalId: null, lastEventAt: new Date(c.created * 1000) });
  });
});
