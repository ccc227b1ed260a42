import { describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { MAX_STOCK_QUANTITY, normalizeLines, reservationStatus, sameLines } from './inventory.service.js';

function errorOf(fn: () => unknown): { code: string; fields: string[] } {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return { code: error.code, fields: (error.errors ?? []).map((e) => e.field) };
    throw error;
  }
  throw new Error('expected an error');
}

describe('normalizeLines', () => {
  it.each([
    {
      name: 'sums quantities per product and sorts by product id',
      lines: [
        { productId: 9, quantity: 1 },
        { productId: 2, quantity: 3 },
        { productId: 9, quantity: 4 },
      ],
      expected: [
        { productId: 2, quantity: 3 },
        { productId: 9, quantity: 5 },
      ],
    },
    {
      name: 'keeps a single line',
      lines: [{ productId: 1, quantity: 1 }],
      expected: [{ productId: 1, quantity: 1 }],
    },
    {
      name: 'accepts the largest stock quantity when split over lines',
      lines: [
        { productId: 3, quantity: MAX_STOCK_QUANTITY - 1 },
        { productId: 3, quantity: 1 },
      ],
      expected: [{ productId: 3, quantity: MAX_STOCK_QUANTITY }],
    },
    {
      name: 'sorts numerically, not as text',
      lines: [
        { productId: 10, quantity: 1 },
        { productId: 9, quantity: 1 },
        { productId: 100, quantity: 1 },
      ],
      expected: [
        { productId: 9, quantity: 1 },
        { productId: 10, quantity: 1 },
        { productId: 100, quantity: 1 },
      ],
    },
  ])('$name', ({ lines, expected }) => {
    expect(normalizeLines(lines)).toEqual(expected);
  });

  it.each([
    { name: 'no lines', lines: [], fields: [] },
    { name: 'a zero quantity', lines: [{ productId: 1, quantity: 0 }], fields: ['lines.0.quantity'] },
    { name: 'a negative quantity', lines: [{ productId: 1, quantity: -2 }], fields: ['lines.0.quantity'] },
    { name: 'a fractional quantity', lines: [{ productId: 1, quantity: 0.5 }], fields: ['lines.0.quantity'] },
    { name: 'a NaN quantity', lines: [{ productId: 1, quantity: Number.NaN }], fields: ['lines.0.quantity'] },
    { name: 'a zero product id', lines: [{ productId: 0, quantity: 1 }], fields: ['lines.0.product_id'] },
    {
      name: 'an unsafe product id',
      lines: [{ productId: 2 ** 53, quantity: 1 }],
      fields: ['lines.0.product_id'],
    },
    {
      name: 'every bad line',
      lines: [
        { productId: 1, quantity: 1 },
        { productId: -1, quantity: 1.5 },
      ],
      fields: ['lines.1.product_id', 'lines.1.quantity'],
    },
    {
      name: 'a per-product total beyond the stock column',
      lines: [
        { productId: 1, quantity: MAX_STOCK_QUANTITY },
        { productId: 1, quantity: 1 },
      ],
      fields: ['lines'],
    },
  ])('rejects $name as invalid_argument', ({ lines, fields }) => {
    expect(errorOf(() => normalizeLines(lines))).toEqual({ code: 'invalid_argument', fields });
  });
});

describe('sameLines', () => {
  it('compares normalized lines exactly', () => {
    const a = [
      { productId: 1, quantity: 2 },
      { productId: 3, quantity: 1 },
    ];
    expect(sameLines(a, [...a])).toBe(true);
    expect(sameLines(a, a.slice(0, 1))).toBe(false);
    expect(sameLines(a, [a[0] as (typeof a)[0], { productId: 3, quantity: 2 }])).toBe(false);
    expect(sameLines(a, [a[0] as (typeof a)[0], { productId: 4, quantity: 1 }])).toBe(false);
  });
});

describe('reservationStatus', () => {
  it.each([
    [['RESERVED', 'RESERVED'], 'RESERVED'],
    [['COMMITTED'], 'COMMITTED'],
    [['RELEASED', 'RELEASED'], 'RELEASED'],
    [['EXPIRED'], 'EXPIRED'],
    [['RESERVED', 'EXPIRED'], 'EXPIRED'],
    [['COMMITTED', 'RELEASED'], 'RELEASED'],
    [['RESERVED', 'COMMITTED'], 'RESERVED'],
  ] as const)('%j -> %s', (statuses, expected) => {
    expect(reservationStatus(statuses)).toBe(expected);
  });
});
