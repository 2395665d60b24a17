import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { emulatorWithClient, eventually } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

const readyClock = (id: string): Promise<Stripe.TestHelpers.TestClock> =>
  eventually(`test clock ${id} to be ready`, () => stripe.testHelpers.testClocks.retrieve(id), (clock) => clock.status === 'ready', { interval: 10 });

describe('test clocks', () => {
  it('create, retrieve, list', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'c1' });
    expect(clock).toMatchObject({ object: 'test_helpers.test_clock', frozen_time: T0, name: 'c1', status: 'ready', livemode: false });
    expect(clock.deletes_after).toBeGreaterThan(clock.created);
    expect((await stripe.testHelpers.testClocks.retrieve(clock.id)).id).toBe(clock.id);
    expect((await stripe.testHelpers.testClocks.list()).data.map((c) => c.id)).toContain(clock.id);
    await expect(stripe.testHelpers.testClocks.create({} as never)).rejects.toMatchObject({ param: 'frozen_time' });
  });

  it('advance answers advancing at once, runs the billing hooks after, then the clock is ready', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0 });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    expect(customer.created).toBe(T0);
    const seen: Array<[string, number, number, string]> = [];
    emu.emulator.onClockAdvance((c, from, to) => {
      if (c.id === clock.id) seen.push([c.id, from, to, c.status]);
    });
    const advanced = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + 86_400 });
    // As at Stripe: the answer comes before the time has passed.
    expect(advanced).toMatchObject({ status: 'advancing', frozen_time: T0, status_details: { advancing: { target_frozen_time: T0 + 86_400 } } });
    expect(await readyClock(clock.id)).toMatchObject({ status: 'ready', frozen_time: T0 + 86_400, status_details: {} });
    expect(seen).toEqual([[clock.id, T0, T0 + 86_400, 'advancing']]);

    const events = (await stripe.events.list({ type: 'test_helpers.test_clock.*', limit: 100 })).data.filter(
      (e) => (e.data.object as Stripe.TestHelpers.TestClock).id === clock.id,
    );
    expect(events.map((e) => e.type)).toEqual([
      'test_helpers.test_clock.ready',
      'test_helpers.test_clock.advancing',
      'test_helpers.test_clock.created',
    ]);
    // Objects on the clock take its time.
    const pm = await stripe.customers.update(customer.id, { name: 'later' });
    expect(pm.name).toBe('later');
    const updated = (await stripe.events.list({ type: 'customer.updated' })).data.find((e) => (e.data.object as Stripe.Customer).id === customer.id);
    expect(updated?.created).toBe(T0 + 86_400);

    await expect(stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 })).rejects.toMatchObject({ param: 'frozen_time' });
  });

  it('while the clock advances, another advance is refused and a replayed key gets the stored answer', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    emu.emulator.onClockAdvance(async (c) => {
      if (c.id === clock.id) await gate;
    });
    const first = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + 3600 }, { idempotencyKey: 'adv-1' });
    expect(first.status).toBe('advancing');
    await expect(stripe.testHelpers.testClocks.retrieve(clock.id)).resolves.toMatchObject({ status: 'advancing', status_details: { advancing: { target_frozen_time: T0 + 3600 } } });
    expect(await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + 3600 }, { idempotencyKey: 'adv-1' })).toEqual(first);
    await expect(stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: T0 + 7200 })).rejects.toMatchObject({ statusCode: 400 });
    await expect(stripe.testHelpers.testClocks.del(clock.id)).rejects.toMatchObject({ statusCode: 400 });
    release();
    expect((await readyClock(clock.id)).frozen_time).toBe(T0 + 3600);
  });

  it('delete removes the clock and its customers', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0 });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    const other = await stripe.customers.create();
    expect(await stripe.testHelpers.testClocks.del(clock.id)).toMatchObject({ id: clock.id, deleted: true });
    await expect(stripe.testHelpers.testClocks.retrieve(clock.id)).rejects.toMatchObject({ statusCode: 404 });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id, deleted: true });
    expect((await stripe.customers.retrieve(other.id)).deleted).toBeUndefined();
  });
});
