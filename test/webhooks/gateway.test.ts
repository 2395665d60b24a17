/**
 * The webhook service wired into the real gateway server as the composition root does it
 * (`mountBeforeJson`, and `webhookFastPath` ahead of express), with the parked-events admin query: the
 * route sees the raw body before the JSON parser, the worker processes what the route stores, and
 * admins can list and retry parked events.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mirrorCatalog } from '../../src/stripe/mirror-catalog.js';
import { createWebhookService, type WebhookService } from '../../src/stripe/webhooks/index.js';
import { startTestGateway, type TestGateway } from '../http/harness.js';
import { createTestOrm, type TestOrm } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { SECRET, stripeSide, type StripeSide } from './support.js';

let side: StripeSide;
let db: TestOrm;
let service: WebhookService;
let gw: TestGateway;

beforeAll(async () => {
  side = await stripeSide();
  db = await createTestOrm();
  await mirrorCatalog(db.orm.em.fork(), side.catalogReport);
  service = createWebhookService({ orm: db.orm, stripe: side.stripe, webhookSecret: SECRET, catalog: side.catalog, worker: { pollIntervalMs: 3_600_000 } });
  gw = await startTestGateway({}, { orm: db.orm, mountBeforeJson: (app) => service.mount(app), webhookFastPath: (req, res) => service.fastPath(req, res) });
  service.start();
});
afterAll(async () => {
  await service?.stop();
  await gw?.close();
  await db?.dispose();
  await side?.close();
});

const sql = (q: string, p: unknown[] = []) => db.orm.em.getConnection().execute(q, p);

async function post(payload: string, signature: string) {
  return fetch(`${gw.url}/webhooks/stripe`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
}

describe('webhooks in the gateway server', () => {
  it('accepts a signed delivery before the JSON parser, refuses a tampered one, and processes the event', async () => {
    const customer = await side.stripe.customers.create({ email: 'gw@example.com' });
    const event = { id: 'evt_gw_1', object: 'event', api_version: '2026-10-28.endive', created: customer.created, data: { object: customer }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: 'customer.created' } as unknown as Stripe.Event;
    const payload = JSON.stringify(event);
    const signature = side.stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    // Re-serialised JSON (what a body parser in front would produce) no longer matches the signature.
    expect((await post(JSON.stringify(JSON.parse(payload), null, 2), signature)).status).toBe(400);
    const res = await post(payload, signature);
    expect(res.status).toBe(200);
    await eventually('the customer mirrored', async () => (await sql(`select 1 from customers where id = ?`, [customer.id])).length === 1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/webhook_lag_seconds_count \d+/);
    expect(metrics).toContain('http_requests_total{method="POST",route="/webhooks/stripe",status="200"}');
    expect(metrics).toContain('http_requests_total{method="POST",route="/webhooks/stripe",status="400"}');
  });

  it('serves a delivery the fast path leaves (a query string) from the route mounted in express, alike', async () => {
    const customer = await side.stripe.customers.create({ email: 'gw-query@example.com' });
    const event = { id: 'evt_gw_query', object: 'event', api_version: '2026-10-28.endive', created: customer.created, data: { object: customer }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: 'customer.created' } as unknown as Stripe.Event;
    const payload = JSON.stringify(event);
    const signature = side.stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
    const deliver = (path: string, body = payload) =>
      fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body });
    const viaExpress = await deliver('/webhooks/stripe?attempt=1');
    expect(viaExpress.status).toBe(200);
    expect(await viaExpress.json()).toEqual({ received: true });
    const viaFastPath = await deliver('/webhooks/stripe');
    expect(viaFastPath.status).toBe(200);
    expect(await viaFastPath.json()).toEqual({ received: true, duplicate: true });
    // The same refusal, with the same body, either way.
    const tampered = [await deliver('/webhooks/stripe?attempt=2', payload + ' '), await deliver('/webhooks/stripe', payload + ' ')];
    expect(tampered.map((r) => r.status)).toEqual([400, 400]);
    expect(await Promise.all(tampered.map((r) => r.json()))).toEqual([{ error: { message: 'Invalid Stripe-Signature' } }, { error: { message: 'Invalid Stripe-Signature' } }]);
    expect(tampered.map((r) => r.headers.get('content-type'))).toEqual(['application/json; charset=utf-8', 'application/json; charset=utf-8']);
    await eventually('the customer mirrored', async () => (await sql(`select 1 from customers where id = ?`, [customer.id])).length === 1);
  });

  it('lists parked events to admins only, and retries one', async () => {
    await sql(
      `insert into webhook_events (id, type, stripe_created_at, object_id, payload, status, attempts, last_error)
       values ('evt_parked_1', 'invoice.paid', now(), 'in_1', '{}'::jsonb, 'parked', 8, 'Error: boom')`,
    );
    const query = `{ parkedWebhookEvents(first: 10) { id type objectId attempts lastError } }`;
    const admin = await gw.token('ops', { role: 'admin' });
    const listed = await gw.gql(query, {}, admin);
    expect(listed.body.errors).toBeUndefined();
    expect(listed.body.data!.parkedWebhookEvents).toEqual([{ id: 'evt_parked_1', type: 'invoice.paid', objectId: 'in_1', attempts: 8, lastError: 'Error: boom' }]);

    const asCustomer = await gw.gql(query, {}, await gw.token('user_1'));
    expect(asCustomer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const retry = await gw.gql(`mutation { retryParkedWebhookEvent(id: "evt_parked_1") }`, {}, admin);
    expect(retry.body.data).toEqual({ retryParkedWebhookEvent: true });
    const again = await gw.gql(`mutation { retryParkedWebhookEvent(id: "evt_parked_1") }`, {}, admin);
    expect(again.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // Back in the queue (the harness worker would pick it up; it stays parked-free here).
    expect(await sql(`select status, attempts from webhook_events where id = 'evt_parked_1'`)).toEqual([
      expect.objectContaining({ attempts: 0 }),
    ]);
    await sql(`delete from webhook_events where id = 'evt_parked_1'`);
  });
});
