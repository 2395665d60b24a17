import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { JAN_1_2026 } from './billing-support.js';
import { emulatorWithClient, eventually } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

/** The thin events listed (GET /v2/core/events), once `n` are there. */
async function thinEvents(n: number): Promise<{ id: string; type: string; related_object: { id: string } | null }[]> {
  const list = () => stripe.rawRequest('GET', '/v2/core/events') as unknown as Promise<{ data: { id: string; type: string; related_object: { id: string } | null }[] }>;
  return (await eventually(`${n} thin events`, list, (l) => l.data.length >= n)).data;
}

describe('v2 meter event stream', () => {
  it('records events sent with a session token, and reports refused ones as thin events', async () => {
    const meter = await stripe.billing.meters.create({ display_name: 'Stream', event_name: 'stream_calls', default_aggregation: { formula: 'sum' } });
    // On a test clock: the events are stamped on its time, so the summary window is fixed.
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: JAN_1_2026 });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    const session = await stripe.v2.billing.meterEventSession.create();
    expect(session).toMatchObject({ object: 'v2.billing.meter_event_session', authentication_token: expect.any(String) });
    const streaming = new Stripe(session.authentication_token, { host: '127.0.0.1', port: emu.port, protocol: 'http', maxNetworkRetries: 0 });
    await streaming.v2.billing.meterEventStream.create({
      events: [
        { event_name: 'stream_calls', payload: { stripe_customer_id: customer.id, value: '7' }, identifier: 'stream-1' },
        { event_name: 'stream_calls', payload: { value: '1' }, identifier: 'stream-2' },
        { event_name: 'nothing_meters_this', payload: { stripe_customer_id: customer.id, value: '1' } },
      ],
    });
    const events = await thinEvents(2);
    expect(events.map((e) => e.type).sort()).toEqual(['v1.billing.meter.error_report_triggered', 'v1.billing.meter.no_meter_found']);
    expect(events.find((e) => e.type === 'v1.billing.meter.error_report_triggered')?.related_object?.id).toBe(meter.id);
    const summaries = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: JAN_1_2026 - 3600, end_time: JAN_1_2026 + 3600 });
    expect(summaries.data.reduce((s, x) => s + x.aggregated_value, 0)).toBe(7);
  });

  it('refuses the stream without a session token (a secret key is not one)', async () => {
    await expect(stripe.v2.billing.meterEventStream.create({ events: [{ event_name: 'x', payload: {} }] })).rejects.toMatchObject({ statusCode: 401 });
  });
});
