import type Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { Receiver, control, emulatorWithClient } from './support.js';

const SECRET = 'whsec_test_emulator_secret_0123456789';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(options: Parameters<typeof emulatorWithClient>[0] = {}): Promise<{
  emu: RunningEmulator;
  stripe: Stripe;
  receiver: Receiver;
}> {
  const receiver = await Receiver.start();
  const { emu, stripe } = await emulatorWithClient({ webhookRetry: { retryBaseMs: 20, retryMaxMs: 100, timeoutMs: 2000 }, ...options });
  cleanup.push(() => receiver.close(), () => emu.close());
  return { emu, stripe, receiver };
}

async function settle(emu: RunningEmulator): Promise<Array<Record<string, any>>> {
  return (await control(emu, 'deliveries?wait=true')).data;
}

describe('webhook endpoints', () => {
  it('creates, retrieves, updates, lists and deletes; the secret shows only on create', async () => {
    const { stripe } = await setup();
    const created = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:1/hook', enabled_events: ['customer.created'], description: 'd', metadata: { a: '1' } });
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.status).toBe('enabled');
    const got = await stripe.webhookEndpoints.retrieve(created.id);
    expect(got.secret).toBeUndefined();
    expect(got.enabled_events).toEqual(['customer.created']);
    const updated = await stripe.webhookEndpoints.update(created.id, { disabled: true, enabled_events: ['*'], description: '' });
    expect(updated.status).toBe('disabled');
    expect(updated.enabled_events).toEqual(['*']);
    expect(updated.description).toBeNull();
    expect((await stripe.webhookEndpoints.list()).data.map((e) => e.id)).toEqual([created.id]);
    expect(await stripe.webhookEndpoints.del(created.id)).toMatchObject({ id: created.id, deleted: true });
    await expect(stripe.webhookEndpoints.retrieve(created.id)).rejects.toMatchObject({ statusCode: 404, param: 'id' });
  });

  it('takes an explicit secret (emulator extension), else the webhookSecret option', async () => {
    const { stripe } = await setup({ webhookSecret: SECRET });
    const explicit = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:1/a', enabled_events: ['*'], secret: 'whsec_chosen_by_caller' } as never);
    expect(explicit.secret).toBe('whsec_chosen_by_caller');
    const byOption = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:1/b', enabled_events: ['*'] });
    expect(byOption.secret).toBe(SECRET);
    await expect(stripe.webhookEndpoints.create({ url: 'not a url', enabled_events: ['*'] })).rejects.toMatchObject({ param: 'url' });
    await expect(stripe.webhookEndpoints.create({ url: 'http://x.test/' } as never)).rejects.toMatchObject({ param: 'enabled_events' });
  });
});

describe('webhook delivery', () => {
  it('delivers matching events signed so constructEvent accepts them, and rejects a tampered payload', async () => {
    // One delivery in flight per endpoint: arrival order is emission order.
    const { emu, stripe, receiver } = await setup({ webhookRetry: { concurrency: 1 } });
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created', 'customer.updated'] });
    const c = await stripe.customers.create({ email: 'w@example.com' });
    await stripe.customers.update(c.id, { name: 'W' });
    await stripe.products.create({ name: 'not subscribed' });
    await settle(emu);
    const events = receiver.events(stripe, ep.secret!);
    expect(events.map((e) => e.type)).toEqual(['customer.created', 'customer.updated']);
    const updated = events[1] as Stripe.CustomerUpdatedEvent;
    expect(updated.data.object.name).toBe('W');
    expect(updated.data.previous_attributes).toEqual({ name: null });
    expect(updated.request?.id).toMatch(/^req_/);

    const first = receiver.received[0]!;
    const tampered = first.body.replace('w@example.com', 'x@example.com');
    expect(() => stripe.webhooks.constructEvent(tampered, String(first.headers['stripe-signature']), ep.secret!)).toThrow(/signature/i);
    expect(() => stripe.webhooks.constructEvent(first.body, String(first.headers['stripe-signature']), 'whsec_wrong')).toThrow();

    // Delivered events no longer count as pending.
    expect((await stripe.events.retrieve(events[0]!.id)).pending_webhooks).toBe(0);
  });

  it('does not deliver to disabled or deleted endpoints', async () => {
    const { emu, stripe, receiver } = await setup();
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    await stripe.webhookEndpoints.update(ep.id, { disabled: true });
    await stripe.customers.create();
    await settle(emu);
    expect(receiver.received).toHaveLength(0);
  });

  it('retries a delivery that got a 500 until it succeeds', async () => {
    const { emu, stripe, receiver } = await setup();
    receiver.respond = (_r, i) => (i < 2 ? 500 : 200);
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    const c = await stripe.customers.create();
    const attempts = await settle(emu);
    expect(attempts.map((a) => [a.attempt, a.status, a.ok])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
    const events = receiver.events(stripe, ep.secret!);
    expect(new Set(events.map((e) => (e.data.object as Stripe.Customer).id))).toEqual(new Set([c.id]));
  });

  it('retries a delivery that timed out', async () => {
    const { emu, stripe, receiver } = await setup({ webhookRetry: { timeoutMs: 100, retryBaseMs: 10 } });
    // The first attempt is answered only once the retry arrived: long past the 100 ms timeout, whatever the load.
    let answerFirst: (status: number) => void = () => undefined;
    receiver.respond = (_r, i) => (i === 0 ? new Promise<number>((resolve) => (answerFirst = resolve)) : (answerFirst(200), 200));
    await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    await stripe.customers.create();
    const attempts = await settle(emu);
    expect(attempts.map((a) => [a.attempt, a.status, a.ok])).toEqual([
      [1, null, false],
      [2, 200, true],
    ]);
    expect(attempts[0]!.error).toMatch(/timed out/);
  });

  it('gives up after maxAttempts', async () => {
    const { emu, stripe, receiver } = await setup({ webhookRetry: { maxAttempts: 3, retryBaseMs: 10, retryMaxMs: 20 } });
    receiver.respond = () => 503;
    await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    const c = await stripe.customers.create();
    const attempts = await settle(emu);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [event] = (await stripe.events.list({ type: 'customer.created' })).data;
    expect((event!.data.object as Stripe.Customer).id).toBe(c.id);
    expect(event!.pending_webhooks).toBe(1);
    expect((await stripe.events.list({ delivery_success: false })).data.map((e) => e.id)).toContain(event!.id);
  });

  it('forwardTo delivers every event with the configured secret', async () => {
    const receiver = await Receiver.start();
    const { emu, stripe } = await emulatorWithClient({ forwardTo: receiver.url, webhookSecret: SECRET, webhookRetry: { concurrency: 1 } });
    cleanup.push(() => receiver.close(), () => emu.close());
    expect(emu.forwardSecret).toBe(SECRET);
    await stripe.customers.create();
    await stripe.products.create({ name: 'P' });
    await settle(emu);
    expect(receiver.events(stripe, SECRET).map((e) => e.type)).toEqual(['customer.created', 'product.created']);
  });
});

describe('chaos delivery', () => {
  it('duplicates deliveries: the same event arrives twice', async () => {
    const { emu, stripe, receiver } = await setup();
    await control(emu, 'chaos', { duplicate: 1 });
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    await stripe.customers.create();
    await settle(emu);
    const ids = receiver.events(stripe, ep.secret!).map((e) => e.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('holds events until released, then delivers them reordered (seeded)', async () => {
    const { emu, stripe, receiver } = await setup({ webhookRetry: { concurrency: 1 } });
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    expect((await control(emu, 'chaos', { hold: true, reorder: 20, seed: 7 })).chaos).toMatchObject({ hold: true, reorder: 20 });
    const created: string[] = [];
    for (let i = 0; i < 12; i++) created.push((await stripe.customers.create({ metadata: { i: String(i) } })).id);
    await settle(emu);
    expect(receiver.received).toHaveLength(0);
    expect((await control(emu, 'chaos')).held).toBe(12);
    expect(await control(emu, 'chaos/release', {})).toEqual({ released: 12 });
    await settle(emu);
    const arrived = receiver.events(stripe, ep.secret!).map((e) => (e.data.object as Stripe.Customer).id);
    expect([...arrived].sort()).toEqual([...created].sort());
    expect(arrived).not.toEqual(created);
  });

  it('delays deliveries and rejects bad chaos settings', async () => {
    const { emu, stripe, receiver } = await setup();
    await control(emu, 'chaos', { delayMs: [5, 30] });
    const ep = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.created'] });
    await stripe.customers.create();
    await stripe.customers.create();
    await settle(emu);
    expect(receiver.events(stripe, ep.secret!)).toHaveLength(2);
    await expect(control(emu, 'chaos', { duplicate: 2 })).rejects.toMatchObject({ status: 400, body: { error: { param: 'duplicate' } } });
    await expect(control(emu, 'chaos', { nope: true })).rejects.toMatchObject({ status: 400, body: { error: { param: 'nope' } } });
  });
});
