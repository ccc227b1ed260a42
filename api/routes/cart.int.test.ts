import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  bearer,
  createTestApp,
  jsonRequest,
  type TestApp,
  userToken,
} from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';
import { connectTestRedis, userIdSource } from '../../test/support/redis.js';
import type { CartJson } from '../schemas/cart.schemas.js';

// Runs against the shared test Redis when there is one (CI), else against Postgres alone:
// the contract is the same either way.
let db: TestDatabase;
let redis: Redis | undefined;
let testApp: TestApp;
/** Ids of products created for this file, beyond the seed catalog (1..5). */
const extraProducts: number[] = [];
const nextUser = userIdSource();

beforeAll(async () => {
  db = await createTestDatabase();
  redis = connectTestRedis();
  testApp = createTestApp({ db, redis });
  for (let i = 0; i < 50; i++) {
    const { product } = await testApp.services.catalog.create({
      name: `Cart test product ${i}`,
      priceCents: 100 + i,
      stock: 10,
    });
    extraProducts.push(product.id);
  }
});
afterAll(async () => {
  redis?.disconnect();
  await db?.destroy();
});

const request = (path: string, init?: RequestInit) => testApp.app.request(path, init);

async function as(userId: number) {
  const headers = bearer(await userToken(userId));
  const call = async (method: string, path: string, body?: unknown) => {
    const init: RequestInit = body === undefined ? { method, headers } : jsonRequest(method, body, headers);
    return request(path, init);
  };
  return {
    get: () => call('GET', '/api/v1/cart'),
    add: (body: unknown) => call('POST', '/api/v1/cart/items', body),
    put: (productId: string | number, body: unknown) => call('PUT', `/api/v1/cart/items/${productId}`, body),
    remove: (productId: string | number) => call('DELETE', `/api/v1/cart/items/${productId}`),
    clear: () => call('DELETE', '/api/v1/cart'),
  };
}

async function cartOf(response: Response, status = 200): Promise<CartJson> {
  const body = (await response.json()) as CartJson;
  expect(response.status, JSON.stringify(body)).toBe(status);
  return body;
}

async function cartRows(userId: number): Promise<number> {
  const rows = await db.db.execute(sql`select 1 from carts where user_id = ${userId}`);
  return rows.length;
}

const quantities = (cart: CartJson) =>
  Object.fromEntries(cart.cart.map((item) => [item.product_id, item.quantity]));

describe('cart routes', () => {
  it('require a user token', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/api/v1/cart'],
      ['POST', '/api/v1/cart/items', { product_id: 1, quantity: 1 }],
      ['PUT', '/api/v1/cart/items/1', { quantity: 1 }],
      ['DELETE', '/api/v1/cart/items/1'],
      ['DELETE', '/api/v1/cart'],
    ];
    for (const [method, path, body] of calls) {
      const init = body === undefined ? { method } : jsonRequest(method, body);
      await expectProblem(await request(path, init), 401, 'unauthenticated');
      await expectProblem(
        await request(path, { ...init, headers: { ...(init.headers ?? {}), Authorization: 'Bearer nope' } }),
        401,
        'unauthenticated',
      );
    }
  });

  it('gives a user without a cart an empty one and creates nothing', async () => {
    const userId = nextUser();
    const before = Date.now();
    const cart = await cartOf(await (await as(userId)).get());
    expect(cart).toMatchObject({
      id: null,
      user_id: userId,
      cart: [],
      total_items: 0,
      total_cents: 0,
      total_price: 0,
      currency: 'USD',
    });
    expect(Date.parse(cart.created_at)).toBeGreaterThanOrEqual(before - 1_000);
    expect(cart.updated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(await cartRows(userId)).toBe(0);
  });

  it('adds products priced from the catalog with correct subtotals and totals', async () => {
    const user = await as(nextUser());
    const first = await cartOf(await user.add({ product_id: 1, quantity: 2 }), 201);
    expect(first.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.cart).toEqual([
      {
        product_id: 1,
        quantity: 2,
        added_at: expect.any(String),
        product_name: 'Laptop',
        price_cents: 129999,
        price: 1299.99,
        subtotal_cents: 259998,
        subtotal: 2599.98,
        purchasable: true,
      },
    ]);
    const second = await cartOf(await user.add({ product_id: 2, quantity: 3 }), 201);
    expect(second.id).toBe(first.id);
    expect(second).toMatchObject({
      total_items: 5,
      total_cents: 259998 + 3 * 2999,
      total_price: 2689.95,
      currency: 'USD',
    });
    expect(second.cart.map((item) => item.product_id)).toEqual([1, 2]);
    expect(await cartOf(await user.get())).toEqual({ ...second, updated_at: second.updated_at });
  });

  it('replaces the quantity when a product is added again, and resets its added time', async () => {
    const user = await as(nextUser());
    const first = await cartOf(await user.add({ product_id: 3, quantity: 5 }), 201);
    await cartOf(await user.add({ product_id: 4, quantity: 1 }), 201);
    const again = await cartOf(await user.add({ product_id: 3, quantity: 2 }), 201);
    expect(quantities(again)).toEqual({ 3: 2, 4: 1 });
    const readded = again.cart.find((item) => item.product_id === 3);
    expect(Date.parse(readded?.added_at ?? '')).toBeGreaterThanOrEqual(
      Date.parse(first.cart[0]?.added_at ?? ''),
    );
    // Lines are ordered by when they were (re)added: product 3 now comes last.
    expect(again.cart.map((item) => item.product_id)).toEqual([4, 3]);
    expect(again.total_items).toBe(3);
  });

  it('validates quantity and product_id with the contract codes', async () => {
    const user = await as(nextUser());
    const cases: Array<[unknown, string, string?]> = [
      [{ product_id: 1, quantity: 0 }, 'invalid_quantity', 'quantity'],
      [{ product_id: 1, quantity: 100 }, 'invalid_quantity', 'quantity'],
      [{ product_id: 1, quantity: -1 }, 'invalid_quantity', 'quantity'],
      [{ product_id: 1 }, 'invalid_quantity', 'quantity'],
      [{ product_id: 1, quantity: '2' }, 'invalid_request', 'quantity'],
      [{ product_id: 1, quantity: 1.5 }, 'invalid_request', 'quantity'],
      [{ product_id: 0, quantity: 1 }, 'invalid_product_id', 'product_id'],
      [{ product_id: -1, quantity: 1 }, 'invalid_product_id', 'product_id'],
      [{ quantity: 1 }, 'invalid_product_id', 'product_id'],
      [{ product_id: '1', quantity: 1 }, 'invalid_request', 'product_id'],
      ['{"product_id": 9007199254740993, "quantity": 1}', 'invalid_request'],
      ['{"product_id": 1,', 'invalid_request'],
      ['', 'invalid_request'],
      ['[1]', 'invalid_request'],
    ];
    for (const [body, code, field] of cases) {
      const problem = await expectProblem(await user.add(body), 400, code);
      if (field) expect(problem.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    }
    const cart = await cartOf(await user.get());
    expect(cart.cart).toEqual([]);
  });

  it('refuses unknown and deleted products with 404', async () => {
    const user = await as(nextUser());
    await expectProblem(await user.add({ product_id: 987654321, quantity: 1 }), 404, 'not_found');
    const doomed = extraProducts[0] ?? 0;
    const deleted = await request(`/api/v1/products/${doomed}`, {
      method: 'DELETE',
      headers: bearer(await adminToken()),
    });
    expect(deleted.status).toBe(204);
    await expectProblem(await user.add({ product_id: doomed, quantity: 1 }), 404, 'not_found');
    expect((await cartOf(await user.get())).id).toBeNull();
  });

  it('keeps a line whose product was deleted after it was added, marked not purchasable', async () => {
    const user = await as(nextUser());
    const { product } = await testApp.services.catalog.create({ name: 'Short-lived', priceCents: 500 });
    await cartOf(await user.add({ product_id: product.id, quantity: 2 }), 201);
    await cartOf(await user.add({ product_id: 2, quantity: 1 }), 201);
    await testApp.services.catalog.softDelete(product.id);
    const cart = await cartOf(await user.get());
    expect(cart.cart.map((item) => [item.product_id, item.purchasable])).toEqual([
      [product.id, false],
      [2, true],
    ]);
    expect(cart.total_cents).toBe(2 * 500 + 2999);
    expect(cart.cart[0]?.product_name).toBe('Short-lived');
  });

  it('never totals two currencies: a line in another currency than the oldest one is left out, not purchasable', async () => {
    const user = await as(nextUser());
    const { product: euros } = await testApp.services.catalog.create({
      name: 'Croissant',
      priceCents: 250,
      currency: 'EUR',
    });
    expect(await cartOf(await user.add({ product_id: euros.id, quantity: 2 }), 201)).toMatchObject({
      currency: 'EUR',
      total_cents: 500,
      total_price: 5,
    });
    const mixed = await cartOf(await user.add({ product_id: 2, quantity: 1 }), 201);
    expect(mixed).toMatchObject({ currency: 'EUR', total_items: 3, total_cents: 500, total_price: 5 });
    expect(mixed.cart.map((item) => [item.product_id, item.subtotal_cents, item.purchasable])).toEqual([
      [euros.id, 500, true],
      [2, 2999, false],
    ]);
    expect(await cartOf(await user.remove(euros.id))).toMatchObject({
      currency: 'USD',
      total_cents: 2999,
      cart: [expect.objectContaining({ product_id: 2, purchasable: true })],
    });
  });

  it('updates quantities, and answers 404 for a product not in the cart or without a cart', async () => {
    const userId = nextUser();
    const user = await as(userId);
    await expectProblem(await user.put(1, { quantity: 2 }), 404, 'not_found');
    expect(await cartRows(userId)).toBe(0);

    await cartOf(await user.add({ product_id: 1, quantity: 1 }), 201);
    const updated = await cartOf(await user.put(1, { quantity: 7 }));
    expect(quantities(updated)).toEqual({ 1: 7 });
    expect(updated.total_cents).toBe(7 * 129999);
    await expectProblem(await user.put(2, { quantity: 2 }), 404, 'not_found');
    expect(quantities(await cartOf(await user.get()))).toEqual({ 1: 7 });
  });

  it('validates the path id and the quantity of an update', async () => {
    const user = await as(nextUser());
    await cartOf(await user.add({ product_id: 1, quantity: 1 }), 201);
    for (const id of ['abc', '0', '-1', '1.5', '9007199254740993', '99999999999999999999']) {
      await expectProblem(await user.put(id, { quantity: 1 }), 400, 'invalid_product_id');
      await expectProblem(await user.remove(id), 400, 'invalid_product_id');
    }
    await expectProblem(await user.put(1, { quantity: 0 }), 400, 'invalid_quantity');
    await expectProblem(await user.put(1, { quantity: 100 }), 400, 'invalid_quantity');
    await expectProblem(await user.put(1, {}), 400, 'invalid_quantity');
    await expectProblem(await user.put(1, { quantity: '3' }), 400, 'invalid_request');
    await expectProblem(await user.put(1, { quantity: 2.5 }), 400, 'invalid_request');
    await expectProblem(await user.put(1, ''), 400, 'invalid_request');
    expect(quantities(await cartOf(await user.get()))).toEqual({ 1: 1 });
  });

  it('removes items idempotently, also for a user who never had a cart', async () => {
    const neverId = nextUser();
    const never = await as(neverId);
    const empty = await cartOf(await never.remove(3));
    expect(empty).toMatchObject({ id: null, user_id: neverId, cart: [], total_cents: 0 });
    expect(await cartRows(neverId)).toBe(0);

    const user = await as(nextUser());
    await cartOf(await user.add({ product_id: 1, quantity: 1 }), 201);
    const added = await cartOf(await user.add({ product_id: 2, quantity: 2 }), 201);
    const removed = await cartOf(await user.remove(1));
    expect(quantities(removed)).toEqual({ 2: 2 });
    expect(removed.id).toBe(added.id);
    const again = await cartOf(await user.remove(1));
    expect(again).toEqual(removed);
    expect(quantities(await cartOf(await user.remove(5)))).toEqual({ 2: 2 });
    expect(quantities(await cartOf(await user.get()))).toEqual({ 2: 2 });
  });

  it('clears the cart idempotently', async () => {
    const neverId = nextUser();
    const never = await cartOf(await (await as(neverId)).clear());
    expect(never).toMatchObject({ id: null, cart: [], total_items: 0 });
    expect(await cartRows(neverId)).toBe(0);

    const userId = nextUser();
    const user = await as(userId);
    const added = await cartOf(await user.add({ product_id: 1, quantity: 1 }), 201);
    await cartOf(await user.add({ product_id: 2, quantity: 1 }), 201);
    const cleared = await cartOf(await user.clear());
    expect(cleared).toMatchObject({
      id: added.id,
      user_id: userId,
      cart: [],
      total_items: 0,
      total_cents: 0,
    });
    expect(await cartOf(await user.clear())).toMatchObject({ id: added.id, cart: [] });
    expect((await cartOf(await user.get())).cart).toEqual([]);
    // The cart itself stays and takes new items.
    expect((await cartOf(await user.add({ product_id: 3, quantity: 1 }), 201)).id).toBe(added.id);
  });

  it('holds at most 50 different products, while a full cart still takes new quantities', async () => {
    const user = await as(nextUser());
    const fifty = [1, 2, 3, 4, 5, ...extraProducts.slice(5, 50)];
    expect(fifty).toHaveLength(50);
    for (const productId of fifty) await cartOf(await user.add({ product_id: productId, quantity: 1 }), 201);
    const fiftyFirst = extraProducts[1] ?? 0;
    const problem = await expectProblem(
      await user.add({ product_id: fiftyFirst, quantity: 1 }),
      422,
      'cart_full',
    );
    expect(problem.detail).toContain('50');
    const replaced = await cartOf(await user.add({ product_id: 1, quantity: 9 }), 201);
    expect(replaced.cart).toHaveLength(50);
    expect(quantities(replaced)[1]).toBe(9);
    await cartOf(await user.remove(2));
    expect((await cartOf(await user.add({ product_id: fiftyFirst, quantity: 1 }), 201)).cart).toHaveLength(
      50,
    );
  });

  it('prices the cart from the current catalog on every read', async () => {
    const user = await as(nextUser());
    const { product } = await testApp.services.catalog.create({ name: 'Repriced', priceCents: 1000 });
    await cartOf(await user.add({ product_id: product.id, quantity: 3 }), 201);
    expect((await cartOf(await user.get())).total_cents).toBe(3000);
    const patched = await request(
      `/api/v1/products/${product.id}`,
      jsonRequest('PATCH', { price_cents: 1250, name: 'Repriced twice' }, bearer(await adminToken())),
    );
    expect(patched.status).toBe(200);
    const cart = await cartOf(await user.get());
    expect(cart.cart[0]).toMatchObject({
      product_name: 'Repriced twice',
      price_cents: 1250,
      price: 12.5,
      subtotal_cents: 3750,
      subtotal: 37.5,
    });
    expect(cart).toMatchObject({ total_cents: 3750, total_price: 37.5 });
  });

  it('shows each user only their own cart', async () => {
    const aliceId = nextUser();
    const bobId = nextUser();
    const alice = await as(aliceId);
    const bob = await as(bobId);
    await cartOf(await alice.add({ product_id: 1, quantity: 1 }), 201);
    await cartOf(await bob.add({ product_id: 2, quantity: 4 }), 201);
    await cartOf(await bob.put(2, { quantity: 5 }));
    await expectProblem(await bob.put(1, { quantity: 2 }), 404, 'not_found');
    await cartOf(await bob.remove(1));
    const aliceCart = await cartOf(await alice.get());
    const bobCart = await cartOf(await bob.get());
    expect(aliceCart).toMatchObject({ user_id: aliceId });
    expect(quantities(aliceCart)).toEqual({ 1: 1 });
    expect(bobCart).toMatchObject({ user_id: bobId });
    expect(quantities(bobCart)).toEqual({ 2: 5 });
    expect(bobCart.id).not.toBe(aliceCart.id);
    await cartOf(await bob.clear());
    expect(quantities(await cartOf(await alice.get()))).toEqual({ 1: 1 });
  });

  it('creates exactly one cart when a new user adds 30 products at once', async () => {
    const userId = nextUser();
    const user = await as(userId);
    const products = [1, 2, 3, 4, 5, ...extraProducts.slice(20, 45)];
    expect(products).toHaveLength(30);
    const responses = await Promise.all(products.map((id) => user.add({ product_id: id, quantity: 2 })));
    const carts = await Promise.all(responses.map((response) => cartOf(response, 201)));
    expect(new Set(carts.map((cart) => cart.id)).size).toBe(1);
    expect(await cartRows(userId)).toBe(1);
    const final = await cartOf(await user.get());
    expect(final.cart.map((item) => item.product_id).sort((a, b) => a - b)).toEqual(
      [...products].sort((a, b) => a - b),
    );
    expect(final.total_items).toBe(60);
  });

  it('documents the cart routes and the Cart schema in OpenAPI', async () => {
    const doc = (await (await request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(Object.keys(doc.paths['/api/v1/cart'] ?? {}).sort()).toEqual(['delete', 'get']);
    expect(Object.keys(doc.paths['/api/v1/cart/items'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/cart/items/{product_id}'] ?? {}).sort()).toEqual(['delete', 'put']);
    const add = doc.paths['/api/v1/cart/items']?.post;
    expect(add?.tags).toEqual(['Cart']);
    expect(Object.keys(add?.responses ?? {}).sort()).toEqual([
      '201',
      '400',
      '401',
      '404',
      '413',
      '422',
      '429',
      '500',
      '503',
    ]);
    expect(Object.keys(doc.components.schemas.Cart?.properties ?? {}).sort()).toEqual(
      [
        'cart',
        'created_at',
        'currency',
        'id',
        'total_cents',
        'total_items',
        'total_price',
        'updated_at',
        'user_id',
      ].sort(),
    );
    expect(Object.keys(doc.components.schemas.CartItem?.properties ?? {})).toEqual(
      expect.arrayContaining(['product_id', 'quantity', 'added_at', 'product_name', 'price_cents', 'price']),
    );
    expect(doc.components.schemas.CartItem?.properties).toHaveProperty('purchasable');
  });
});
