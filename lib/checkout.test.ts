import { describe, expect, it } from 'vitest';
import {
  CHECKOUT_STATUSES,
  type CheckoutRecord,
  checkoutJson,
  checkoutSummary,
  formatAmount,
  isFinalStatus,
  statusRank,
} from './checkout.js';

const record: CheckoutRecord = {
  id: '3b1f6b1e-0a52-5b8c-9a50-7b1d2f3c4d5e',
  userId: 42,
  status: 'FAILED',
  lines: [
    {
      productId: 1,
      productName: 'Laptop',
      quantity: 2,
      priceCents: 129999,
      subtotalCents: 259998,
      cartLineVersion: 7,
    },
  ],
  totalCents: 259998,
  currency: 'USD',
  shippingAddress: { name: 'Ada', line1: '1 Row', city: 'London', postalCode: 'NW1', country: 'GB' },
  orderId: null,
  reservationExpiresAt: null,
  failure: { code: 'payment_declined', reason: 'NO_FUNDS', message: 'the payment was refused' },
  createdAt: '2026-01-01T12:00:00.000Z',
  updatedAt: '2026-01-01T12:00:01.000Z',
};

describe('checkout model', () => {
  it.each([
    [0, 'USD', '0.00 USD'],
    [5, 'USD', '0.05 USD'],
    [134997, 'USD', '1,349.97 USD'],
    [123456789, 'EUR', '1,234,567.89 EUR'],
    [-1050, 'USD', '-10.50 USD'],
  ])('formats %d %s as %s', (cents, currency, text) => {
    expect(formatAmount(cents, currency)).toBe(text);
  });

  it('summarises a checkout for the Web UI', () => {
    expect(checkoutSummary({ userId: 42, itemCount: 3, totalCents: 134997, currency: 'USD' })).toBe(
      'Checkout of 3 items, 1,349.97 USD for user 42',
    );
    expect(checkoutSummary({ userId: 7, itemCount: 1, totalCents: 999, currency: 'USD' })).toBe(
      'Checkout of 1 item, 9.99 USD for user 7',
    );
  });

  it('maps a record to the contract: snake_case, cents with decimal mirrors, nulls not omissions', () => {
    expect(checkoutJson(record)).toEqual({
      checkout_id: record.id,
      status: 'FAILED',
      items: [
        {
          product_id: 1,
          product_name: 'Laptop',
          quantity: 2,
          price_cents: 129999,
          price: 1299.99,
          subtotal_cents: 259998,
          subtotal: 2599.98,
        },
      ],
      total_cents: 259998,
      total_amount: 2599.98,
      currency: 'USD',
      shipping_address: {
        name: 'Ada',
        line1: '1 Row',
        line2: null,
        city: 'London',
        postal_code: 'NW1',
        country: 'GB',
      },
      order_id: null,
      reservation_expires_at: null,
      failure: { code: 'payment_declined', reason: 'NO_FUNDS', message: 'the payment was refused' },
      created_at: '2026-01-01T12:00:00.000Z',
      updated_at: '2026-01-01T12:00:01.000Z',
    });
    expect(checkoutJson({ ...record, shippingAddress: null, failure: null })).toMatchObject({
      shipping_address: null,
      failure: null,
    });
  });

  it('orders statuses forward and treats the three outcomes as final and equal', () => {
    const active = CHECKOUT_STATUSES.filter((status) => !isFinalStatus(status));
    expect(active).toEqual(['INITIATED', 'INVENTORY_RESERVED', 'PAYMENT_PENDING', 'PAYMENT_COMPLETED']);
    expect(active.map(statusRank)).toEqual([0, 1, 2, 3]);
    expect(new Set(['COMPLETED', 'FAILED', 'CANCELLED'].map((s) => statusRank(s as never)))).toEqual(
      new Set([4]),
    );
  });
});
