import qs from 'qs';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../src/index.js';
import { emulatorWithClient } from './support.js';

let emu: RunningEmulator;
let stripe: Stripe;

beforeAll(async () => {
  ({ emu, stripe } = await emulatorWithClient());
});
afterAll(() => emu.close());

/** Values of the wrong shape for every kind of parameter the routes read. */
const JUNK: Record<string, unknown>[] = [
  { unknown_param: '1' },
  { limit: 'abc' },
  { limit: ['1'] },
  { starting_after: { x: '1' } },
  { expand: [{ a: 'b' }] },
  { metadata: 'x' },
  { metadata: { a: { b: 'c' } } },
  { payload: '1' },
  { payload: { stripe_customer_id: { x: '1' } } },
  { default_aggregation: 'sum' },
  { default_aggregation: { formula: ['sum'] } },
  { enabled_events: { a: { b: 'c' } } },
  { frozen_time: '-1' },
  { frozen_time: '1e9' },
  { created: { gte: { x: '1' } } },
  { created: 'abc' },
  { percent_off: 'abc' },
  { promotion: 'coupon' },
  { promotion: { coupon: ['x'] } },
  { tiers: '1' },
  { recurring: 'month' },
  { customer: ['x'] },
  { start_time: 'x' },
  { types: { a: { b: 'c' } } },
  { url: ['x'] },
  { display_name: ['x'] },
  { timestamp: '99999999999999999999' },
  { identifier: ['a'] },
  { invoice_settings: { default_payment_method: ['x'] } },
  { disabled: 'maybe' },
  { active: 'yes' },
];

describe('bad input never gets a 500', () => {
  it('answers every malformed parameter on every route with a 4xx Stripe error', async () => {
    const meter = await stripe.billing.meters.create({ display_name: 'a', event_name: 'fuzz', default_aggregation: { formula: 'sum' } });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: 1_000_000 });
    const endpoint = await stripe.webhookEndpoints.create({ url: 'http://127.0.0.1:9/x', enabled_events: ['*'] });
    const customer = await stripe.customers.create();
    const routes: [string, string][] = [
      ['POST', '/v1/customers'], ['POST', `/v1/customers/${customer.id}`], ['GET', '/v1/customers'], ['GET', `/v1/customers/${customer.id}`],
      ['POST', '/v1/products'], ['GET', '/v1/products'], ['POST', '/v1/prices'], ['GET', '/v1/prices'],
      ['POST', '/v1/billing/meters'], ['GET', '/v1/billing/meters'], ['POST', `/v1/billing/meters/${meter.id}`],
      ['POST', '/v1/billing/meter_events'], ['GET', `/v1/billing/meters/${meter.id}/event_summaries`],
      ['POST', '/v1/coupons'], ['GET', '/v1/coupons'], ['POST', '/v1/promotion_codes'], ['GET', '/v1/promotion_codes'],
      ['POST', '/v1/test_helpers/test_clocks'], ['POST', `/v1/test_helpers/test_clocks/${clock.id}/advance`], ['GET', '/v1/test_helpers/test_clocks'],
      ['GET', '/v1/events'], ['POST', '/v1/webhook_endpoints'], ['POST', `/v1/webhook_endpoints/${endpoint.id}`], ['GET', '/v1/webhook_endpoints'],
      ['POST', '/v1/payment_methods/pm_card_visa/attach'], ['GET', `/v1/customers/${customer.id}/payment_methods`],
    ];
    const failures: string[] = [];
    for (const [method, path] of routes) {
      for (const params of JUNK) {
        try {
          // rawRequest sends params only on POST; GET ones go in the query string, as the SDK would.
          if (method === 'GET') await stripe.rawRequest(method, `${path}?${qs.stringify(params, { arrayFormat: 'brackets' })}`);
          else await stripe.rawRequest(method, path, params as never);
          // Accepted: the junk was ignored or stored, never refused.
          failures.push(`${method} ${path} ${JSON.stringify(params)} → 2xx`);
        } catch (err) {
          const e = err as { statusCode?: number; type?: string; raw?: { message?: string } };
          if (!e.statusCode || e.statusCode >= 500 || /\.ts:\d+/.test(e.raw?.message ?? '')) {
            failures.push(`${method} ${path} ${JSON.stringify(params)} → ${e.statusCode} ${e.type}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
