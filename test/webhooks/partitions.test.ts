/**
 * The worker's loops claim by partition: each loop the events of its customers (hashed), so loops work
 * on different customers side by side; together they take every event once.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEvents, fakeEvent, gateway, stripeSide, type Gateway, type StripeSide } from './support.js';

let side: StripeSide;
let gw: Gateway;
let events: Stripe.Event[];

beforeAll(async () => {
  side = await stripeSide();
  gw = await gateway(side);
  for (let i = 0; i < 10; i++) {
    const c = await side.stripe.customers.create({ email: `part${i}@example.com` });
    await side.stripe.customers.update(c.id, { name: `Part ${i}` });
  }
  events = (await allEvents(side.stripe)).filter((e) => e.type.startsWith('customer.'));
  for (const e of events) expect((await gw.deliver(e)).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await side?.close();
});

describe('worker partitions', () => {
  it('a loop claims only the events of its customers; the partitions together take every event once', async () => {
    const partitionOf = async (customerIds: string[]) => {
      const rows = await gw.orm.em
        .fork()
        .getConnection()
        .execute<{ id: string; p: number }[]>(`select id, mod(hashtext(id) & 2147483647, 2)::int as p from unnest(array[?]::text[]) as u(id)`, [customerIds]);
      return new Map(rows.map((r) => [r.id, Number(r.p)]));
    };
    const customerOf = new Map(events.map((e) => [e.id, (e.data.object as { id: string }).id]));
    const partition = await partitionOf([...new Set(customerOf.values())]);
    // Both partitions hold some of these customers (ten customers, two partitions).
    expect(new Set(partition.values())).toEqual(new Set([0, 1]));

    const first = await gw.worker.processBatch(64, { index: 0, of: 2 });
    expect(first.length).toBeGreaterThan(0);
    for (const o of first) expect(partition.get(customerOf.get(o.eventId)!)).toBe(0);
    // Partition 0 is empty now; partition 1 still holds its events.
    expect(await gw.worker.processBatch(64, { index: 0, of: 2 })).toEqual([]);
    const second = await gw.worker.processBatch(64, { index: 1, of: 2 });
    for (const o of second) expect(partition.get(customerOf.get(o.eventId)!)).toBe(1);
    expect([...first, ...second].map((o) => o.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    expect([...first, ...second].every((o) => o.status === 'processed')).toBe(true);
    const mirrored = await gw.orm.em.fork().getConnection().execute<{ n: string }[]>(`select count(*) as n from customers where name like 'Part %'`);
    expect(Number(mirrored[0]!.n)).toBe(10);
  });

  it('stores the partition with the event: its customer (an id or an expanded object), else its object, else the event; as the migration computes it for older rows', async () => {
    const tag = Math.random().toString(36).slice(2);
    const shapes = [
      fakeEvent('invoice.created', { id: `in_${tag}`, object: 'invoice', customer: `cus_${tag}` }),
      fakeEvent('customer.subscription.created', { id: `sub_${tag}`, object: 'subscription', customer: { id: `cus_${tag}`, object: 'customer' } }),
      fakeEvent('customer.updated', { id: `cus_${tag}`, object: 'customer' }),
      fakeEvent('charge.dispute.created', { id: `dp_${tag}`, object: 'dispute' }),
      fakeEvent('invoice.upcoming', { object: 'invoice', customer: `cus_${tag}` }),
    ];
    for (const e of shapes) expect((await gw.deliver(e)).status).toBe(200);
    const rows = await gw.orm.em.fork().getConnection().execute<{ id: string; stored: number; own: number; migrated: number }[]>(
      `select id, claim_partition as stored, hashtext(?) & 2147483647 as own,
              hashtext(coalesce(case jsonb_typeof(payload #> '{data,object,customer}') when 'string' then payload #>> '{data,object,customer}'
                                     when 'object' then payload #>> '{data,object,customer,id}' end, object_id, id)) & 2147483647 as migrated
         from webhook_events where id in (?) order by id`,
      [`cus_${tag}`, shapes.map((e) => e.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    // The customer's events share its partition, whichever way the payload names it.
    for (const e of shapes.filter((x) => x.type !== 'charge.dispute.created')) expect(byId.get(e.id)!.stored).toBe(byId.get(e.id)!.own);
    const dispute = byId.get(shapes[3]!.id)!;
    expect(dispute.stored).not.toBe(dispute.own);
    // Handled events keep their payload, so the migration's expression over it gives the stored value.
    for (const e of [shapes[0]!, shapes[1]!, shapes[2]!]) expect(byId.get(e.id)!.migrated).toBe(byId.get(e.id)!.stored);
  });
});
