import { describe, expect, it } from 'vitest';
import { assertProductId, assertUserId, isPositiveId, uuidKey } from './id-checks.js';

const valid = [1, 42, Number.MAX_SAFE_INTEGER];
const invalid = [
  0,
  -1,
  2.5,
  Number.MAX_SAFE_INTEGER + 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '1',
  null,
  undefined,
];

describe('positive ids', () => {
  it.each(valid)('accepts %d', (id) => {
    expect(isPositiveId(id)).toBe(true);
    expect(() => assertProductId(id)).not.toThrow();
    expect(() => assertUserId(id)).not.toThrow();
  });

  it.each(invalid)(
    'refuses %j: a product id with invalid_product_id, a user id with invalid_argument',
    (id) => {
      expect(isPositiveId(id)).toBe(false);
      expect(() => assertProductId(id as number)).toThrow(
        expect.objectContaining({ code: 'invalid_product_id' }),
      );
      expect(() => assertUserId(id as number)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    },
  );
});

describe('uuidKey', () => {
  it('answers a UUID in lower case', () => {
    expect(uuidKey('0190F3A2-7B1C-7D2E-8F3A-1B2C3D4E5F60', 'checkout id')).toBe(
      '0190f3a2-7b1c-7d2e-8f3a-1b2c3d4e5f60',
    );
  });

  it.each(['', 'nope', '0190f3a2-7b1c-7d2e-8f3a-1b2c3d4e5f6', 42])(
    'refuses %j with invalid_argument',
    (value) => {
      expect(() => uuidKey(value as string, 'checkout id')).toThrow(
        expect.objectContaining({ code: 'invalid_argument', message: 'checkout id must be a UUID' }),
      );
    },
  );
});
