import { describe, expect, it } from 'vitest';
import { isUuid } from '../../lib/id-checks.js';
import { checkoutIdFor, requestHash } from './checkout.service.js';

describe('checkout ids and request binding', () => {
  it('names the same checkout for the same user and key, and another for any other', () => {
    const id = checkoutIdFor(42, 'order-1');
    expect(isUuid(id)).toBe(true);
    expect(checkoutIdFor(42, 'order-1')).toBe(id);
    expect(
      new Set([id, checkoutIdFor(43, 'order-1'), checkoutIdFor(42, 'order-2'), checkoutIdFor(4, '2:order-1')])
        .size,
    ).toBe(4);
  });

  it('hashes exactly what binds a key: the token and the address, field by field', () => {
    const address = { name: 'Ada', line1: '1 Row', city: 'London', postalCode: 'NW1', country: 'GB' };
    const base = requestHash({ paymentToken: 'tok_visa', shippingAddress: address });
    expect(requestHash({ paymentToken: 'tok_visa', shippingAddress: { ...address } })).toBe(base);
    expect(requestHash({ paymentToken: 'tok_chargeDeclined', shippingAddress: address })).not.toBe(base);
    expect(
      requestHash({ paymentToken: 'tok_visa', shippingAddress: { ...address, city: 'Paris' } }),
    ).not.toBe(base);
    expect(
      requestHash({ paymentToken: 'tok_visa', shippingAddress: { ...address, line2: 'Flat 3' } }),
    ).not.toBe(base);
    expect(requestHash({ paymentToken: 'tok_visa', shippingAddress: undefined })).not.toBe(base);
    expect(requestHash({ paymentToken: undefined, shippingAddress: undefined })).toMatch(/^[0-9a-f]{64}$/);
  });
});
