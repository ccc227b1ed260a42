import { describe, expect, it } from 'vitest';
import { centsToDecimal, lineSubtotalCents, totalCents } from './money.js';

describe('money', () => {
  it.each([
    [129999, 1299.99],
    [2999, 29.99],
    [1, 0.01],
    [10, 0.1],
    [0, 0],
    [100, 1],
  ])('%d cents is %d', (cents, decimal) => {
    expect(centsToDecimal(cents)).toBe(decimal);
    expect(JSON.stringify(centsToDecimal(cents))).toBe(String(decimal));
  });

  it('prints at most two decimals for any cent amount', () => {
    for (let cents = 0; cents < 100_000; cents += 7) {
      expect(JSON.stringify(centsToDecimal(cents))).toMatch(/^\d+(\.\d{1,2})?$/);
    }
  });

  it('computes subtotals and totals in integer cents', () => {
    const lines = [
      { priceCents: 129999, quantity: 2 },
      { priceCents: 2999, quantity: 3 },
      { priceCents: 1, quantity: 99 },
    ];
    expect(lineSubtotalCents({ priceCents: 129999, quantity: 2 })).toBe(259998);
    expect(totalCents(lines)).toBe(259998 + 8997 + 99);
    expect(totalCents([])).toBe(0);
  });

  it('refuses amounts beyond the safe integer range', () => {
    expect(() => lineSubtotalCents({ priceCents: Number.MAX_SAFE_INTEGER, quantity: 2 })).toThrow(RangeError);
  });
});
