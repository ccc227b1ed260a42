import { describe, expect, it } from 'vitest';
import type { Json } from '../support/black-box.js';
import type { E2E } from './harness.js';
import { expectMoney, expectOk, expectProblem, UUID_PATTERN } from './harness.js';
import {
  deliverWebhook,
  expectCheckout,
  newProduct,
  newShopper,
  SHIPPING_ADDRESS,
  stockOf,
} from './shopper.js';

/** A failed checkout's problem document: the code, the checkout it is about and that checkout's status. */
function expectCheckoutProblem(
  answer: Parameters<typeof expectProblem>[0],
  status: number,
  code: string,
  checkoutStatus: string,
): Json {
  const problem = expectProblem(answer, status, code);
  expect(problem.checkout_id).toMatch(UUID_PATTERN);
  // `status` of a problem document is the HTTP status (RFC 9457); the checkout's is `checkout_status`.
  expect(problem.checkout_status).toBe(checkoutStatus);
  return problem;
}

/** The checkout saga from outside: outcomes, idempotency, 3-D Secure, cancellation. */
export function checkoutSuite(e2e: () => E2E, options: { reservationTtlMs: number }): void {
  describe('checkout', () => {
    it('completes: 201 with the order, stock committed, exactly the purchased lines gone from the cart', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Kettle', price_cents: 3450, stock: 10 });
      await shop.add(product.id, 3);
      await shop.add(2, 1);
      const answer = await shop.checkout('buy-1', {
        payment_token: 'tok_visa',
        shipping_address: SHIPPING_ADDRESS,
      });
      const checkout = expectCheckout(answer, 201, 'COMPLETED');
      expect(checkout.checkout_id).toMatch(UUID_PATTERN);
      expect(checkout.order_id).toMatch(UUID_PATTERN);
      // In the order the lines were added to the cart, priced when the checkout started.
      expect(checkout.items).toEqual([
        {
          product_id: product.id,
          product_name: 'E2E Kettle',
          quantity: 3,
          price_cents: 3450,
          price: 34.5,
          subtotal_cents: 10350,
          subtotal: 103.5,
        },
        {
          product_id: 2,
          product_name: 'Mouse',
          quantity: 1,
          price_cents: 2999,
          price: 29.99,
          subtotal_cents: 2999,
          subtotal: 29.99,
        },
      ]);
      expect(checkout).toMatchObject({
        total_cents: 13349,
        total_amount: 133.49,
        currency: 'USD',
        failure: null,
        shipping_address: { ...SHIPPING_ADDRESS, line2: null },
      });
      expectMoney(checkout.total_cents, checkout.total_amount);

      expect((await shop.cart()).cart).toEqual([]);
      expect(await stockOf(e2e(), product.id)).toEqual({
        product_id: product.id,
        on_hand: 7,
        reserved: 0,
        available: 7,
      });
      const stored = expectOk(await shop.get(checkout.checkout_id));
      expect(stored).toMatchObject({
        checkout_id: checkout.checkout_id,
        status: 'COMPLETED',
        order_id: checkout.order_id,
      });
    });

    it('never runs a key twice: repeats, also concurrent, answer the same checkout and buy once', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Candle', price_cents: 700, stock: 10 });
      await shop.add(product.id, 2);
      const answers = await Promise.all(
        [1, 2, 3].map(() => shop.checkout('same-key', { payment_token: 'tok_visa' })),
      );
      const ids = new Set(answers.map((answer) => expectCheckout(answer, 201, 'COMPLETED').checkout_id));
      expect(ids.size).toBe(1);
      const later = expectCheckout(
        await shop.checkout('same-key', { payment_token: 'tok_visa' }),
        201,
        'COMPLETED',
      );
      expect(ids.has(later.checkout_id)).toBe(true);
      expect((await stockOf(e2e(), product.id)).on_hand).toBe(8);
      const orders = expectOk(await shop.orders());
      expect(
        orders.filter((order: { checkout_id: string }) => order.checkout_id === later.checkout_id),
      ).toHaveLength(1);

      // The same key with another body is refused, whatever the outcome of the first.
      expectProblem(
        await shop.checkout('same-key', { payment_token: 'tok_threeDSecure' }),
        422,
        'idempotency_key_reused',
      );
    });

    it('validates the key and the body; an empty cart is 422 cart_empty and leaves the key unused', async () => {
      const shop = await newShopper(e2e());
      const { api } = e2e();
      expectProblem(
        await api.post('/api/v1/checkout', { token: shop.token, json: {} }),
        400,
        'missing_idempotency_key',
      );
      expectProblem(
        await shop.checkout('header-key', { idempotency_key: 'body-key' }),
        400,
        'invalid_argument',
      );
      expectProblem(await shop.checkout('bad key with spaces'), 400, 'invalid_argument');
      expectProblem(
        await shop.checkout('k-addr', { shipping_address: { name: 'No street' } }),
        400,
        'invalid_argument',
      );
      expectProblem(await shop.checkout('k-token', { payment_token: 42 }), 400, 'invalid_request');

      expectProblem(await shop.checkout('later-key'), 422, 'cart_empty');
      await shop.add(2, 1);
      expectCheckout(await shop.checkout('later-key'), 201, 'COMPLETED');
    });

    it('takes the key from the body as the original gateway sent it', async () => {
      const shop = await newShopper(e2e());
      await shop.add(2, 1);
      const answer = await e2e().api.post('/api/v1/checkout', {
        token: shop.token,
        json: { idempotency_key: 'gateway-style' },
      });
      const first = expectCheckout(answer, 201, 'COMPLETED');
      const again = await shop.checkout('gateway-style');
      expect(expectCheckout(again, 201, 'COMPLETED').checkout_id).toBe(first.checkout_id);
    });

    it('answers 202 at once with Prefer: respond-async, then completes', async () => {
      const shop = await newShopper(e2e());
      await shop.add(3, 1);
      const answer = await shop.checkout('async-1', {}, { Prefer: 'respond-async' });
      const accepted = expectCheckout(answer, 202, answer.body.status);
      expect(answer.headers.get('preference-applied')).toBe('respond-async');
      const done = await shop.until(accepted.checkout_id, 'COMPLETED');
      expect(done.order_id).toMatch(UUID_PATTERN);
    });

    it('refused cards: 402 payment_declined with the reason; nothing sold, the cart kept', async () => {
      const product = await newProduct(e2e(), { name: 'E2E Vase', price_cents: 5000, stock: 4 });
      const cases = [
        ['tok_chargeDeclined', 'CARD_DECLINED'],
        ['tok_insufficientFunds', 'NO_FUNDS'],
        ['tok_expiredCard', 'CARD_EXPIRED'],
        ['tok_incorrectCvc', 'INVALID_CCV'],
      ] as const;
      for (const [token, reason] of cases) {
        const shop = await newShopper(e2e());
        await shop.add(product.id, 2);
        const problem = expectCheckoutProblem(
          await shop.checkout(`declined-${token}`, { payment_token: token }),
          402,
          'payment_declined',
          'FAILED',
        );
        expect(problem.reason).toBe(reason);
        const stored = expectOk(await shop.get(problem.checkout_id));
        expect(stored).toMatchObject({
          status: 'FAILED',
          order_id: null,
          failure: { code: 'payment_declined', reason },
        });
        // The same request again gets the same answer.
        const again = expectCheckoutProblem(
          await shop.checkout(`declined-${token}`, { payment_token: token }),
          402,
          'payment_declined',
          'FAILED',
        );
        expect(again.checkout_id).toBe(problem.checkout_id);
        expect((await shop.cart()).cart.map((line: { quantity: number }) => line.quantity)).toEqual([2]);
      }
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 4, reserved: 0 });
    });

    it('a flaky provider (tok_processingError) is retried and charged once', async () => {
      const shop = await newShopper(e2e());
      await shop.add(4, 1);
      const checkout = expectCheckout(
        await shop.checkout('flaky-1', { payment_token: 'tok_processingError' }),
        201,
        'COMPLETED',
      );
      const order = await shop.orderUntil(checkout.order_id, (o) => o.payment.status === 'CAPTURED');
      expect(order.payment).toMatchObject({ amount_cents: 39999, refunded_cents: 0 });
    });

    it('not enough stock: 409 insufficient_stock, nothing reserved', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Rare', price_cents: 100, stock: 1 });
      await shop.add(product.id, 2);
      expectCheckoutProblem(await shop.checkout('rare-1'), 409, 'insufficient_stock', 'FAILED');
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 1, reserved: 0 });
    });

    it('a product deleted since it was added: 409 product_unavailable', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Recalled', price_cents: 100, stock: 5 });
      await shop.add(product.id, 1);
      expect(
        (await e2e().api.delete(`/api/v1/products/${product.id}`, { token: await e2e().adminToken() }))
          .status,
      ).toBe(204);
      expectCheckoutProblem(await shop.checkout('recalled-1'), 409, 'product_unavailable', 'FAILED');
    });

    it('3-D Secure: 202 PAYMENT_PENDING holding stock, then a signed webhook completes it', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Camera', price_cents: 20000, stock: 5 });
      await shop.add(product.id, 2);
      const pending = expectCheckout(
        await shop.checkout('3ds-ok', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      expect(expectOk(await shop.get(pending.checkout_id)).status).toBe('PAYMENT_PENDING');
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 5, reserved: 2, available: 3 });

      // Stock cannot be set below what the pending checkout holds.
      const admin = await e2e().adminToken();
      expectProblem(
        await e2e().api.put(`/api/v1/inventory/${product.id}`, { token: admin, json: { on_hand: 1 } }),
        409,
        'conflict',
      );

      const event = { checkout_id: pending.checkout_id, event: 'payment.succeeded' };
      expectProblem(
        await deliverWebhook(e2e(), event, { secret: 'whsec_not_the_right_one_at_all' }),
        401,
        'unauthenticated',
      );
      const unsigned = await e2e().api.post('/api/v1/payments/webhook', { json: event });
      expectProblem(unsigned, 401, 'unauthenticated');
      expectProblem(
        await deliverWebhook(e2e(), {
          checkout_id: '00000000-0000-4000-8000-000000000001',
          event: 'payment.succeeded',
        }),
        404,
        'not_found',
      );
      expect(expectOk(await deliverWebhook(e2e(), event))).toEqual({
        received: true,
        checkout_id: pending.checkout_id,
      });
      const done = await shop.until(pending.checkout_id, 'COMPLETED', 'FAILED', 'CANCELLED');
      expect(done.status).toBe('COMPLETED');
      // Duplicates are harmless; the key answers the outcome now.
      expect(expectOk(await deliverWebhook(e2e(), event)).received).toBe(true);
      const again = expectCheckout(
        await shop.checkout('3ds-ok', { payment_token: 'tok_threeDSecure' }),
        201,
        'COMPLETED',
      );
      expect(again.order_id).toBe(done.order_id);
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 3, reserved: 0 });
    });

    it('snapshots prices at the start and removes exactly the purchased lines (items added meanwhile stay)', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Snapshot', price_cents: 1000, stock: 5 });
      await shop.add(product.id, 2);
      const pending = expectCheckout(
        await shop.checkout('snapshot-1', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      expect(pending.total_cents).toBe(2000);
      // While 3-D Secure is pending: the price goes up and the shopper adds something else.
      const admin = await e2e().adminToken();
      expectOk(
        await e2e().api.patch(`/api/v1/products/${product.id}`, {
          token: admin,
          json: { price_cents: 1500 },
        }),
      );
      await shop.add(3, 1);
      expectOk(await deliverWebhook(e2e(), { checkout_id: pending.checkout_id, event: 'payment.succeeded' }));
      const done = await shop.until(pending.checkout_id, 'COMPLETED', 'FAILED');
      expect(done).toMatchObject({ status: 'COMPLETED', total_cents: 2000 });
      const order = await shop.orderUntil(done.order_id, (o) => o.payment.status === 'CAPTURED');
      expect(order).toMatchObject({ total_cents: 2000, payment: { amount_cents: 2000 } });
      expect((await shop.cart()).cart.map((line: { product_id: number }) => line.product_id)).toEqual([3]);
    });

    it('3-D Secure refused by webhook: FAILED payment_declined with the reason', async () => {
      const shop = await newShopper(e2e());
      await shop.add(5, 1);
      const pending = expectCheckout(
        await shop.checkout('3ds-no', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      await deliverWebhook(e2e(), {
        checkout_id: pending.checkout_id,
        event: 'payment.failed',
        reason: 'NO_FUNDS',
      });
      const failed = await shop.until(pending.checkout_id, 'FAILED');
      expect(failed.failure).toMatchObject({ code: 'payment_declined', reason: 'NO_FUNDS' });
      const problem = expectCheckoutProblem(
        await shop.checkout('3ds-no', { payment_token: 'tok_threeDSecure' }),
        402,
        'payment_declined',
        'FAILED',
      );
      expect(problem.reason).toBe('NO_FUNDS');
    });

    it('one checkout at a time (409 checkout_in_progress); cancelling releases the stock', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Drone', price_cents: 99900, stock: 3 });
      await shop.add(product.id, 1);
      const pending = expectCheckout(
        await shop.checkout('first', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      const busy = expectProblem(await shop.checkout('second'), 409, 'checkout_in_progress');
      expect(busy.checkout_id).toBe(pending.checkout_id);

      const cancelled = await shop.cancel(pending.checkout_id, { reason: 'changed my mind' });
      expect(cancelled.status, cancelled.text).toBe(202);
      const done = await shop.until(pending.checkout_id, 'CANCELLED');
      expect(done.failure).toMatchObject({ code: 'checkout_cancelled' });
      expect(expectOk(await shop.cancel(pending.checkout_id), 200).status).toBe('CANCELLED');
      expectCheckoutProblem(
        await shop.checkout('first', { payment_token: 'tok_threeDSecure' }),
        409,
        'checkout_cancelled',
        'CANCELLED',
      );
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 3, reserved: 0 });
      // The second key was never used: it checks out now.
      expectCheckout(await shop.checkout('second'), 201, 'COMPLETED');
    });

    it('3-D Secure never confirmed: the reservation expires, 409 reservation_expired', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Forgotten', price_cents: 1500, stock: 2 });
      await shop.add(product.id, 2);
      const pending = expectCheckout(
        await shop.checkout('3ds-never', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      expect(Date.parse(pending.reservation_expires_at) - Date.now()).toBeLessThanOrEqual(
        options.reservationTtlMs,
      );
      const failed = await shop.until(pending.checkout_id, 'FAILED');
      expect(failed.failure.code).toBe('reservation_expired');
      expectCheckoutProblem(
        await shop.checkout('3ds-never', { payment_token: 'tok_threeDSecure' }),
        409,
        'reservation_expired',
        'FAILED',
      );
      // A confirmation that comes too late changes nothing.
      expectOk(await deliverWebhook(e2e(), { checkout_id: pending.checkout_id, event: 'payment.succeeded' }));
      expect(expectOk(await shop.get(pending.checkout_id)).status).toBe('FAILED');
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 2, reserved: 0 });
    }, 90_000);

    it('ended checkouts are not cancellable (409); other users see 404', async () => {
      const shop = await newShopper(e2e());
      await shop.add(2, 1);
      const completed = expectCheckout(await shop.checkout('done-1'), 201, 'COMPLETED');
      expectProblem(await shop.cancel(completed.checkout_id), 409, 'checkout_not_cancellable');
      await shop.add(2, 1);
      const failed = expectCheckoutProblem(
        await shop.checkout('done-2', { payment_token: 'tok_chargeDeclined' }),
        402,
        'payment_declined',
        'FAILED',
      );
      expectProblem(await shop.cancel(failed.checkout_id), 409, 'checkout_not_cancellable');

      const stranger = await newShopper(e2e());
      expectProblem(await stranger.get(completed.checkout_id), 404, 'not_found');
      expectProblem(await stranger.cancel(completed.checkout_id), 404, 'not_found');
      expectProblem(await shop.get('00000000-0000-4000-8000-000000000002'), 404, 'not_found');
      expectProblem(await shop.get('not-a-uuid'), 400, 'invalid_argument');
      // The stranger's own key, the same text, is their own checkout.
      await stranger.add(2, 1);
      const theirs = expectCheckout(await stranger.checkout('done-1'), 201, 'COMPLETED');
      expect(theirs.checkout_id).not.toBe(completed.checkout_id);
    });

    it('mixed currencies in one cart are refused (422 currency_mismatch; a code API.md does not list)', async () => {
      const shop = await newShopper(e2e());
      const euro = await newProduct(e2e(), {
        name: 'E2E Croissant',
        price_cents: 250,
        currency: 'EUR',
        stock: 5,
      });
      await shop.add(euro.id, 1);
      await shop.add(2, 1);
      expectCheckoutProblem(await shop.checkout('mixed-1'), 422, 'currency_mismatch', 'FAILED');
    });
  });
}
