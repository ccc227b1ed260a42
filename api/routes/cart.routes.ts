import type { CartService } from '../../services/cart/cart.service.js';
import type { AuthUser } from '../context.js';
import type { Router } from '../route.js';
import {
  AddCartItemBody,
  CartItemParams,
  CartSchema,
  cartJson,
  UpdateCartItemBody,
} from '../schemas/cart.schemas.js';

const fieldCodes = { product_id: 'invalid_product_id', quantity: 'invalid_quantity' } as const;

/** Authentication guarantees a user on these routes; this narrows the type. */
function userId(user: AuthUser | undefined): number {
  if (!user) throw new Error('cart route reached without an authenticated user');
  return user.id;
}

export function registerCartRoutes(router: Router, { cart }: { cart: CartService }): void {
  router.route(
    {
      method: 'get',
      path: '/api/v1/cart',
      operationId: 'getCart',
      summary: 'Get my cart',
      description: 'A user without a cart gets an empty one (`id` null); nothing is created.',
      tags: ['Cart'],
      access: 'user',
      responses: { 200: { description: 'The cart, priced from the current catalog', schema: CartSchema } },
    },
    async (c, { user }) => c.json(cartJson(await cart.get(userId(user)))),
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/cart/items',
      operationId: 'addCartItem',
      summary: 'Add a product to my cart',
      description:
        'Creates the cart on first add. A product already in the cart gets the new quantity (replaced, not summed). At most 50 different products.',
      tags: ['Cart'],
      access: 'user',
      body: AddCartItemBody,
      fieldCodes,
      errors: ['not_found', 'cart_full'],
      responses: { 201: { description: 'The updated cart', schema: CartSchema } },
    },
    async (c, { user, body }) =>
      c.json(cartJson(await cart.addItem(userId(user), body.product_id, body.quantity)), 201),
  );

  router.route(
    {
      method: 'put',
      path: '/api/v1/cart/items/{product_id}',
      operationId: 'updateCartItem',
      summary: 'Change the quantity of a product in my cart',
      tags: ['Cart'],
      access: 'user',
      params: CartItemParams,
      body: UpdateCartItemBody,
      fieldCodes,
      errors: ['not_found'],
      responses: { 200: { description: 'The updated cart', schema: CartSchema } },
    },
    async (c, { user, params, body }) =>
      c.json(cartJson(await cart.updateQuantity(userId(user), params.product_id, body.quantity))),
  );

  router.route(
    {
      method: 'delete',
      path: '/api/v1/cart/items/{product_id}',
      operationId: 'removeCartItem',
      summary: 'Remove a product from my cart',
      description: 'Idempotent: removing a product that is not in the cart (or without a cart) answers 200.',
      tags: ['Cart'],
      access: 'user',
      params: CartItemParams,
      fieldCodes,
      responses: { 200: { description: 'The updated cart', schema: CartSchema } },
    },
    async (c, { user, params }) => c.json(cartJson(await cart.removeItem(userId(user), params.product_id))),
  );

  router.route(
    {
      method: 'delete',
      path: '/api/v1/cart',
      operationId: 'clearCart',
      summary: 'Empty my cart',
      description: 'Idempotent.',
      tags: ['Cart'],
      access: 'user',
      responses: { 200: { description: 'The empty cart', schema: CartSchema } },
    },
    async (c, { user }) => c.json(cartJson(await cart.clear(userId(user)))),
  );
}
