/** Previous billing periods as Stripe anchors them (the emulator's the emulator package's billing/periods.ts). */
import { describe, expect, it } from 'vitest';
import { addIntervals as emulatorAdd } from '@billing-gateway/stripe-emulator';
import { previousPeriodStart } from '../../src/billing/usage/periods.js';

const d = (iso: string) => new Date(iso);

describe('previousPeriodStart', () => {
  it('steps back one interval from the anchor, clamping to the month end as Stripe does', () => {
    const anchor = d('2026-01-31T10:00:00Z');
    // Periods: Jan 31, Feb 28, Mar 31, Apr 30 …
    expect(previousPeriodStart(d('2026-03-31T10:00:00Z'), 'month', 1, anchor).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(previousPeriodStart(d('2026-04-30T10:00:00Z'), 'month', 1, anchor).toISOString()).toBe('2026-03-31T10:00:00.000Z');
    expect(previousPeriodStart(d('2026-02-28T10:00:00Z'), 'month', 1, anchor).toISOString()).toBe('2026-01-31T10:00:00.000Z');
  });

  it('agrees with the emulator over years of monthly, yearly and weekly periods', () => {
    const anchor = Date.UTC(2024, 0, 31, 12) / 1000;
    for (const [interval, count] of [['month', 1], ['month', 3], ['year', 1], ['week', 2], ['day', 1]] as const) {
      for (let k = 1; k < 40; k++) {
        const start = new Date(emulatorAdd(anchor, interval, k * count) * 1000);
        const prev = new Date(emulatorAdd(anchor, interval, (k - 1) * count) * 1000);
        expect(previousPeriodStart(start, interval, count, new Date(anchor * 1000)).toISOString(), `${interval} ×${count} k=${k}`).toBe(prev.toISOString());
      }
    }
  });

  it('without an anchor: one interval back', () => {
    expect(previousPeriodStart(d('2026-03-01T00:00:00Z'), 'month', 1, null).toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(previousPeriodStart(d('2026-03-01T00:00:00Z'), 'year', 1, null).toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });
});
