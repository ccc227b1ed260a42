import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../services/index.js';
import { adminToken, bearer, createTestApp, jsonRequest, userToken } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';

interface ProductBody {
  id: number;
  name: string;
  description: string;
  price: number;
  price_cents: number;
  currency: string;
  image_url: string | null;
  available: number;
  created_at: string;
  updated_at: string;
}

interface PageBody {
  products: ProductBody[];
  next_cursor: string | null;
}

let db: TestDatabase;
let app: ReturnType<typeof createTestApp>['app'];
let services: Services;
let admin: Record<string, string>;
let user: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  ({ app, services } = createTestApp({ db }));
  admin = bearer(await adminToken());
  user = bearer(await userToken(42));
});
afterAll(async () => {
  await db?.destroy();
});

async function list(query = ''): Promise<PageBody> {
  const response = await app.request(`/api/v1/products${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as PageBody;
}

async function getProduct(id: number | string): Promise<Response> {
  return app.request(`/api/v1/products/${id}`);
}

async function createProduct(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await app.request('/api/v1/products', jsonRequest('POST', body, { ...admin, ...headers }));
  expect(response.status).toBe(201);
  return (await response.json()) as ProductBody;
}

/** Every id the catalog lists for `query`, walking `next_cursor` to the end. */
async function walk(limit: number, query = ''): Promise<{ ids: number[]; pages: number[] }> {
  const ids: number[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const page: PageBody = await list(
      `?limit=${limit}${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    pages.push(page.products.length);
    ids.push(...page.products.map((p) => p.id));
    cursor = page.next_cursor;
    expect(pages.length).toBeLessThan(1000);
  } while (cursor !== null);
  return { ids, pages };
}

async function liveIds(): Promise<number[]> {
  const rows = await db.sql<{ id: string }[]>`select id from products where deleted_at is null order by id`;
  return rows.map((row) => Number(row.id));
}

describe('the seed catalog', () => {
  it('lists the five original products, in id order, with their stock', async () => {
    const page = await list();
    expect(page.next_cursor).toBeNull();
    expect(
      page.products.map((p) => ({ id: p.id, name: p.name, cents: p.price_cents, available: p.available })),
    ).toEqual([
      { id: 1, name: 'Laptop', cents: 129999, available: 100 },
      { id: 2, name: 'Mouse', cents: 2999, available: 500 },
      { id: 3, name: 'Keyboard', cents: 8999, available: 300 },
      { id: 4, name: 'Monitor', cents: 39999, available: 150 },
      { id: 5, name: 'Headphones', cents: 24999, available: 200 },
    ]);
  });

  it('serves a product with money in cents and as a decimal', async () => {
    const response = await getProduct(1);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      id: 1,
      name: 'Laptop',
      description: 'High-performance laptop for work and gaming',
      price: 1299.99,
      price_cents: 129999,
      currency: 'USD',
      image_url: 'https://example.com/laptop.jpg',
      available: 100,
      created_at: '2025-12-25T10:57:29.000Z',
      updated_at: '2025-12-25T10:57:29.000Z',
    });
    const mouse = (await (await getProduct(2)).json()) as ProductBody;
    expect(mouse).toMatchObject({
      price: 29.99,
      price_cents: 2999,
      image_url: 'https://example.com/mouse.jpg',
    });
  });

  it('filters by price, bounds included', async () => {
    const page = await list('?min_price_cents=8999&max_price_cents=39999');
    expect(page.products.map((p) => p.id)).toEqual([3, 4, 5]);
    expect((await list('?min_price_cents=129999')).products.map((p) => p.id)).toEqual([1]);
    expect((await list('?max_price_cents=2999')).products.map((p) => p.id)).toEqual([2]);
    expect((await list('?min_price_cents=200000')).products).toEqual([]);
  });

  it('searches name and description case-insensitively', async () => {
    expect((await list('?q=LAPTOP')).products.map((p) => p.id)).toEqual([1]);
    expect((await list('?q=wireless')).products.map((p) => p.id)).toEqual([2]);
    expect((await list('?q=rgb%20LIGHTING')).products.map((p) => p.id)).toEqual([3]);
    expect((await list('?q=o&max_price_cents=30000')).products.map((p) => p.id)).toEqual([2, 3, 5]);
    expect((await list('?q=nothing-like-this')).products).toEqual([]);
  });
});

describe('listing', () => {
  it('rejects bad query parameters with invalid_argument', async () => {
    for (const query of [
      'limit=0',
      'limit=101',
      'limit=-1',
      'limit=1.5',
      'limit=abc',
      'limit=',
      'cursor=garbage',
      'cursor=',
      `cursor=${Buffer.from('p0').toString('base64url')}`,
      `cursor=${Buffer.from('p9007199254740993').toString('base64url')}`,
      'min_price_cents=-1',
      'min_price_cents=abc',
      'max_price_cents=1.5',
      'max_price_cents=100000000001',
      'min_price_cents=500&max_price_cents=499',
      'q=',
      'q=%20%20',
      `q=${'x'.repeat(201)}`,
    ]) {
      const body = await expectProblem(
        await app.request(`/api/v1/products?${query}`),
        400,
        'invalid_argument',
      );
      expect(body.errors, query).toEqual([expect.objectContaining({ field: expect.any(String) })]);
    }
  });

  it('accepts the limit bounds', async () => {
    expect((await list('?limit=1')).products).toHaveLength(1);
    expect((await list('?limit=100')).products.length).toBeGreaterThanOrEqual(5);
  });

  it('matches LIKE metacharacters in q literally', async () => {
    const tag = `meta${Date.now()}`;
    const percent = await createProduct({ name: `${tag} 50% off`, price_cents: 100 });
    await createProduct({ name: `${tag} 50 off`, price_cents: 100 });
    const underscore = await createProduct({ name: `${tag} snake_case`, price_cents: 100 });
    await createProduct({ name: `${tag} snakeXcase`, price_cents: 100 });
    const backslash = await createProduct({ name: `${tag} back\\slash`, price_cents: 100 });
    await createProduct({ name: `${tag} backslash`, price_cents: 100 });
    const desc = await createProduct({
      name: `${tag} plain`,
      description: 'Has a GiZmO inside',
      price_cents: 100,
    });

    const search = async (q: string) =>
      (await list(`?q=${encodeURIComponent(q)}&limit=100`)).products.map((p) => p.id);
    expect(await search('50%')).toEqual([percent.id]);
    expect(await search('e_c')).toEqual([underscore.id]);
    expect(await search('k\\s')).toEqual([backslash.id]);
    expect(await search('%')).toEqual([percent.id]);
    expect(await search('gizmo')).toEqual([desc.id]);
    expect(await search(`  ${tag} PLAIN  `)).toEqual([desc.id]);
    expect(await search(tag)).toHaveLength(7);
  });
});

describe('pagination', () => {
  const created: ProductBody[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 57; i++) {
      created.push(
        await createProduct({
          name: `Paged item ${i}`,
          description: i % 3 === 0 ? 'pagetest triple' : 'pagetest',
          price_cents: 1000 + ((i * 37) % 500),
          stock: i,
        }),
      );
    }
  });

  it('defaults to 20 products per page', async () => {
    const page = await list();
    expect(page.products).toHaveLength(20);
    expect(page.next_cursor).not.toBeNull();
  });

  it('neither skips nor repeats, whatever the page size', async () => {
    const all = await liveIds();
    expect(all.length).toBeGreaterThan(57);
    for (const limit of [1, 7, 20, 57, 100]) {
      const { ids, pages } = await walk(limit);
      expect(ids, `limit ${limit}`).toEqual(all);
      expect(pages.slice(0, -1).every((size) => size === limit)).toBe(true);
      expect(pages.at(-1)).toBeGreaterThan(0);
      expect(pages).toHaveLength(Math.ceil(all.length / limit));
    }
  });

  it('neither skips nor repeats with filters', async () => {
    const byQ = created.map((p) => p.id);
    const byThird = created.filter((p) => p.description.includes('triple')).map((p) => p.id);
    const byPrice = created.filter((p) => p.price_cents >= 1100 && p.price_cents <= 1300).map((p) => p.id);
    for (const limit of [1, 7, 20, 100]) {
      expect((await walk(limit, '&q=pagetest')).ids).toEqual(byQ);
      expect((await walk(limit, '&q=PAGETEST%20TRIPLE')).ids).toEqual(byThird);
      expect((await walk(limit, '&q=pagetest&min_price_cents=1100&max_price_cents=1300')).ids).toEqual(
        byPrice,
      );
    }
    expect(byPrice.length).toBeGreaterThan(7);
  });

  it('stays exact while products are added and deleted between pages', async () => {
    const before = await liveIds();
    const seen: number[] = [];
    const deleted = new Set<number>();
    const deletedAhead = new Set<number>();
    const added: number[] = [];
    let cursor: string | null = null;
    let step = 0;
    do {
      const page: PageBody = await list(`?limit=7${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...page.products.map((p) => p.id));
      cursor = page.next_cursor;
      step += 1;
      // Delete one product already seen and one still ahead, and add one.
      const behind = seen[Math.floor(seen.length / 2)];
      const ahead = before.find((id) => id > (seen.at(-1) ?? 0) && !deleted.has(id));
      for (const id of [behind, ahead]) {
        if (id !== undefined && !deleted.has(id)) {
          expect(
            (await app.request(`/api/v1/products/${id}`, { method: 'DELETE', headers: admin })).status,
          ).toBe(204);
          deleted.add(id);
          if (id === ahead) deletedAhead.add(id);
        }
      }
      if (step <= 5)
        added.push((await createProduct({ name: `Added during walk ${step}`, price_cents: 1 })).id);
    } while (cursor !== null);

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const survivors = before.filter((id) => !deleted.has(id));
    expect(seen).toEqual(expect.arrayContaining(survivors));
    // Products added meanwhile sort after everything seen so far, so the walk reaches them all.
    expect(seen).toEqual(expect.arrayContaining(added));
    for (const id of seen) expect(before.includes(id) || added.includes(id)).toBe(true);
    // Products deleted before the walk reached them are not shown.
    expect(deletedAhead.size).toBeGreaterThan(3);
    for (const id of deletedAhead) expect(seen).not.toContain(id);
  });
});

describe('get by id', () => {
  it('rejects malformed ids with invalid_product_id', async () => {
    for (const id of ['0', '-1', '1.5', 'abc', '9007199254740993', '9007199254740992', '01', '1e3', '%20']) {
      await expectProblem(await getProduct(id), 400, 'invalid_product_id');
    }
  });

  it('accepts the largest safe id and reports unknown products as 404', async () => {
    await expectProblem(await getProduct('9007199254740991'), 404, 'not_found');
    await expectProblem(await getProduct(987654), 404, 'not_found');
  });
});

describe('admin create', () => {
  it('creates a product with stock and answers 201 with its Location', async () => {
    const response = await app.request(
      '/api/v1/products',
      jsonRequest(
        'POST',
        {
          name: '  Desk lamp  ',
          description: 'Warm light',
          price_cents: 4550,
          currency: 'EUR',
          image_url: 'https://example.com/lamp.jpg',
          stock: 12,
        },
        admin,
      ),
    );
    expect(response.status).toBe(201);
    const product = (await response.json()) as ProductBody;
    expect(response.headers.get('location')).toBe(`/api/v1/products/${product.id}`);
    expect(product).toMatchObject({
      name: 'Desk lamp',
      description: 'Warm light',
      price: 45.5,
      price_cents: 4550,
      currency: 'EUR',
      image_url: 'https://example.com/lamp.jpg',
      available: 12,
    });
    expect(Date.parse(product.created_at)).not.toBeNaN();
    expect(await (await getProduct(product.id)).json()).toEqual(product);
  });

  it('defaults description, currency, image and stock', async () => {
    const product = await createProduct({ name: 'Bare', price_cents: 0 });
    expect(product).toMatchObject({
      description: '',
      currency: 'USD',
      image_url: null,
      available: 0,
      price: 0,
    });
  });

  it('validates the body', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ price_cents: 100 }, 'invalid_argument'],
      [{ name: '', price_cents: 100 }, 'invalid_argument'],
      [{ name: '   ', price_cents: 100 }, 'invalid_argument'],
      [{ name: 'x'.repeat(201), price_cents: 100 }, 'invalid_argument'],
      [{ name: 'Pen' }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: -1 }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100_000_000_001 }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100, currency: 'usd' }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100, image_url: 'ftp://example.com/x' }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100, image_url: 'not a url' }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100, stock: -1 }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: 100, description: 'd'.repeat(5001) }, 'invalid_argument'],
      [{ name: 'Pen', price_cents: '100' }, 'invalid_request'],
      [{ name: 'Pen', price_cents: 1.5 }, 'invalid_request'],
      [{ name: 'Pen', price_cents: 2 ** 53 }, 'invalid_request'],
      [{ name: 42, price_cents: 100 }, 'invalid_request'],
      [{ name: 'Pen', price_cents: 100, stock: 2.5 }, 'invalid_request'],
    ];
    const before = await liveIds();
    for (const [body, code] of cases) {
      await expectProblem(await app.request('/api/v1/products', jsonRequest('POST', body, admin)), 400, code);
    }
    expect(await liveIds()).toEqual(before);
  });

  it('returns the first product with 200 when retried with the same Idempotency-Key', async () => {
    const key = `create-${randomUUID()}`;
    const body = { name: 'Idempotent chair', price_cents: 9900, stock: 3 };
    const first = await createProduct(body, { 'Idempotency-Key': key });
    const retry = await app.request(
      '/api/v1/products',
      jsonRequest('POST', body, { ...admin, 'Idempotency-Key': key }),
    );
    expect(retry.status).toBe(200);
    expect(retry.headers.get('location')).toBe(`/api/v1/products/${first.id}`);
    expect(await retry.json()).toEqual(first);

    const racedKey = `race-${randomUUID()}`;
    const raced = await Promise.all(
      Array.from({ length: 5 }, () =>
        app.request('/api/v1/products', jsonRequest('POST', body, { ...admin, 'Idempotency-Key': racedKey })),
      ),
    );
    expect(raced.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
    const ids = await Promise.all(raced.map(async (r) => ((await r.json()) as ProductBody).id));
    expect(new Set(ids).size).toBe(1);
    expect((await list('?q=Idempotent%20chair&limit=100')).products).toHaveLength(2);
  });

  it('binds a key to its request and to the admin who sent it', async () => {
    const key = `bound-${randomUUID()}`;
    const body = { name: 'Bound lamp', price_cents: 4500, stock: 2 };
    const first = await createProduct(body, { 'Idempotency-Key': key });
    // The same key with another body is refused, never answered with the first product.
    const reused = await app.request(
      '/api/v1/products',
      jsonRequest('POST', { ...body, price_cents: 1 }, { ...admin, 'Idempotency-Key': key }),
    );
    expect(await expectProblem(reused, 422, 'idempotency_key_reused')).toMatchObject({
      product_id: first.id,
    });
    // Key order and absent optional fields do not make another request.
    const reordered = await app.request(
      '/api/v1/products',
      jsonRequest(
        'POST',
        { stock: 2, price_cents: 4500, name: 'Bound lamp' },
        { ...admin, 'Idempotency-Key': key },
      ),
    );
    expect(reordered.status).toBe(200);
    // Another admin's key of the same name is another key.
    const other = bearer(await adminToken(2));
    const theirs = await app.request(
      '/api/v1/products',
      jsonRequest('POST', body, { ...other, 'Idempotency-Key': key }),
    );
    expect(theirs.status).toBe(201);
    expect(((await theirs.json()) as ProductBody).id).not.toBe(first.id);
  });

  it('rejects a malformed Idempotency-Key', async () => {
    await expectProblem(
      await app.request(
        '/api/v1/products',
        jsonRequest('POST', { name: 'Pen', price_cents: 1 }, { ...admin, 'Idempotency-Key': 'has space' }),
      ),
      400,
      'invalid_argument',
    );
  });
});

describe('admin patch', () => {
  it('changes only the given fields, and the new price is what everyone sees', async () => {
    const product = await createProduct({
      name: 'Kettle',
      description: 'Boils',
      price_cents: 3000,
      image_url: 'https://example.com/kettle.jpg',
      stock: 4,
    });
    const response = await app.request(
      `/api/v1/products/${product.id}`,
      jsonRequest('PATCH', { price_cents: 3500 }, admin),
    );
    expect(response.status).toBe(200);
    const patched = (await response.json()) as ProductBody;
    expect(patched).toEqual({ ...product, price: 35, price_cents: 3500, updated_at: patched.updated_at });
    expect(Date.parse(patched.updated_at)).toBeGreaterThanOrEqual(Date.parse(product.updated_at));
    expect(await (await getProduct(product.id)).json()).toEqual(patched);
    expect((await list('?q=Kettle')).products).toEqual([patched]);

    const renamed = (await (
      await app.request(
        `/api/v1/products/${product.id}`,
        jsonRequest('PATCH', { name: 'Tea kettle', image_url: null, currency: 'GBP' }, admin),
      )
    ).json()) as ProductBody;
    expect(renamed).toMatchObject({
      name: 'Tea kettle',
      image_url: null,
      currency: 'GBP',
      price_cents: 3500,
    });
    expect(renamed.description).toBe('Boils');
  });

  it('accepts an empty patch as a no-op', async () => {
    const product = await createProduct({ name: 'Unchanged', price_cents: 10 });
    const response = await app.request(`/api/v1/products/${product.id}`, jsonRequest('PATCH', {}, admin));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(product);
  });

  it('validates the body and the id', async () => {
    const product = await createProduct({ name: 'Valid', price_cents: 10 });
    for (const [body, code] of [
      [{ price_cents: -5 }, 'invalid_argument'],
      [{ name: '' }, 'invalid_argument'],
      [{ currency: 'dollars' }, 'invalid_argument'],
      [{ stock: 5 }, 'invalid_argument'],
      [{ price_cents: 'free' }, 'invalid_request'],
    ] as const) {
      await expectProblem(
        await app.request(`/api/v1/products/${product.id}`, jsonRequest('PATCH', body, admin)),
        400,
        code,
      );
    }
    await expectProblem(
      await app.request('/api/v1/products/abc', jsonRequest('PATCH', { name: 'x' }, admin)),
      400,
      'invalid_product_id',
    );
    expect(await (await getProduct(product.id)).json()).toEqual(product);
  });

  it('reports unknown and deleted products as 404', async () => {
    const product = await createProduct({ name: 'Soon gone', price_cents: 10 });
    await app.request(`/api/v1/products/${product.id}`, { method: 'DELETE', headers: admin });
    for (const id of [product.id, 987654]) {
      await expectProblem(
        await app.request(`/api/v1/products/${id}`, jsonRequest('PATCH', { name: 'Back' }, admin)),
        404,
        'not_found',
      );
      await expectProblem(
        await app.request(`/api/v1/products/${id}`, jsonRequest('PATCH', {}, admin)),
        404,
        'not_found',
      );
    }
  });
});

describe('admin delete', () => {
  it('hides the product from the catalog, idempotently', async () => {
    const product = await createProduct({ name: 'Discontinued widget', price_cents: 10, stock: 5 });
    const del = () => app.request(`/api/v1/products/${product.id}`, { method: 'DELETE', headers: admin });
    const first = await del();
    expect(first.status).toBe(204);
    expect(await first.text()).toBe('');
    await expectProblem(await getProduct(product.id), 404, 'not_found');
    expect((await list('?q=Discontinued')).products).toEqual([]);
    expect(await liveIds()).not.toContain(product.id);
    expect((await del()).status).toBe(204);
    // Kept for order history.
    const [row] = await db.sql<{ name: string }[]>`select name from products where id = ${product.id}`;
    expect(row?.name).toBe('Discontinued widget');
  });

  it('reports unknown ids as 404 and malformed ones as 400', async () => {
    await expectProblem(
      await app.request('/api/v1/products/987654', { method: 'DELETE', headers: admin }),
      404,
      'not_found',
    );
    await expectProblem(
      await app.request('/api/v1/products/0', { method: 'DELETE', headers: admin }),
      400,
      'invalid_product_id',
    );
  });
});

describe('admin-only routes', () => {
  it('answer 401 without a token and 403 for a non-admin, changing nothing', async () => {
    const product = await createProduct({ name: 'Guarded', price_cents: 700, stock: 9 });
    const requests: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/products', { name: 'Sneaky', price_cents: 1 }],
      ['PATCH', `/api/v1/products/${product.id}`, { price_cents: 1 }],
      ['DELETE', `/api/v1/products/${product.id}`, undefined],
      ['GET', `/api/v1/inventory/${product.id}`, undefined],
      ['PUT', `/api/v1/inventory/${product.id}`, { on_hand: 0 }],
    ];
    for (const [method, path, body] of requests) {
      for (const [headers, status, code] of [
        [{}, 401, 'unauthenticated'],
        [user, 403, 'forbidden'],
      ] as const) {
        const init = body === undefined ? { method, headers } : jsonRequest(method, body, headers);
        await expectProblem(await app.request(path, init), status, code);
      }
    }
    expect(await (await getProduct(product.id)).json()).toEqual(product);
    expect((await list('?q=Sneaky')).products).toEqual([]);
  });

  it('leave the public reads open', async () => {
    expect((await app.request('/api/v1/products', { headers: user })).status).toBe(200);
    expect((await app.request('/api/v1/products/1')).status).toBe(200);
  });
});

describe('documentation', () => {
  it('documents every catalog route with the 400 codes it answers', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { tags: string[]; responses: Record<string, { description: string }> }>
      >;
    };
    const expected: Array<[string, string, string[]]> = [
      ['/api/v1/products', 'get', ['invalid_argument']],
      ['/api/v1/products', 'post', ['invalid_argument', 'invalid_request']],
      ['/api/v1/products/{id}', 'get', ['invalid_product_id']],
      ['/api/v1/products/{id}', 'patch', ['invalid_product_id', 'invalid_argument', 'invalid_request']],
      ['/api/v1/products/{id}', 'delete', ['invalid_product_id']],
    ];
    for (const [path, method, codes] of expected) {
      const operation = doc.paths[path]?.[method];
      expect(operation?.tags, `${method} ${path}`).toEqual(['Catalog']);
      for (const code of codes) expect(operation?.responses['400']?.description).toContain(`\`${code}\``);
    }
  });
});

describe('availability', () => {
  it('shows on_hand minus what checkouts hold on every product view', async () => {
    const product = await createProduct({ name: 'Hot item', price_cents: 1500, stock: 10 });
    const checkoutId = randomUUID();
    const available = async () => {
      const one = (await (await getProduct(product.id)).json()) as ProductBody;
      const listed = (await list('?q=Hot%20item')).products[0];
      expect(listed?.available).toBe(one.available);
      return one.available;
    };
    await services.inventory.reserve(checkoutId, [{ productId: product.id, quantity: 3 }], 60_000);
    expect(await available()).toBe(7);
    await services.inventory.commit(checkoutId);
    expect(await available()).toBe(7);
    const other = randomUUID();
    await services.inventory.reserve(other, [{ productId: product.id, quantity: 7 }], 60_000);
    expect(await available()).toBe(0);
    await services.inventory.release(other);
    expect(await available()).toBe(7);
  });
});

describe('what the document allows is what the server accepts', () => {
  it('refuses text Postgres cannot store (NUL) with 400 rather than failing', async () => {
    const before = await liveIds();
    const product = await createProduct({ name: 'Plain', price_cents: 10 });
    for (const [method, path, body] of [
      ['POST', '/api/v1/products', { name: 'Pen\u0000', price_cents: 100 }],
      ['POST', '/api/v1/products', { name: 'Pen', price_cents: 100, description: 'a\u0000b' }],
      ['PATCH', `/api/v1/products/${product.id}`, { description: '\u0000' }],
    ] as const) {
      await expectProblem(await app.request(path, jsonRequest(method, body, admin)), 400, 'invalid_argument');
    }
    await expectProblem(await app.request('/api/v1/products?q=a%00b'), 400, 'invalid_argument');
    expect(await liveIds()).toEqual([...before, product.id]);
    expect(await (await getProduct(product.id)).json()).toEqual(product);
  });

  it('counts a length as sent and trims after the checks', async () => {
    await expectProblem(
      await app.request(
        '/api/v1/products',
        jsonRequest('POST', { name: ` ${'x'.repeat(199)} `, price_cents: 1 }, admin),
      ),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await app.request(
        '/api/v1/products',
        jsonRequest('POST', { name: '\ufeff\u00a0', price_cents: 1 }, admin),
      ),
      400,
      'invalid_argument',
    );
    expect(await createProduct({ name: '  Desk lamp \n', price_cents: 1 })).toMatchObject({
      name: 'Desk lamp',
    });
  });

  it('takes an image URL in the documented form only', async () => {
    for (const image_url of [
      'http://example.com/a b.png',
      'https://exa mple.com/',
      'https://example.com/%zz',
      'http://',
    ]) {
      await expectProblem(
        await app.request(
          '/api/v1/products',
          jsonRequest('POST', { name: 'Pic', price_cents: 1, image_url }, admin),
        ),
        400,
        'invalid_argument',
      );
    }
    const image_url = 'HTTPS://cdn.example.com:8443/a%20b/lamp.jpg?size=2&v=1#top';
    expect(await createProduct({ name: 'Pic', price_cents: 1, image_url })).toMatchObject({ image_url });
  });

  it('reads an integral number with a zero fraction as the integer it is, as JSON does', async () => {
    const one = (await (await getProduct(1)).json()) as ProductBody;
    for (const id of ['1.0', '1.00']) {
      const response = await getProduct(id);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(one);
    }
    expect((await list('?limit=2.0')).products).toHaveLength(2);
    for (const id of ['1.5', '1.', '1e0', '01.0'])
      await expectProblem(await getProduct(id), 400, 'invalid_product_id');
  });

  it('accepts every cursor of the documented form: a position after an id', async () => {
    const first = await list('?limit=2');
    expect(first.next_cursor).toBe(`p${first.products[1]?.id}`);
    const afterThree = (await liveIds()).filter((id) => id > 3).slice(0, 2);
    expect((await list('?limit=2&cursor=p3')).products.map((p) => p.id)).toEqual(afterThree);
    expect(await list('?cursor=p9999999999999999')).toEqual({ products: [], next_cursor: null });
  });

  it('documents ids, cursors and the 503 answers as the server has them', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: Array<{ name: string; schema: object }>; responses: Record<string, object> }
        >
      >;
    };
    const get = doc.paths['/api/v1/products/{id}']?.get;
    expect(get?.parameters?.find((p) => p.name === 'id')?.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
    });
    const list = doc.paths['/api/v1/products']?.get;
    expect(list?.parameters?.find((p) => p.name === 'cursor')?.schema).toMatchObject({
      type: 'string',
      pattern: '^p[1-9][0-9]{0,15}$',
    });
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!path.startsWith('/api/')) continue;
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(
          expect.arrayContaining(['429', '500', '503']),
        );
      }
    }
  });
});
