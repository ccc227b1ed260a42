import { z } from '@hono/zod-openapi';
import { centsToDecimal, lineAmountsJson } from '../../lib/money.js';
import { type Cart, MAX_QUANTITY } from '../../services/cart/cart.model.js';
import { bodyId, pathId, Timestamp } from './common.js';

export const CartItemSchema = z
  .object({
    product_id: z.number().int().openapi({ example: 1 }),
    quantity: z.number().int().min(1).max(MAX_QUANTITY).openapi({ example: 2 }),
    added_at: Timestamp,
    product_name: z.string().openapi({ example: 'Laptop' }),
    price_cents: z
      .number()
      .int()
      .openapi({ example: 129999, description: "Current catalog unit price, in the product's currency." }),
    price: z
      .number()
      .openapi({ example: 1299.99, description: 'Decimal form of `price_cents`, for compatibility.' }),
    subtotal_cents: z.number().int().openapi({ example: 259998 }),
    subtotal: z
      .number()
      .openapi({ example: 2599.98, description: 'Decimal form of `subtotal_cents`, for compatibility.' }),
    purchasable: z.boolean().openapi({
      example: true,
      description:
        "False when the product was deleted from the catalog after it was added, or is priced in a currency other than the cart's: the line stays visible, and checkout refuses the cart (`product_unavailable`, `currency_mismatch`) until it is removed.",
    }),
  })
  .openapi('CartItem');

export const CartSchema = z
  .object({
    id: z.string().nullable().openapi({
      format: 'uuid',
      description: 'Null while the user has no cart (nothing is created by reading).',
    }),
    user_id: z.number().int().openapi({ example: 42 }),
    cart: z.array(CartItemSchema).openapi({ description: 'The lines, oldest first; `[]` when empty.' }),
    total_items: z.number().int().openapi({ example: 2, description: 'Sum of the quantities.' }),
    total_cents: z.number().int().openapi({ example: 259998 }),
    total_price: z
      .number()
      .openapi({ example: 2599.98, description: 'Decimal form of `total_cents`, for compatibility.' }),
    currency: z.string().openapi({
      example: 'USD',
      description:
        "The cart's currency: that of its oldest line's product (`USD` when empty). The totals are in it.",
    }),
    created_at: Timestamp.openapi({ description: 'The current time while the user has no cart.' }),
    updated_at: Timestamp.openapi({ description: 'The current time while the user has no cart.' }),
  })
  .openapi('Cart', {
    description:
      "A cart priced from the current catalog. Totals include every line in the cart's currency, purchasable or not (a deleted product's too); a line priced in another currency is never added in: it is not purchasable, and checkout refuses the cart with 422 `currency_mismatch` until it is removed.",
  });

const quantity = z
  .number()
  .int(`quantity must be an integer between 1 and ${MAX_QUANTITY}`)
  .min(1, `quantity must be between 1 and ${MAX_QUANTITY}`)
  .max(MAX_QUANTITY, `quantity must be between 1 and ${MAX_QUANTITY}`)
  .openapi({ example: 2 });

export const AddCartItemBody = z
  .object({ product_id: bodyId('product_id'), quantity })
  .openapi('AddCartItem', {
    description: 'Adding a product already in the cart replaces its quantity.',
  });

export const UpdateCartItemBody = z.object({ quantity }).openapi('UpdateCartItem');

export const CartItemParams = z.object({ product_id: pathId('product_id') });

export type CartJson = z.infer<typeof CartSchema>;

/** The contract's `Cart`: snake_case, with the decimal mirrors of the cents. */
export function cartJson(cart: Cart): CartJson {
  return {
    id: cart.id,
    user_id: cart.userId,
    cart: cart.lines.map((line) => ({
      product_id: line.productId,
      quantity: line.quantity,
      added_at: line.addedAt.toISOString(),
      product_name: line.productName,
      ...lineAmountsJson(line),
      purchasable: line.purchasable,
    })),
    total_items: cart.totalItems,
    total_cents: cart.totalCents,
    total_price: centsToDecimal(cart.totalCents),
    currency: cart.currency,
    created_at: cart.createdAt.toISOString(),
    updated_at: cart.updatedAt.toISOString(),
  };
}
