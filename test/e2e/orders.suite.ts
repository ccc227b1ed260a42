import { describe, expect, it } from 'vitest';
import type { Json } from '../support/black-box.js';
import type { E2E } from './harness.js';
import { expectMoney, expectOk, expectProblem, UUID_PATTERN } from './harness.js';
import {
  expectCheckout,
  newProduct,
  newShopper,
  SHIPPING_ADDRESS,
  type Shopper,
  stockOf,
} from './shopper.js';

async function buy(shop: Shopper, productId: number, quantity: number, key: string): Promise<Json> {
  await shop.add(productId, quantity);
  const checkout = expectCheckout(
    await shop.checkout(key, { shipping_address: SHIPPING_ADDRESS }),
    201,
    'COMPLETED',
  );
  // The capture may finish moments after the 201 (API.md); the order shows it.
  return shop.orderUntil(checkout.order_id, (order) => order.payment.status === 'CAPTURED');
}

/** Orders: reads, pagination, cancellation with refund and restock, the admin's ship and deliver. */
export function ordersSuite(e2e: () => E2E): void {
  describe('orders', () => {
    it('lists my orders newest first as an array, paged with Link rel="next"', async () => {
      const shop = await newShopper(e2e());
      const first = await buy(shop, 2, 1, 'o-1');
      const second = await buy(shop, 3, 2, 'o-2');
      const all = expectOk(await shop.orders());
      expect(Array.isArray(all)).toBe(true);
      expect(all.map((order: { id: string }) => order.id)).toEqual([second.id, first.id]);

      const page = await shop.orders('?limit=1');
      expect(expectOk(page).map((order: { id: string }) => order.id)).toEqual([second.id]);
      const next = /<([^>]+)>;\s*rel="next"/.exec(page.headers.get('link') ?? '')?.[1];
      expect(next).toBeDefined();
      const rest = expectOk(await e2e().api.get(next as string, { token: shop.token }));
      expect(rest.map((order: { id: string }) => order.id)).toEqual([first.id]);
      expectProblem(await shop.orders('?limit=0'), 400, 'invalid_argument');

      // Another user has none of them.
      const stranger = await newShopper(e2e());
      expect(expectOk(await stranger.orders())).toEqual([]);
      expectProblem(await stranger.order(first.id), 404, 'not_found');
    });

    it('reads one order with its items, payment and shipping address', async () => {
      const shop = await newShopper(e2e());
      const order = await buy(shop, 5, 2, 'o-read');
      expect(order).toMatchObject({
        id: expect.stringMatching(UUID_PATTERN),
        checkout_id: expect.stringMatching(UUID_PATTERN),
        status: 'CONFIRMED',
        total_cents: 49998,
        total_amount: 499.98,
        currency: 'USD',
        items: [
          {
            product_id: 5,
            product_name: 'Headphones',
            quantity: 2,
            price_cents: 24999,
            price: 249.99,
            subtotal_cents: 49998,
          },
        ],
        payment: {
          payment_id: expect.stringMatching(UUID_PATTERN),
          status: 'CAPTURED',
          amount_cents: 49998,
          refunded_cents: 0,
        },
        shipping_address: { ...SHIPPING_ADDRESS, line2: null },
        tracking_number: null,
      });
      expectMoney(order.total_cents, order.total_amount);
      expectProblem(await shop.order('not-a-uuid'), 400, 'invalid_argument');
      expectProblem(await shop.order('00000000-0000-4000-8000-000000000003'), 404, 'not_found');
    });

    it('cancels a confirmed order: refunded and restocked once, however often asked', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Teapot', price_cents: 2500, stock: 6 });
      const order = await buy(shop, product.id, 2, 'o-cancel');
      expect((await stockOf(e2e(), product.id)).on_hand).toBe(4);

      const cancelled = await shop.cancelOrder(order.id);
      expect([200, 202]).toContain(cancelled.status);
      const settled = await shop.orderUntil(order.id, (o) => o.payment.status === 'REFUNDED');
      expect(settled).toMatchObject({
        status: 'CANCELLED',
        payment: { refunded_cents: 5000, amount_cents: 5000 },
      });
      expect(expectOk(await shop.cancelOrder(order.id)).status).toBe('CANCELLED');
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 6, reserved: 0 });

      // A cancelled order cannot ship.
      const admin = await e2e().adminToken();
      expectProblem(
        await e2e().api.post(`/api/v1/orders/${order.id}/ship`, { token: admin, json: {} }),
        409,
        'conflict',
      );
    });

    it('ships and delivers (admin); a shipped order is not cancellable, moves out of order are 409', async () => {
      const shop = await newShopper(e2e());
      const order = await buy(shop, 2, 1, 'o-ship');
      const { api } = e2e();
      const admin = await e2e().adminToken();
      expectProblem(await api.post(`/api/v1/orders/${order.id}/deliver`, { token: admin }), 409, 'conflict');

      const shipped = expectOk(
        await api.post(`/api/v1/orders/${order.id}/ship`, {
          token: admin,
          json: { tracking_number: '1Z999' },
        }),
      );
      expect(shipped).toMatchObject({ status: 'SHIPPED', tracking_number: '1Z999' });
      // Shipping again with the same tracking number answers the order again.
      expect(
        expectOk(
          await api.post(`/api/v1/orders/${order.id}/ship`, {
            token: admin,
            json: { tracking_number: '1Z999' },
          }),
        ).status,
      ).toBe('SHIPPED');
      expectProblem(await shop.cancelOrder(order.id), 409, 'order_not_cancellable');

      const delivered = expectOk(await api.post(`/api/v1/orders/${order.id}/deliver`, { token: admin }));
      expect(delivered.status).toBe('DELIVERED');
      expectProblem(await shop.cancelOrder(order.id), 409, 'order_not_cancellable');
      expect(expectOk(await shop.order(order.id)).status).toBe('DELIVERED');
      expectProblem(
        await api.post('/api/v1/orders/00000000-0000-4000-8000-000000000004/ship', {
          token: admin,
          json: {},
        }),
        404,
        'not_found',
      );
    });

    it("lets an admin cancel any order; a user cannot cancel another user's (404)", async () => {
      const shop = await newShopper(e2e());
      const order = await buy(shop, 3, 1, 'o-admin');
      const stranger = await newShopper(e2e());
      expectProblem(await stranger.cancelOrder(order.id), 404, 'not_found');
      const admin = await e2e().adminToken();
      const answer = await e2e().api.post(`/api/v1/orders/${order.id}/cancel`, {
        token: admin,
        json: { reason: 'fraud' },
      });
      expect([200, 202]).toContain(answer.status);
      await shop.orderUntil(order.id, (o) => o.status === 'CANCELLED' && o.payment.status === 'REFUNDED');
    });
  });
}
