import { describe, expect, it } from 'vitest';
import { mintToken } from '../support/black-box.js';
import { type E2E, expectOk, expectProblem, UUID_PATTERN } from './harness.js';

/** What `curl -d` sends: the original gateway decoded it as JSON whatever the Content-Type. */
const CURL_FORM = 'application/x-www-form-urlencoded';

/**
 * The original Go gateway's documented `curl` flow (go_cart, section 3), unchanged: the same
 * paths and bodies, a token minted as its `tokengen` did (HS256, integer `user_id`, issuer
 * `ecommerce-platform`, 24 hours), with the secret this installation uses.
 */
export function gatewayFlowSuite(e2e: () => E2E): void {
  describe("the original gateway's curl flow", () => {
    it('health, products, cart add/replace/update/remove, checkout with idempotency_key, orders, clear', async () => {
      const { api, secrets } = e2e();
      const userId = e2e().newUser();
      const token = await mintToken(secrets.jwtSecret, { userId });
      const curl = (method: string, path: string, data?: string) =>
        api.call(method, path, {
          token,
          ...(data === undefined ? {} : { body: data, contentType: CURL_FORM }),
        });

      expect(expectOk(await curl('GET', '/health'))).toEqual({ status: 'ok' });

      const catalog = expectOk(await curl('GET', '/api/v1/products'));
      expect(catalog.products.slice(0, 5).map((p: { id: number; price: number }) => [p.id, p.price])).toEqual(
        [
          [1, 1299.99],
          [2, 29.99],
          [3, 89.99],
          [4, 399.99],
          [5, 249.99],
        ],
      );

      const empty = expectOk(await curl('GET', '/api/v1/cart'));
      expect(empty).toMatchObject({ user_id: userId, cart: [] });

      const added = expectOk(await curl('POST', '/api/v1/cart/items', '{"product_id":1,"quantity":2}'), 201);
      expect(added.cart).toEqual([expect.objectContaining({ product_id: 1, quantity: 2 })]);
      // The same product again replaces its quantity.
      const replaced = expectOk(
        await curl('POST', '/api/v1/cart/items', '{"product_id":1,"quantity":3}'),
        201,
      );
      expect(replaced.cart).toEqual([expect.objectContaining({ product_id: 1, quantity: 3 })]);
      expectOk(await curl('POST', '/api/v1/cart/items', '{"product_id":2,"quantity":1}'), 201);

      const updated = expectOk(await curl('PUT', '/api/v1/cart/items/1', '{"quantity":5}'));
      expect(updated.cart).toEqual([
        expect.objectContaining({ product_id: 1, quantity: 5 }),
        expect.objectContaining({ product_id: 2, quantity: 1 }),
      ]);
      const removed = expectOk(await curl('DELETE', '/api/v1/cart/items/2'));
      expect(removed.cart).toEqual([expect.objectContaining({ product_id: 1, quantity: 5 })]);

      // The gateway's checkout: the key in the body, 201 {checkout_id, status: "COMPLETED"}.
      const key = `curl-flow-${userId}`;
      const checkout = expectOk(await curl('POST', '/api/v1/checkout', `{"idempotency_key":"${key}"}`), 201);
      expect(checkout).toMatchObject({
        checkout_id: expect.stringMatching(UUID_PATTERN),
        status: 'COMPLETED',
      });
      const replay = expectOk(await curl('POST', '/api/v1/checkout', `{"idempotency_key":"${key}"}`), 201);
      expect(replay).toMatchObject({ checkout_id: checkout.checkout_id, status: 'COMPLETED' });
      expectProblem(await curl('POST', '/api/v1/checkout', '{}'), 400, 'missing_idempotency_key');

      const orders = expectOk(await curl('GET', '/api/v1/orders'));
      expect(orders).toHaveLength(1);
      expect(orders[0]).toMatchObject({
        id: checkout.order_id,
        checkout_id: checkout.checkout_id,
        total_amount: 6499.95,
        currency: 'USD',
        status: 'CONFIRMED',
        items: [{ product_id: 1, product_name: 'Laptop', quantity: 5, price: 1299.99 }],
        created_at: expect.any(String),
      });
      const order = expectOk(await curl('GET', `/api/v1/orders/${checkout.order_id}`));
      expect(order.id).toBe(checkout.order_id);
      expectProblem(await curl('GET', '/api/v1/orders/not-a-uuid'), 400, 'invalid_argument');

      // The purchased lines left the cart; clearing is still fine (and idempotent).
      expect(expectOk(await curl('GET', '/api/v1/cart')).cart).toEqual([]);
      expect(expectOk(await curl('DELETE', '/api/v1/cart')).cart).toEqual([]);

      // The original's error shapes, now problem documents with the same `code` and `error`.
      const invalid = expectProblem(
        await curl('POST', '/api/v1/cart/items', '{"product_id":1,"quantity":0}'),
        400,
        'invalid_quantity',
      );
      expect(invalid.error).toEqual(expect.any(String));
      expectProblem(
        await curl('POST', '/api/v1/cart/items', '{"product_id":0,"quantity":1}'),
        400,
        'invalid_product_id',
      );
      expectProblem(await curl('POST', '/api/v1/cart/items', 'not json'), 400, 'invalid_request');
      expectProblem(await curl('PUT', '/api/v1/cart/items/3', '{"quantity":2}'), 404, 'not_found');
    });
  });
}
