import { beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from '../../src/db/entities/webhook-event.js';
import { listParkedEvents, requeueParkedEvent } from '../../src/stripe/webhooks/inbox.js';
import { webhookMetrics } from '../../src/stripe/webhooks/metrics.js';
import type { ProcessOutcome } from '../../src/stripe/webhooks/worker.js';
import { eventually } from '../support/eventually.js';
import { fakeEvent, SECRET, webhookGatewayForFile, type Gateway, type StripeSide } from './support.js';

const setup = webhookGatewayForFile();
let side: StripeSide;
let gw: Gateway;
beforeAll(() => ({ side, gw } = setup));

const count = () => gw.orm.em.fork().count(WebhookEvent, {});

describe('POST /webhooks/stripe', () => {
  it('stores a signed event once and answers 2xx; a duplicate is acknowledged without a second row', async () => {
    const before = await count();
    const customer = await side.stripe.customers.create({ email: 'signed@example.com' });
    const event = fakeEvent('customer.created', customer as unknown as Record<string, unknown>);
    const first = await gw.deliver(event);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ received: true });
    const row = await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id);
    expect(row).toMatchObject({ type: 'customer.created', status: 'pending', objectId: customer.id, attempts: 0 });
    expect(row.payload.id).toBe(event.id);

    const again = await gw.deliver(event);
    expect(again.status).toBe(200);
    expect(again.json).toEqual({ received: true, duplicate: true });
    expect(await count()).toBe(before + 1);

    // Processed once: the mirror has the customer, and a duplicate delivered afterwards changes nothing.
    const done = await gw.worker.drain();
    expect(done.map((d) => [d.eventId, d.status])).toEqual([[event.id, 'processed']]);
    expect((await gw.deliver(event)).status).toBe(200);
    expect(await gw.worker.drain()).toEqual([]);
    const rows = await gw.orm.em.getConnection().execute(`select id, email, last_event_at from customers where id = ?`, [customer.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email: 'signed@example.com' });
  });

  it('refuses a missing, wrong, tampered or stale signature with 400 and stores nothing', async () => {
    const before = await count();
    // A type the gateway ignores, so the one accepted delivery below leaves no work behind.
    const event = fakeEvent('charge.refunded', { id: 'ch_unsigned', object: 'charge' });
    const payload = JSON.stringify(event);
    const invalidBefore = (await webhookMetrics.received.get()).values.find((v) => v.labels.outcome === 'invalid_signature')?.value ?? 0;

    expect((await gw.post(payload)).status).toBe(400);
    expect((await gw.post(payload, 't=1,v1=deadbeef')).status).toBe(400);
    expect((await gw.deliver(event, { secret: 'whsec_someoneelse' })).status).toBe(400);

    // Tampered: signed, then the body changed.
    const header = side.stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const tampered = payload.replace('ch_unsigned', 'ch_tampered');
    const t = await gw.post(tampered, header);
    expect(t.status).toBe(400);
    expect(JSON.stringify(t.json)).not.toContain(SECRET);

    // Stale: a valid signature made 301 s ago (tolerance 300 s); one made 290 s ago still passes.
    const stale = await gw.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(400);
    expect(stale.json).toEqual({ error: { message: 'Stripe-Signature timestamp is outside the tolerance' } });

    // Not JSON at all, validly signed: refused as not an event.
    const junk = 'not json';
    expect((await gw.post(junk, side.stripe.webhooks.generateTestHeaderString({ payload: junk, secret: SECRET }))).status).toBe(400);

    expect(await count()).toBe(before);
    const invalidAfter = (await webhookMetrics.received.get()).values.find((v) => v.labels.outcome === 'invalid_signature')?.value ?? 0;
    expect(invalidAfter - invalidBefore).toBe(6);

    const recent = await gw.deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 290 });
    expect(recent.status).toBe(200);
    expect(await count()).toBe(before + 1);
  });

  it('records an unknown type as ignored (2xx) and never hands it to a worker', async () => {
    const event = fakeEvent('charge.dispute.created', { id: 'dp_1', object: 'dispute', amount: 1234, reason: 'fraudulent' });
    const res = await gw.deliver(event);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ received: true, ignored: true });
    const row = await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id);
    expect(row.status).toBe('ignored');
    expect(row.processedAt).toBeInstanceOf(Date);
    expect(row.objectId).toBe('dp_1');
    // Who it was, not what it carried: nothing ever applies an ignored type's payload.
    expect(row.payload).toEqual({ id: event.id, object: 'event', type: 'charge.dispute.created', api_version: event.api_version ?? null, created: event.created, data: { object: { id: 'dp_1' } } });
    const processed = await gw.worker.drain();
    expect(processed.map((p) => p.eventId)).not.toContain(event.id);
  });

  it('refuses a body over the size limit, or not declared as JSON, without storing it', async () => {
    const before = await count();
    const big = JSON.stringify(fakeEvent('customer.updated', { id: 'cus_big', object: 'customer', description: 'x'.repeat(1_100_000) }));
    const res = await gw.post(big, side.stripe.webhooks.generateTestHeaderString({ payload: big, secret: SECRET }));
    expect(res.status).toBe(413);
    // Not declared as JSON: refused as well.
    const payload = JSON.stringify(fakeEvent('customer.updated', { id: 'cus_text', object: 'customer' }));
    const text = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'stripe-signature': side.stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
      body: payload,
    });
    expect(text.status).toBe(400);
    expect(await count()).toBe(before);
  });

  it('retries a failing event with backoff, then parks it with its reason; requeue puts it back', async () => {
    // A subscription event whose object Stripe does not know and whose payload cannot be mirrored (no items).
    const event = fakeEvent('customer.subscription.updated', { id: 'sub_missing', object: 'subscription', customer: 'cus_x', status: 'active' });
    await gw.worker.drain();
    expect((await gw.deliver(event)).status).toBe(200);
    const parkedCount = async () =>
      (await webhookMetrics.parked.get()).values.find((v) => v.labels.type === 'customer.subscription.updated')?.value ?? 0;
    const parkedBefore = await parkedCount();

    const maxAttempts = 3;
    const worker = new (gw.worker.constructor as typeof import('../../src/stripe/webhooks/worker.js').WebhookWorker)({
      orm: gw.orm,
      stripe: side.stripe,
      catalog: side.catalog,
      maxAttempts,
      retryBaseMs: 1,
      retryMaxMs: 1,
    });
    const outcomes: ProcessOutcome[] = [];
    // Each retry is due 1 ms after the previous attempt.
    await eventually(`${maxAttempts} attempts`, async () => {
      const o = await worker.processNext();
      if (o?.eventId === event.id) outcomes.push(o);
      return outcomes.length;
    }, (n) => n >= maxAttempts, { interval: 5 });
    expect(outcomes.map((o) => o.status)).toEqual(['retry', 'retry', 'parked']);
    const row = await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id);
    expect(row.status).toBe('parked');
    expect(row.attempts).toBe(3);
    expect(row.lastError).toMatch(/subscription sub_missing/);

    const parked = await listParkedEvents(gw.orm.em.fork());
    expect(parked.map((p) => [p.id, p.type, p.objectId, p.attempts])).toContainEqual([event.id, 'customer.subscription.updated', 'sub_missing', 3]);
    expect((await parkedCount()) - parkedBefore).toBe(1);

    expect(await requeueParkedEvent(gw.orm.em.fork(), event.id)).toBe(true);
    expect(await requeueParkedEvent(gw.orm.em.fork(), event.id)).toBe(false);
    expect((await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id)).status).toBe('pending');
    await gw.orm.em.getConnection().execute(`update webhook_events set status = 'ignored' where id = ?`, [event.id]);
  });

  it('runs afterEvent inside the event transaction: a throw rolls back the mirror write and retries the event', async () => {
    await gw.worker.drain();
    const customer = await side.stripe.customers.create({ email: 'after@example.com' });
    const event = fakeEvent('customer.created', customer as unknown as Record<string, unknown>);
    expect((await gw.deliver(event)).status).toBe(200);
    const calls: { inTransaction: boolean; type: string }[] = [];
    const worker = new (gw.worker.constructor as typeof import('../../src/stripe/webhooks/worker.js').WebhookWorker)({
      orm: gw.orm,
      stripe: side.stripe,
      catalog: side.catalog,
      retryBaseMs: 1,
      retryMaxMs: 1,
      afterEvent: async (em, e) => {
        calls.push({ inTransaction: em.isInTransaction(), type: e.type });
        // Sees the mirror write of the same transaction.
        const rows = await em.getConnection().execute(`select email from customers where id = ?`, [customer.id], 'all', em.getTransactionContext());
        expect(rows).toEqual([{ email: 'after@example.com' }]);
        await em.getConnection().execute(`insert into sync_state (key, value) values (?, 'x') on conflict do nothing`, [`after:${e.id}:${calls.length}`], 'run', em.getTransactionContext());
        if (calls.length === 1) throw new Error('signal store unavailable');
      },
    });
    const first = await worker.processNext();
    expect(first).toMatchObject({ eventId: event.id, status: 'retry', error: 'Error: signal store unavailable', attempts: 1 });
    // Rolled back: neither the mirror row nor afterEvent's write survived.
    expect(await gw.orm.em.getConnection().execute(`select id from customers where id = ?`, [customer.id])).toEqual([]);
    expect(await gw.orm.em.getConnection().execute(`select key from sync_state where key like ?`, [`after:${event.id}:%`])).toEqual([]);
    const second = await eventually('the retry to be due (1 ms)', () => worker.processNext());
    expect(second).toMatchObject({ eventId: event.id, status: 'processed' });
    expect(calls).toEqual([
      { inTransaction: true, type: 'customer.created' },
      { inTransaction: true, type: 'customer.created' },
    ]);
    expect(await gw.orm.em.getConnection().execute(`select key from sync_state where key like ?`, [`after:${event.id}:%`])).toEqual([{ key: `after:${event.id}:2` }]);
    expect((await gw.orm.em.fork().findOneOrFail(WebhookEvent, event.id)).attempts).toBe(2);
  });
});
