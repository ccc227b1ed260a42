import { describe, expect, it } from 'vitest';
import { assertProductId } from '../../lib/id-checks.js';
import type { Product } from '../catalog/catalog.service.js';
import { assertQuantity, buildCart, type CartRecord, emptyCartRecord } from './cart.model.js';

const now = new Date('2026-05-01T12:00:00Z');
const at = (iso: string) => new Date(iso);

function product(id: number, name: string, priceCents: number, deleted = false, currency = 'USD'): Product {
  return {
    id,
    name,
    description: '',
    priceCents,
    currency,
    imageUrl: null,
    available: 10,
    createdAt: at('2026-01-01T00:00:00Z'),
    updatedAt: at('2026-01-01T00:00:00Z'),
    deletedAt: deleted ? at('2026-04-01T00:00:00Z') : null,
  };
}

const catalog = new Map(
  [
    product(1, 'Laptop', 129999),
    product(2, 'Mouse', 2999),
    product(7, 'Retired', 500, true),
    product(8, 'Croissant', 250, false, 'EUR'),
    product(9, 'Baguette', 180, false, 'EUR'),
  ].map((p) => [p.id, p]),
);

const record = (lines: CartRecord['lines']): CartRecord => ({
  id: '0190a1b2-0000-7000-8000-000000000001',
  userId: 42,
  version: 9,
  lines,
  createdAt: at('2026-04-30T10:00:00Z'),
  updatedAt: at('2026-04-30T11:00:00Z'),
});

describe('buildCart', () => {
  it('gives a user without a cart an empty one stamped with the current time', () => {
    expect(buildCart(emptyCartRecord(42), catalog, now)).toEqual({
      id: null,
      userId: 42,
      lines: [],
      totalItems: 0,
      totalCents: 0,
      currency: 'USD',
      createdAt: now,
      updatedAt: now,
    });
  });

  it('prices every line from the catalog and totals in cents', () => {
    const cart = buildCart(
      record([
        { productId: 2, quantity: 3, addedAt: at('2026-04-30T10:05:00Z'), version: 8 },
        { productId: 1, quantity: 2, addedAt: at('2026-04-30T10:00:00Z'), version: 7 },
      ]),
      catalog,
      now,
    );
    expect(cart.lines).toEqual([
      {
        productId: 1,
        quantity: 2,
        addedAt: at('2026-04-30T10:00:00Z'),
        productName: 'Laptop',
        priceCents: 129999,
        subtotalCents: 259998,
        purchasable: true,
      },
      {
        productId: 2,
        quantity: 3,
        addedAt: at('2026-04-30T10:05:00Z'),
        productName: 'Mouse',
        priceCents: 2999,
        subtotalCents: 8997,
        purchasable: true,
      },
    ]);
    expect(cart).toMatchObject({
      id: '0190a1b2-0000-7000-8000-000000000001',
      userId: 42,
      totalItems: 5,
      totalCents: 268995,
      currency: 'USD',
      createdAt: at('2026-04-30T10:00:00Z'),
      updatedAt: at('2026-04-30T11:00:00Z'),
    });
  });

  it('orders lines added at the same time by product id', () => {
    const same = at('2026-04-30T10:00:00Z');
    const cart = buildCart(
      record([
        { productId: 7, quantity: 1, addedAt: same, version: 1 },
        { productId: 2, quantity: 1, addedAt: same, version: 1 },
        { productId: 1, quantity: 1, addedAt: same, version: 1 },
      ]),
      catalog,
      now,
    );
    expect(cart.lines.map((line) => line.productId)).toEqual([1, 2, 7]);
  });

  it('keeps a deleted product visible but not purchasable, still in the totals', () => {
    const cart = buildCart(
      record([{ productId: 7, quantity: 4, addedAt: at('2026-04-30T10:00:00Z'), version: 3 }]),
      catalog,
      now,
    );
    expect(cart.lines[0]).toMatchObject({ productName: 'Retired', purchasable: false, subtotalCents: 2000 });
    expect(cart.totalCents).toBe(2000);
  });

  it('is in the currency of its products', () => {
    const cart = buildCart(
      record([
        { productId: 8, quantity: 2, addedAt: at('2026-04-30T10:00:00Z'), version: 1 },
        { productId: 9, quantity: 1, addedAt: at('2026-04-30T10:01:00Z'), version: 2 },
      ]),
      catalog,
      now,
    );
    expect(cart).toMatchObject({ currency: 'EUR', totalCents: 680 });
    expect(cart.lines.map((line) => line.purchasable)).toEqual([true, true]);
  });

  it('never totals two currencies: the oldest line sets the currency, a line in another is left out and not purchasable', () => {
    const cart = buildCart(
      record([
        { productId: 1, quantity: 1, addedAt: at('2026-04-30T10:05:00Z'), version: 2 },
        { productId: 8, quantity: 2, addedAt: at('2026-04-30T10:00:00Z'), version: 1 },
        { productId: 9, quantity: 1, addedAt: at('2026-04-30T10:06:00Z'), version: 3 },
      ]),
      catalog,
      now,
    );
    expect(cart).toMatchObject({ currency: 'EUR', totalItems: 4, totalCents: 680 });
    expect(cart.lines.map((line) => [line.productId, line.subtotalCents, line.purchasable])).toEqual([
      [8, 500, true],
      [1, 129999, false],
      [9, 180, true],
    ]);
  });

  it('refuses to price a line whose product the catalog does not know', () => {
    expect(() =>
      buildCart(record([{ productId: 99, quantity: 1, addedAt: now, version: 1 }]), catalog, now),
    ).toThrow(/unknown product 99/);
  });
});

describe('cart input rules', () => {
  it.each([1, 2, 50, 99])('accepts quantity %d', (quantity) => {
    expect(() => assertQuantity(quantity)).not.toThrow();
  });

  it.each([0, -1, 100, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses quantity %d', (quantity) => {
    expect(() => assertQuantity(quantity)).toThrow(expect.objectContaining({ code: 'invalid_quantity' }));
  });

  it.each([1, Number.MAX_SAFE_INTEGER])('accepts product id %d', (id) => {
    expect(() => assertProductId(id)).not.toThrow();
  });

  it.each([0, -1, 2.5, Number.MAX_SAFE_INTEGER + 1])('refuses product id %d', (id) => {
    expect(() => assertProductId(id)).toThrow(expect.objectContaining({ code: 'invalid_product_id' }));
  });
});
