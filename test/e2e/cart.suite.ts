import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { E2E } from './harness.js';
import { expectMoney, expectOk, expectProblem } from './harness.js';

/** Carts (authenticated), and how the edge treats malformed requests. */
export function cartSuite(e2e: () => E2E): void {
  describe('cart', () => {
    it('starts empty without creating anything, then adds, replaces, updates, removes and clears', async () => {
      const { api } = e2e();
      const user = e2e().newUser();
      const token = await e2e().token(user);

      const empty = expectOk(await api.get('/api/v1/cart', { token }));
      expect(empty).toMatchObject({ id: null, user_id: user, cart: [], total_items: 0, total_cents: 0 });

      const added = expectOk(
        await api.post('/api/v1/cart/items', { token, json: { product_id: 2, quantity: 2 } }),
        201,
      );
      expect(added.id).toEqual(expect.any(String));
      expect(added.cart).toEqual([
        expect.objectContaining({
          product_id: 2,
          quantity: 2,
          product_name: 'Mouse',
          price_cents: 2999,
          price: 29.99,
          subtotal_cents: 5998,
          subtotal: 59.98,
          added_at: expect.stringMatching(/Z$/),
        }),
      ]);
      expect(added).toMatchObject({ total_items: 2, total_cents: 5998, total_price: 59.98, currency: 'USD' });
      expectMoney(added.total_cents, added.total_price);

      // Adding a product already in the cart replaces its quantity (the original semantics).
      const replaced = expectOk(
        await api.post('/api/v1/cart/items', { token, json: { product_id: 2, quantity: 5 } }),
        201,
      );
      expect(replaced.cart.map((line: { quantity: number }) => line.quantity)).toEqual([5]);
      expectOk(await api.post('/api/v1/cart/items', { token, json: { product_id: 3, quantity: 1 } }), 201);

      const updated = expectOk(await api.put('/api/v1/cart/items/3', { token, json: { quantity: 4 } }));
      expect(
        updated.cart.map((l: { product_id: number; quantity: number }) => [l.product_id, l.quantity]),
      ).toEqual([
        [2, 5],
        [3, 4],
      ]);
      expect(updated).toMatchObject({ total_items: 9, total_cents: 5 * 2999 + 4 * 8999 });

      // Reads after writes are fresh.
      expect(expectOk(await api.get('/api/v1/cart', { token })).total_cents).toBe(5 * 2999 + 4 * 8999);

      const removed = expectOk(await api.delete('/api/v1/cart/items/2', { token }));
      expect(removed.cart.map((line: { product_id: number }) => line.product_id)).toEqual([3]);
      // Removing what is not there is idempotent.
      expect(expectOk(await api.delete('/api/v1/cart/items/2', { token })).cart).toHaveLength(1);

      const cleared = expectOk(await api.delete('/api/v1/cart', { token }));
      expect(cleared).toMatchObject({ user_id: user, cart: [], total_items: 0, total_cents: 0 });
      expect(expectOk(await api.delete('/api/v1/cart', { token })).cart).toEqual([]);
      expect(expectOk(await api.get('/api/v1/cart', { token })).cart).toEqual([]);
    });

    it('keeps each user to their own cart', async () => {
      const { api } = e2e();
      const [alice, bob] = [e2e().newUser(), e2e().newUser()];
      const aliceToken = await e2e().token(alice);
      expectOk(
        await api.post('/api/v1/cart/items', { token: aliceToken, json: { product_id: 1, quantity: 1 } }),
        201,
      );
      const bobs = expectOk(await api.get('/api/v1/cart', { token: await e2e().token(bob) }));
      expect(bobs).toMatchObject({ user_id: bob, cart: [] });
      // Removing from a cart that does not exist is fine too.
      expect(
        expectOk(await api.delete('/api/v1/cart/items/1', { token: await e2e().token(bob) })).cart,
      ).toEqual([]);
    });

    it('validates quantities, product ids and unknown or deleted products', async () => {
      const { api } = e2e();
      const token = await e2e().token(e2e().newUser());
      const add = (json: unknown) => api.post('/api/v1/cart/items', { token, json });
      for (const quantity of [0, 100, -1, undefined]) {
        expectProblem(await add({ product_id: 1, quantity }), 400, 'invalid_quantity');
      }
      for (const productId of [0, -4, undefined]) {
        expectProblem(await add({ product_id: productId, quantity: 1 }), 400, 'invalid_product_id');
      }
      expectProblem(await add({ product_id: 999999, quantity: 1 }), 404, 'not_found');

      const admin = await e2e().adminToken();
      const doomed = expectOk(
        await api.post('/api/v1/products', {
          token: admin,
          json: { name: 'E2E Withdrawn', price_cents: 10, stock: 5 },
        }),
        201,
      );
      expect((await api.delete(`/api/v1/products/${doomed.id}`, { token: admin })).status).toBe(204);
      expectProblem(await add({ product_id: doomed.id, quantity: 1 }), 404, 'not_found');

      expectProblem(
        await api.put('/api/v1/cart/items/1', { token, json: { quantity: 2 } }),
        404,
        'not_found',
      );
      expectProblem(
        await api.put('/api/v1/cart/items/0', { token, json: { quantity: 2 } }),
        400,
        'invalid_product_id',
      );
      expectProblem(
        await api.put('/api/v1/cart/items/abc', { token, json: { quantity: 2 } }),
        400,
        'invalid_product_id',
      );
      expectOk(await add({ product_id: 1, quantity: 1 }), 201);
      expectProblem(
        await api.put('/api/v1/cart/items/1', { token, json: { quantity: 0 } }),
        400,
        'invalid_quantity',
      );
      expectProblem(await api.delete('/api/v1/cart/items/-2', { token }), 400, 'invalid_product_id');
    });

    it('refuses the 51st distinct product with 422 cart_full', async () => {
      const { api } = e2e();
      const admin = await e2e().adminToken();
      const token = await e2e().token(e2e().newUser());
      const ids: number[] = [];
      for (let i = 0; i < 51; i++) {
        const product = expectOk(
          await api.post('/api/v1/products', {
            token: admin,
            json: { name: `E2E Bulk ${i}`, price_cents: 100 + i, stock: 10 },
          }),
          201,
        );
        ids.push(product.id);
      }
      for (const id of ids.slice(0, 50)) {
        expectOk(await api.post('/api/v1/cart/items', { token, json: { product_id: id, quantity: 1 } }), 201);
      }
      expectProblem(
        await api.post('/api/v1/cart/items', { token, json: { product_id: ids[50], quantity: 1 } }),
        422,
        'cart_full',
      );
      // Changing a line already there is still allowed.
      expectOk(
        await api.post('/api/v1/cart/items', { token, json: { product_id: ids[0], quantity: 2 } }),
        201,
      );
      expect(expectOk(await api.get('/api/v1/cart', { token })).cart).toHaveLength(50);
    }, 120_000);
  });

  describe('the edge', () => {
    it('answers malformed bodies with 400 invalid_request', async () => {
      const { api } = e2e();
      const token = await e2e().token(e2e().newUser());
      const bodies = [
        '{"product_id": 1, "quantity": ',
        '{"product_id": "1", "quantity": 1}',
        '{"product_id": 1, "quantity": 1.5}',
        '{"product_id": 9007199254740993, "quantity": 1}',
        '',
        '[1, 2]',
        'null',
        '"text"',
      ];
      for (const body of bodies) {
        const answer = await api.post('/api/v1/cart/items', { token, body, contentType: 'application/json' });
        expect(answer.status, body).toBe(400);
        expectProblem(answer, 400, 'invalid_request');
      }
    });

    it('refuses bodies over 1 MiB with 413 payload_too_large', async () => {
      const token = await e2e().token(e2e().newUser());
      const huge = JSON.stringify({ product_id: 1, quantity: 1, padding: 'x'.repeat(1024 * 1024 + 10) });
      // On a connection of its own: the server stops reading the body, so the connection cannot
      // carry another request (see the report of issue 11: it still answers keep-alive).
      const answer = await postOnce(new URL('/api/v1/cart/items', e2e().api.baseUrl), huge, {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
      });
      expect(answer.status).toBe(413);
      expect(answer.contentType).toBe('application/problem+json');
      expect(JSON.parse(answer.text)).toMatchObject({ status: 413, code: 'payload_too_large' });
      e2e().coverage.codes.set('payload_too_large', 'POST /api/v1/cart/items -> 413');
    });

    it('answers unknown routes 404 and wrong methods 405 with Allow, as problem documents', async () => {
      const { api } = e2e();
      const token = await e2e().token(e2e().newUser());
      expectProblem(await api.get('/api/v1/nothing-here', { token }), 404, 'not_found');
      expectProblem(await api.get('/nothing'), 404, 'not_found');
      const wrong = await api.patch('/api/v1/cart', { token, json: {} });
      expectProblem(wrong, 405, 'method_not_allowed');
      expect(wrong.headers.get('allow')).toMatch(/DELETE/);
      expect(wrong.headers.get('allow')).toMatch(/GET/);
    });

    it('echoes X-Request-ID, or makes one up', async () => {
      const { api } = e2e();
      const echoed = await api.get('/api/v1/products/1', { headers: { 'X-Request-ID': 'e2e-trace-42' } });
      expect(echoed.headers.get('x-request-id')).toBe('e2e-trace-42');
      const generated = await api.get('/api/v1/products/1');
      expect(generated.headers.get('x-request-id')).toBeTruthy();
      const problem = await api.get('/api/v1/products/999999', {
        headers: { 'X-Request-ID': 'e2e-trace-43' },
      });
      expect(expectProblem(problem, 404, 'not_found').request_id).toBe('e2e-trace-43');
    });
  });
}

/** One POST on a fresh connection that is closed afterwards. */
function postOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, contentType: response.headers['content-type'], text }),
      );
    });
    // The server may close its side before the whole body is sent; the answer has arrived by then.
    outgoing.on('error', (error) => reject(error));
    outgoing.end(body);
  });
}
