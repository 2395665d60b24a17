import { describe, expect, it } from 'vitest';
import { formatMoney, minorUnitDigits, toMoney } from '../../src/money.js';

describe('money', () => {
  it('formats minor units per currency', () => {
    expect(formatMoney(452300, 'usd')).toBe('$4,523.00');
    expect(formatMoney(100, 'usd')).toBe('$1.00');
    expect(formatMoney(5, 'usd')).toBe('$0.05');
    expect(formatMoney(-10050, 'usd')).toBe('-$100.50');
    expect(formatMoney(1234, 'jpy')).toBe('¥1,234');
    expect(formatMoney(1234, 'kwd').replace(/\s/u, ' ')).toBe('KWD 1.234');
    expect(formatMoney(150, 'eur')).toBe('€1.50');
    expect(formatMoney(9007199254740991, 'usd')).toBe('$90,071,992,547,409.91');
    expect(minorUnitDigits('JPY')).toBe(0);
  });

  it('rejects non-integer amounts', () => {
    expect(() => formatMoney(1.5, 'usd')).toThrow(/integer/);
  });

  it('builds the contract Money shape', () => {
    expect(toMoney(500, 'USD')).toEqual({ amount: 500, currency: 'usd', formatted: '$5.00' });
  });
});
