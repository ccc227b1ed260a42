import { describe, expect, it } from 'vitest';
import type { E2E } from './harness.js';
import { expectMoney, expectOk, expectProblem } from './harness.js';

const SEED = [
  { id: 1, name: 'Laptop', price_cents: 129999, stock: 100 },
  { id: 2, name: 'Mouse', price_cents: 2999, stock: 500 },
  { id: 3, name: 'Keyboard', price_cents: 8999, stock: 300 },
  { id: 4, name: 'Monitor', price_cents: 39999, stock: 150 },
  { id: 5, name: 'Headphones', price_cents: 24999, stock: 200 },
];

/** Catalog reads (public) and the admin's product and stock routes. */
export function catalogSuite(e2e: () => E2E): void {
  describe('catalog', () => {
    it('lists the seed catalog publicly, in cents and decimals, ordered by id', async () => {
      const page = expectOk(await e2e().api.get('/api/v1/products'));
      const seed = page.products.filter((product: { id: number }) => product.id <= 5);
      expect(
        seed.map((p: { id: number; name: string; price_cents: number }) => [p.id, p.name, p.price_cents]),
      ).toEqual(SEED.map((p) => [p.id, p.name, p.price_cents]));
      for (const product of page.products) {
        expectMoney(product.price_cents, product.price);
        expect(product).toMatchObject({
          currency: 'USD',
          description: expect.any(String),
          available: expect.any(Number),
          created_at: expect.stringMatching(/Z$/),
          updated_at: expect.stringMatching(/Z$/),
        });
      }
      expect(page.products[0]).toMatchObject({ image_url: 'https://example.com/laptop.jpg' });
      expect(page).toHaveProperty('next_cursor');
    });

    it('pages with an opaque cursor, searches by text and filters by price', async () => {
      const { api } = e2e();
      const first = expectOk(await api.get('/api/v1/products?limit=2'));
      expect(first.products.map((p: { id: number }) => p.id)).toEqual([1, 2]);
      expect(typeof first.next_cursor).toBe('string');
      const second = expectOk(await api.get(`/api/v1/products?limit=2&cursor=${first.next_cursor}`));
      expect(second.products.map((p: { id: number }) => p.id)).toEqual([3, 4]);

      const search = expectOk(await api.get('/api/v1/products?q=KEYBOARD'));
      expect(search.products.map((p: { name: string }) => p.name)).toEqual(['Keyboard']);
      const cheap = expectOk(await api.get('/api/v1/products?min_price_cents=2000&max_price_cents=9000'));
      expect(cheap.products.map((p: { id: number }) => p.id)).toEqual([2, 3]);
    });

    it('refuses bad list parameters with 400 invalid_argument', async () => {
      const { api } = e2e();
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=nope', 'min_price_cents=-1']) {
        expectProblem(await api.get(`/api/v1/products?${query}`), 400, 'invalid_argument');
      }
    });

    it('reads one product; a bad id is 400 invalid_product_id, an unknown one 404', async () => {
      const { api } = e2e();
      const mouse = expectOk(await api.get('/api/v1/products/2'));
      expect(mouse).toMatchObject({ id: 2, name: 'Mouse', price_cents: 2999, price: 29.99 });
      for (const id of ['0', '-3', 'abc', '1.5', '9007199254740993']) {
        expectProblem(await api.get(`/api/v1/products/${id}`), 400, 'invalid_product_id');
      }
      expectProblem(await api.get('/api/v1/products/999999'), 404, 'not_found');
    });
  });

  describe('admin: products and stock', () => {
    it('creates a product with stock (201 + Location), idempotently with a key', async () => {
      const { api } = e2e();
      const token = await e2e().adminToken();
      const body = { name: 'E2E Lamp', description: 'A desk lamp', price_cents: 4550, stock: 7 };
      const created = await api.post('/api/v1/products', {
        token,
        json: body,
        headers: { 'Idempotency-Key': 'e2e-lamp' },
      });
      const product = expectOk(created, 201);
      expect(product).toMatchObject({ name: 'E2E Lamp', price_cents: 4550, price: 45.5, available: 7 });
      expect(created.headers.get('location')).toBe(`/api/v1/products/${product.id}`);

      const again = await api.post('/api/v1/products', {
        token,
        json: body,
        headers: { 'Idempotency-Key': 'e2e-lamp' },
      });
      expect(expectOk(again, 200).id).toBe(product.id);
      expectProblem(
        await api.post('/api/v1/products', {
          token,
          json: { ...body, price_cents: 1 },
          headers: { 'Idempotency-Key': 'e2e-lamp' },
        }),
        422,
        'idempotency_key_reused',
      );
      expectProblem(
        await api.post('/api/v1/products', { token, json: { name: '', price_cents: -5 } }),
        400,
        'invalid_argument',
      );
    });

    it('updates a product partially; a price change shows in the catalog', async () => {
      const { api } = e2e();
      const token = await e2e().adminToken();
      const product = expectOk(
        await api.post('/api/v1/products', { token, json: { name: 'E2E Mug', price_cents: 900 } }),
        201,
      );
      const patched = expectOk(
        await api.patch(`/api/v1/products/${product.id}`, { token, json: { price_cents: 1250 } }),
      );
      expect(patched).toMatchObject({ id: product.id, name: 'E2E Mug', price_cents: 1250, price: 12.5 });
      expect(expectOk(await api.get(`/api/v1/products/${product.id}`)).price_cents).toBe(1250);
      expectProblem(
        await api.patch('/api/v1/products/999999', { token, json: { price_cents: 1 } }),
        404,
        'not_found',
      );
      expectProblem(
        await api.patch(`/api/v1/products/${product.id}`, { token, json: { price_cents: 'cheap' } }),
        400,
        'invalid_request',
      );
    });

    it('soft-deletes a product: 204, hidden from the catalog, idempotent', async () => {
      const { api } = e2e();
      const token = await e2e().adminToken();
      const product = expectOk(
        await api.post('/api/v1/products', { token, json: { name: 'E2E Gone', price_cents: 100 } }),
        201,
      );
      const deleted = await api.delete(`/api/v1/products/${product.id}`, { token });
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expectProblem(await api.get(`/api/v1/products/${product.id}`), 404, 'not_found');
      const listed = expectOk(await api.get('/api/v1/products?q=E2E%20Gone'));
      expect(listed.products).toEqual([]);
      expect((await api.delete(`/api/v1/products/${product.id}`, { token })).status).toBe(204);
      expectProblem(await api.delete('/api/v1/products/abc', { token }), 400, 'invalid_product_id');
    });

    it('reads and sets stock; below what is reserved is 409 conflict (see checkout)', async () => {
      const { api } = e2e();
      const token = await e2e().adminToken();
      const product = expectOk(
        await api.post('/api/v1/products', {
          token,
          json: { name: 'E2E Stocked', price_cents: 100, stock: 3 },
        }),
        201,
      );
      expect(expectOk(await api.get(`/api/v1/inventory/${product.id}`, { token }))).toEqual({
        product_id: product.id,
        on_hand: 3,
        reserved: 0,
        available: 3,
      });
      expect(
        expectOk(await api.put(`/api/v1/inventory/${product.id}`, { token, json: { on_hand: 12 } })),
      ).toEqual({ product_id: product.id, on_hand: 12, reserved: 0, available: 12 });
      expect(expectOk(await api.get(`/api/v1/products/${product.id}`)).available).toBe(12);
      expectProblem(
        await api.put(`/api/v1/inventory/${product.id}`, { token, json: { on_hand: -1 } }),
        400,
        'invalid_argument',
      );
      expectProblem(await api.get('/api/v1/inventory/999999', { token }), 404, 'not_found');
      expectProblem(await api.get('/api/v1/inventory/x', { token }), 400, 'invalid_product_id');
    });
  });
}
