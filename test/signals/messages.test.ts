import { describe, expect, it } from 'vitest';
import { billingEventId, signalMessage, thresholdMinor } from '../../src/billing/signals/index.js';

const base = { customerId: 'cus_x', invoiceId: null, amount: null, currency: null, data: {} };

describe('signal messages (the seed style) and ids', () => {
  it('writes one line per signal type', () => {
    expect(signalMessage({ ...base, type: 'PAYMENT_RECEIVED', amount: 10000, currency: 'usd' })).toBe('payment_received customer=cus_x amount=$100.00');
    expect(signalMessage({ ...base, type: 'SUBSCRIPTION_STARTED', data: { plan: 'basic_monthly' } })).toBe('subscription_started customer=cus_x plan=basic_monthly');
    expect(signalMessage({ ...base, type: 'PAYMENT_FAILED', data: { retry: 1 } })).toBe('payment_failed customer=cus_x retry=1');
    expect(signalMessage({ ...base, customerId: null, type: 'MRR_UPDATED', amount: 452300, currency: 'usd', data: { change: 10000 } })).toBe(
      'mrr_update mrr=$4,523.00 change=+$100.00',
    );
    expect(signalMessage({ ...base, customerId: null, type: 'MRR_UPDATED', amount: 442300, currency: 'usd', data: { change: -10000 } })).toBe(
      'mrr_update mrr=$4,423.00 change=-$100.00',
    );
    expect(signalMessage({ ...base, customerId: null, type: 'MRR_UPDATED', amount: 452300, currency: 'usd', data: { change: 10000, kind: 'expansion' } })).toBe(
      'mrr_update mrr=$4,523.00 change=+$100.00 kind=expansion',
    );
    expect(signalMessage({ ...base, customerId: null, type: 'MILESTONE_REACHED', amount: 1_000_000, currency: 'usd' })).toBe('milestone mrr=$10,000.00');
    expect(signalMessage({ ...base, type: 'MILESTONE_REACHED', amount: 10_000, currency: 'jpy' })).toBe('milestone mrr=¥10,000');
  });

  it('turns MRR_MILESTONES (major units) into minor units per currency', () => {
    expect(thresholdMinor(10_000, 'usd')).toBe(1_000_000);
    expect(thresholdMinor(0.29, 'usd')).toBe(29);
    expect(thresholdMinor(10_000, 'jpy')).toBe(10_000);
    expect(thresholdMinor(1, 'kwd')).toBe(1000);
  });

  it('derives a stable id from the dedup key', () => {
    expect(billingEventId('PAYMENT_RECEIVED:in_1')).toBe(billingEventId('PAYMENT_RECEIVED:in_1'));
    expect(billingEventId('PAYMENT_RECEIVED:in_1')).not.toBe(billingEventId('PAYMENT_RECEIVED:in_2'));
    expect(billingEventId('PAYMENT_RECEIVED:in_1')).toMatch(/^bev_[A-Za-z0-9_-]{24}$/);
  });
});
