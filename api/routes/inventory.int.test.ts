import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../services/index.js';
import { adminToken, bearer, createTestApp, jsonRequest, userToken } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';

let db: TestDatabase;
let app: ReturnType<typeof createTestApp>['app'];
let services: Services;
let admin: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app, services } = createTestApp({ db }));
  admin = bearer(await adminToken());
});
afterAll(async () => {
  await db?.destroy();
});

const getStock = (id: number | string, headers = admin) =>
  app.request(`/api/v1/inventory/${id}`, { headers });
const putStock = (id: number | string, body: unknown, headers = admin) =>
  app.request(`/api/v1/inventory/${id}`, jsonRequest('PUT', body, headers));

async function newProduct(stock: number): Promise<number> {
  const { product } = await services.catalog.create({
    name: `Stocked ${randomUUID()}`,
    priceCents: 100,
    stock,
  });
  return product.id;
}

async function productAvailable(id: number): Promise<number> {
  const response = await app.request(`/api/v1/products/${id}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { available: number }).available;
}

describe('GET /api/v1/inventory/{product_id}', () => {
  it('shows the stock of a seeded product', async () => {
    const response = await getStock(4);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ product_id: 4, on_hand: 150, reserved: 0, available: 150 });
  });

  it('counts what checkouts hold as reserved', async () => {
    const id = await newProduct(10);
    await services.inventory.reserve(randomUUID(), [{ productId: id, quantity: 4 }], 60_000);
    expect(await (await getStock(id)).json()).toEqual({
      product_id: id,
      on_hand: 10,
      reserved: 4,
      available: 6,
    });
  });

  it('rejects malformed ids with invalid_product_id and reports unknown ones as 404', async () => {
    for (const id of ['0', '-1', '1.5', 'abc', '9007199254740993']) {
      await expectProblem(await getStock(id), 400, 'invalid_product_id');
    }
    await expectProblem(await getStock(987654), 404, 'not_found');
  });
});

describe('PUT /api/v1/inventory/{product_id}', () => {
  it('sets on_hand, and the catalog shows the new availability', async () => {
    const id = await newProduct(5);
    const response = await putStock(id, { on_hand: 42 });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ product_id: id, on_hand: 42, reserved: 0, available: 42 });
    expect(await (await getStock(id)).json()).toEqual({
      product_id: id,
      on_hand: 42,
      reserved: 0,
      available: 42,
    });
    expect(await productAvailable(id)).toBe(42);
    // Idempotent.
    expect(await (await putStock(id, { on_hand: 42 })).json()).toEqual({
      product_id: id,
      on_hand: 42,
      reserved: 0,
      available: 42,
    });
    expect(await (await putStock(id, { on_hand: 0 })).json()).toMatchObject({ on_hand: 0, available: 0 });
    expect(await (await putStock(id, { on_hand: 1_000_000_000 })).json()).toMatchObject({
      on_hand: 1_000_000_000,
    });
  });

  it('refuses to go below the reserved units with 409 conflict', async () => {
    const id = await newProduct(10);
    await services.inventory.reserve(randomUUID(), [{ productId: id, quantity: 7 }], 60_000);
    await expectProblem(await putStock(id, { on_hand: 6 }), 409, 'conflict');
    expect(await (await getStock(id)).json()).toEqual({
      product_id: id,
      on_hand: 10,
      reserved: 7,
      available: 3,
    });
    const exact = await putStock(id, { on_hand: 7 });
    expect(exact.status).toBe(200);
    expect(await exact.json()).toEqual({ product_id: id, on_hand: 7, reserved: 7, available: 0 });
    expect(await productAvailable(id)).toBe(0);
  });

  it('validates the body', async () => {
    const id = await newProduct(3);
    const cases: Array<[unknown, string]> = [
      [{ on_hand: -1 }, 'invalid_argument'],
      [{ on_hand: 1_000_000_001 }, 'invalid_argument'],
      [{}, 'invalid_argument'],
      [{ on_hand: null }, 'invalid_argument'],
      [{ on_hand: '5' }, 'invalid_request'],
      [{ on_hand: 1.5 }, 'invalid_request'],
      [{ on_hand: 2 ** 60 }, 'invalid_request'],
      ['{"on_hand": ', 'invalid_request'],
      ['', 'invalid_request'],
      ['[5]', 'invalid_request'],
    ];
    for (const [body, code] of cases) {
      const problem = await expectProblem(await putStock(id, body), 400, code);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        const fields = (problem.errors as Array<{ field: string }>).map((e) => e.field);
        expect(new Set(fields)).toEqual(new Set(['on_hand']));
      }
    }
    expect(await (await getStock(id)).json()).toEqual({
      product_id: id,
      on_hand: 3,
      reserved: 0,
      available: 3,
    });
  });

  it('rejects malformed ids with invalid_product_id and reports unknown ones as 404', async () => {
    await expectProblem(await putStock('0', { on_hand: 1 }), 400, 'invalid_product_id');
    await expectProblem(await putStock('x1', { on_hand: 1 }), 400, 'invalid_product_id');
    await expectProblem(await putStock(987654, { on_hand: 1 }), 404, 'not_found');
  });
});

describe('access and documentation', () => {
  it('is for admins only', async () => {
    const user = bearer(await userToken(7));
    await expectProblem(await getStock(1, {}), 401, 'unauthenticated');
    await expectProblem(await getStock(1, user), 403, 'forbidden');
    await expectProblem(await putStock(1, { on_hand: 0 }, {}), 401, 'unauthenticated');
    await expectProblem(await putStock(1, { on_hand: 0 }, user), 403, 'forbidden');
    expect(await (await getStock(1)).json()).toEqual({
      product_id: 1,
      on_hand: 100,
      reserved: 0,
      available: 100,
    });
  });

  it('answers other methods with 405', async () => {
    const response = await app.request('/api/v1/inventory/1', { method: 'POST', headers: admin });
    await expectProblem(response, 405, 'method_not_allowed');
    expect(response.headers.get('allow')).toBe('GET, HEAD, PUT');
  });

  it('appears in the OpenAPI document', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; responses: Record<string, unknown> }>>;
    };
    const path = doc.paths['/api/v1/inventory/{product_id}'];
    expect(Object.keys(path ?? {}).sort()).toEqual(['get', 'put']);
    expect(path?.get?.tags).toEqual(['Catalog']);
    expect(Object.keys(path?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404']),
    );
    expect(Object.keys(path?.put?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409']),
    );
    const badPut = path?.put?.responses['400'] as { description: string } | undefined;
    for (const code of ['invalid_product_id', 'invalid_argument', 'invalid_request']) {
      expect(badPut?.description).toContain(`\`${code}\``);
    }
  });
});
