import { describe, expect, it } from 'vitest';
import { periodStarts } from '../../src/billing/metrics/revenue.js';
import { bar } from '../../src/cli/revenue-table.js';

describe('revenue table and periods', () => {
  it('draws bars in eighths of a cell, never empty for a positive value', () => {
    expect(bar(100, 100, 4)).toBe('████');
    expect(bar(50, 100, 4)).toBe('██');
    expect(bar(1, 100, 4)).toBe('▏');
    expect(bar(55, 100, 4)).toBe('██▎');
    expect(bar(0, 100, 4)).toBe('');
  });

  it('aligns points to UTC days, Monday weeks and months, every interval overlapping [from, to)', () => {
    const d = (s: string) => new Date(s);
    expect(periodStarts(d('2026-03-15T10:00:00Z'), d('2026-05-01T00:00:00Z'), 'month')).toEqual([d('2026-03-01T00:00:00Z'), d('2026-04-01T00:00:00Z')]);
    expect(periodStarts(d('2026-03-01T00:00:00Z'), d('2026-03-10T00:00:00Z'), 'week')).toEqual([
      d('2026-02-23T00:00:00Z'), d('2026-03-02T00:00:00Z'), d('2026-03-09T00:00:00Z'),
    ]);
    expect(periodStarts(d('2026-03-01T23:00:00Z'), d('2026-03-03T00:00:01Z'), 'day')).toHaveLength(3);
  });
});
