/**
 * The outgoing dunning webhook against a real HTTP receiver: signed like Stripe (`t=…,v1=…` over
 * "<t>.<body>"), retried with backoff on failures, delivered in order, never rejecting; close() stops
 * retrying.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DunningNotification } from '../../src/billing/dunning/notification.js';
import { signatureHeaderValue, webhookNotifier } from '../../src/billing/dunning/webhook-notifier.js';
import { logger } from '../../src/log.js';
import { eventually } from '../support/eventually.js';
import { startReceiver, type Receiver } from './support.js';

const SECRET = 'notifier-secret-0123456789';
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const note = (id: string, step: DunningNotification['step']): DunningNotification => ({
  id,
  type: 'dunning.step',
  caseId: 'case_1',
  customerId: 'cus_1',
  invoiceId: 'in_1',
  subscriptionId: 'sub_1',
  step,
  day: 1,
  attempt: 1,
  accessState: 'GRACE',
  closeReason: null,
  billingEventId: 'bev_1',
  amountDue: { amount: 500, currency: 'usd' },
  occurredAt: new Date(0).toISOString(),
});

describe('the dunning webhook notifier', () => {
  it('signs each body with HMAC-SHA256 of "<t>.<body>", as src/billing/dunning/README.md says', () => {
    const body = '{"a":1}';
    const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
    expect(signatureHeaderValue(SECRET, body, 1700000000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('retries a failing receiver and delivers in order', async () => {
    receiver.received.length = 0;
    let calls = 0;
    // The first two attempts fail (500), then the receiver recovers.
    receiver.setStatus(() => (++calls <= 2 ? 500 : 204));
    const notifier = webhookNotifier({ url: receiver.url, secret: SECRET, log: logger, retryBaseMs: 5 });
    const done = [notifier.notify(note('n1', 'reminder')), notifier.notify(note('n2', 'warning'))];
    await Promise.all(done);
    const bodies = receiver.received.map((r) => JSON.parse(r.body) as DunningNotification);
    expect(bodies.map((b) => b.id)).toEqual(['n1', 'n1', 'n1', 'n2']);
    for (const r of receiver.received) {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['billing-gateway-signature']))!;
      expect(m).not.toBeNull();
      expect(createHmac('sha256', SECRET).update(`${m[1]}.${r.body}`).digest('hex')).toBe(m[2]);
      expect(r.headers['content-type']).toBe('application/json');
    }
    await notifier.close!();
  });

  it('gives up after maxAttempts without rejecting; an unreachable URL neither', async () => {
    receiver.received.length = 0;
    receiver.setStatus(() => 503);
    const notifier = webhookNotifier({ url: receiver.url, secret: SECRET, log: logger, retryBaseMs: 1, maxAttempts: 3 });
    await expect(notifier.notify(note('n3', 'suspension'))).resolves.toBeUndefined();
    expect(receiver.received).toHaveLength(3);
    const unreachable = webhookNotifier({ url: 'http://127.0.0.1:9/none', secret: SECRET, log: logger, retryBaseMs: 1, maxAttempts: 2 });
    await expect(unreachable.notify(note('n4', 'reminder'))).resolves.toBeUndefined();
    receiver.setStatus(() => 200);
  });

  it('close() stops a delivery waiting for its retry', async () => {
    receiver.received.length = 0;
    receiver.setStatus(() => 500);
    const notifier = webhookNotifier({ url: receiver.url, secret: SECRET, log: logger, retryBaseMs: 3_600_000 });
    const pending = notifier.notify(note('n5', 'warning'));
    await eventually('the first attempt', () => receiver.received.length > 0, undefined, { interval: 5 });
    await notifier.close!();
    await expect(pending).resolves.toBeUndefined();
    expect(receiver.received).toHaveLength(1);
    receiver.setStatus(() => 200);
  });
});
