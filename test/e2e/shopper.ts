import { expect } from 'vitest';
import { type Answer, eventually, type Json, signWebhookBody } from '../support/black-box.js';
import { type E2E, expectOk } from './harness.js';

/** One user of the shop, driving it over HTTP as a client application would. */
export interface Shopper {
  userId: number;
  token: string;
  add(productId: number, quantity: number): Promise<Json>;
  cart(): Promise<Json>;
  /** POST /api/v1/checkout with the key in the `Idempotency-Key` header. */
  checkout(
    key: string,
    body?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<Answer<Json>>;
  get(checkoutId: string): Promise<Answer<Json>>;
  /** Polls the checkout until its status is one of `statuses`. */
  until(checkoutId: string, ...statuses: string[]): Promise<Json>;
  cancel(checkoutId: string, body?: unknown): Promise<Answer<Json>>;
  orders(query?: string): Promise<Answer<Json>>;
  order(orderId: string): Promise<Answer<Json>>;
  /** Polls the order until `accept` holds. */
  orderUntil(orderId: string, accept: (order: Json) => boolean): Promise<Json>;
  cancelOrder(orderId: string): Promise<Answer<Json>>;
}

export async function newShopper(e2e: E2E): Promise<Shopper> {
  const { api } = e2e;
  const userId = e2e.newUser();
  const token = await e2e.token(userId);
  const shopper: Shopper = {
    userId,
    token,
    add: async (productId, quantity) =>
      expectOk(
        await api.post('/api/v1/cart/items', { token, json: { product_id: productId, quantity } }),
        201,
      ),
    cart: async () => expectOk(await api.get('/api/v1/cart', { token })),
    checkout: (key, body = {}, headers = {}) =>
      api.post('/api/v1/checkout', { token, json: body, headers: { 'Idempotency-Key': key, ...headers } }),
    get: (checkoutId) => api.get(`/api/v1/checkout/${checkoutId}`, { token }),
    until: (checkoutId, ...statuses) =>
      eventually(
        `checkout ${checkoutId} to be ${statuses.join(' or ')}`,
        async () => {
          const answer = await shopper.get(checkoutId);
          return answer.status === 200 && statuses.includes(answer.body.status) ? answer.body : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      ),
    cancel: (checkoutId, body) =>
      api.post(
        `/api/v1/checkout/${checkoutId}/cancel`,
        body === undefined ? { token } : { token, json: body },
      ),
    orders: (query = '') => api.get(`/api/v1/orders${query}`, { token }),
    order: (orderId) => api.get(`/api/v1/orders/${orderId}`, { token }),
    orderUntil: (orderId, accept) =>
      eventually(
        `order ${orderId} to reach the expected state`,
        async () => {
          const answer = await shopper.order(orderId);
          return answer.status === 200 && accept(answer.body) ? answer.body : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      ),
    cancelOrder: (orderId) => api.post(`/api/v1/orders/${orderId}/cancel`, { token }),
  };
  return shopper;
}

/** The payment provider's 3-D Secure result, signed with the webhook secret npm start generated. */
export function deliverWebhook(
  e2e: E2E,
  payload: Record<string, unknown>,
  options: { secret?: string } = {},
): Promise<Answer<Json>> {
  const body = JSON.stringify(payload);
  return e2e.api.post('/api/v1/payments/webhook', {
    body,
    contentType: 'application/json',
    headers: { 'X-Signature': signWebhookBody(options.secret ?? e2e.secrets.webhookSecret, body) },
  });
}

/** Stock of a product as the admin sees it. */
export async function stockOf(
  e2e: E2E,
  productId: number,
): Promise<{ on_hand: number; reserved: number; available: number }> {
  return expectOk(await e2e.api.get(`/api/v1/inventory/${productId}`, { token: await e2e.adminToken() }));
}

/** A fresh product with its own stock, so a test's arithmetic is not disturbed by others. */
export async function newProduct(e2e: E2E, json: Record<string, unknown>): Promise<Json> {
  return expectOk(await e2e.api.post('/api/v1/products', { token: await e2e.adminToken(), json }), 201);
}

export const SHIPPING_ADDRESS = {
  name: 'Ada Lovelace',
  line1: '12 Analytical Row',
  city: 'London',
  postal_code: 'NW1 6XE',
  country: 'GB',
};

export function expectCheckout(answer: Answer<Json>, status: number, checkoutStatus: string): Json {
  const body = expectOk(answer, status);
  expect(body.status).toBe(checkoutStatus);
  expect(answer.headers.get('location')).toBe(`/api/v1/checkout/${body.checkout_id}`);
  return body;
}
