import { describe, expect, it } from 'vitest';
import { buildCart, type Cart, emptyCartRecord } from '../../services/cart/cart.model.js';
import { CartSchema, cartJson } from './cart.schemas.js';

const at = (iso: string) => new Date(iso);
const now = at('2026-05-01T12:00:00Z');

/** A user without a cart, as the model builds it. */
const empty = buildCart(emptyCartRecord(42), new Map(), now);

const priced: Cart = {
  id: '0190a1b2-0000-7000-8000-000000000001',
  userId: 42,
  lines: [
    {
      productId: 1,
      productName: 'Laptop',
      quantity: 2,
      addedAt: at('2026-04-30T10:00:00Z'),
      priceCents: 129999,
      subtotalCents: 259998,
      purchasable: true,
    },
    {
      productId: 2,
      productName: 'Mouse',
      quantity: 3,
      addedAt: at('2026-04-30T10:05:00Z'),
      priceCents: 2999,
      subtotalCents: 8997,
      purchasable: false,
    },
  ],
  totalItems: 5,
  totalCents: 268995,
  currency: 'USD',
  createdAt: at('2026-04-30T10:00:00Z'),
  updatedAt: at('2026-04-30T11:00:00Z'),
};

describe('cartJson', () => {
  it('renders a user without a cart as the contract shows it', () => {
    expect(cartJson(empty)).toEqual({
      id: null,
      user_id: 42,
      cart: [],
      total_items: 0,
      total_cents: 0,
      total_price: 0,
      currency: 'USD',
      created_at: '2026-05-01T12:00:00.000Z',
      updated_at: '2026-05-01T12:00:00.000Z',
    });
  });

  it('renders every line and total in snake_case, with the decimal mirrors of the cents', () => {
    const json = cartJson(priced);
    expect(json.cart).toEqual([
      {
        product_id: 1,
        quantity: 2,
        added_at: '2026-04-30T10:00:00.000Z',
        product_name: 'Laptop',
        price_cents: 129999,
        price: 1299.99,
        subtotal_cents: 259998,
        subtotal: 2599.98,
        purchasable: true,
      },
      {
        product_id: 2,
        quantity: 3,
        added_at: '2026-04-30T10:05:00.000Z',
        product_name: 'Mouse',
        price_cents: 2999,
        price: 29.99,
        subtotal_cents: 8997,
        subtotal: 89.97,
        purchasable: false,
      },
    ]);
    expect(json).toMatchObject({
      id: '0190a1b2-0000-7000-8000-000000000001',
      total_items: 5,
      total_cents: 268995,
      total_price: 2689.95,
      created_at: '2026-04-30T10:00:00.000Z',
      updated_at: '2026-04-30T11:00:00.000Z',
    });
    expect(cartJson({ ...empty, totalCents: 680, currency: 'EUR' })).toMatchObject({
      total_cents: 680,
      total_price: 6.8,
      currency: 'EUR',
    });
  });

  it('writes the members in the order the contract has always sent them', () => {
    const json = cartJson(priced);
    expect(Object.keys(json)).toEqual(Object.keys(CartSchema.shape));
    expect(JSON.stringify(json)).toMatch(
      /^\{"id":"[^"]+","user_id":42,"cart":\[\{"product_id":1,"quantity":2,"added_at":"[^"]+","product_name":"Laptop","price_cents":129999,"price":1299.99,"subtotal_cents":259998,"subtotal":2599.98,"purchasable":true\},/,
    );
  });
});
