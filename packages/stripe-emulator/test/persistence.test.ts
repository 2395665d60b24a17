import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Receiver, control, emulatorWithClient } from './support.js';

const dataDir = mkdtempSync(join(tmpdir(), 'emulator-persist-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('persistence', () => {
  it('keeps state across close() and a new start on the same dataDir; reset clears it', async () => {
    const receiver = await Receiver.start();
    try {
      const first = await emulatorWithClient({ dataDir });
      const customer = await first.stripe.customers.create({ email: 'keep@example.com' });
      const meter = await first.stripe.billing.meters.create({ display_name: 'M', event_name: 'persisted', default_aggregation: { formula: 'sum' } });
      const clock = await first.stripe.testHelpers.testClocks.create({ frozen_time: 1_767_225_600 });
      const endpoint = await first.stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['customer.updated'] });
      await first.stripe.products.create({ name: 'Keep' }, { idempotencyKey: 'persist-key' });
      await first.emu.close();

      const second = await emulatorWithClient({ dataDir });
      try {
        expect((await second.stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
        expect((await second.stripe.billing.meters.retrieve(meter.id)).event_name).toBe('persisted');
        expect((await second.stripe.testHelpers.testClocks.retrieve(clock.id)).frozen_time).toBe(1_767_225_600);
        expect((await second.stripe.events.list({ type: 'customer.created' })).data.length).toBeGreaterThan(0);
        const replay = await second.stripe.products.create({ name: 'Keep' }, { idempotencyKey: 'persist-key' });
        expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
        // The endpoint (and its signing secret) survived: deliveries still verify.
        await second.stripe.customers.update(customer.id, { name: 'after restart' });
        await control(second.emu, 'deliveries?wait=true');
        expect(receiver.events(second.stripe, endpoint.secret!).map((e) => e.type)).toEqual(['customer.updated']);

        await control(second.emu, 'reset', {});
        await expect(second.stripe.customers.retrieve(customer.id)).rejects.toMatchObject({ statusCode: 404 });
      } finally {
        await second.emu.close();
      }
      const third = await emulatorWithClient({ dataDir });
      try {
        expect((await third.stripe.customers.list()).data).toHaveLength(0);
      } finally {
        await third.emu.close();
      }
    } finally {
      await receiver.close();
    }
  });
});
