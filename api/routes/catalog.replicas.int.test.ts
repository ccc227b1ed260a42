import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';
import {
  adminToken,
  bearer,
  createTestApp,
  jsonRequest,
  type TestApp,
  userToken,
} from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { type LatencyProxy, startLatencyProxy } from '../../test/support/latency-proxy.js';
import { connectTestRedis, userIdSource } from '../../test/support/redis.js';

// Two API replicas (each its own services, coalesced reads and Redis connection) over one
// Postgres and one Redis. A catalog write acknowledged by one is in the very next read through
// the other, while that other is busy with reads in flight that began before the write. The
// reader's answers from Postgres arrive 50 ms late, so its statements stay in flight across
// writes: a read joining one sent before the write would see the old catalog.
let db: TestDatabase;
let proxy: LatencyProxy;
let readerDatabase: Database;
const clients: Redis[] = [];
let writer: TestApp;
let reader: TestApp;
const nextUser = userIdSource();

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startLatencyProxy(db.url, 50);
  readerDatabase = createDatabase(proxy.url, { max: 4, applicationName: 'commerce-replica-reader' });
  // Every connection of the reader's pool open, so a statement goes out the moment it is sent.
  await Promise.all(Array.from({ length: 8 }, () => readerDatabase.sql`select 1`));
  const replica = (database: TestDatabase) => {
    const redis = connectTestRedis();
    if (redis) clients.push(redis);
    return createTestApp({ db: database, redis });
  };
  writer = replica(db);
  reader = replica({ ...readerDatabase, url: proxy.url, destroy: readerDatabase.close });
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await readerDatabase?.close();
  await proxy?.close();
  await db?.destroy();
});

interface ProductJson {
  id: number;
  price_cents: number;
  available: number;
  name: string;
}
interface CartJson {
  cart: { product_id: number; price_cents: number; purchasable: boolean }[];
  total_cents: number;
}

async function json<T>(response: Response, status = 200): Promise<T> {
  expect(response.status).toBe(status);
  return (await response.json()) as T;
}

describe('catalog reads across replicas', () => {
  it('show a price, a stock level and a deletion written through another replica in the very next read', async () => {
    const admin = bearer(await adminToken());
    const shopper = bearer(await userToken(nextUser()));
    const created = await json<ProductJson>(
      await writer.app.request(
        '/api/v1/products',
        jsonRequest('POST', { name: 'Replica lamp', price_cents: 1000, stock: 50 }, admin),
      ),
      201,
    );
    const id = created.id;
    await json(
      await reader.app.request(
        '/api/v1/cart/items',
        jsonRequest('POST', { product_id: id, quantity: 2 }, shopper),
      ),
      201,
    );
    const pageOf = `/api/v1/products?cursor=p${id - 1}&limit=5`;
    const paths = [`/api/v1/products/${id}`, pageOf, '/api/v1/cart'];
    /** Reads of every path on the reader, sent now and answered 50 ms from now. */
    const readsInFlight = async () => {
      const reads = paths.map((path) => reader.app.request(path, { headers: shopper }));
      await sleep(10);
      return reads;
    };
    for (let round = 1; round <= 10; round++) {
      const price = 1000 + round;
      const onHand = 50 + round;
      // Statements for all three paths are out on the reader when the writes commit.
      const early = await readsInFlight();
      await json(
        await writer.app.request(
          `/api/v1/products/${id}`,
          jsonRequest('PATCH', { price_cents: price }, admin),
        ),
      );
      const late = await readsInFlight();
      await json(
        await writer.app.request(`/api/v1/inventory/${id}`, jsonRequest('PUT', { on_hand: onHand }, admin)),
      );

      const product = await json<ProductJson>(await reader.app.request(`/api/v1/products/${id}`));
      expect([product.price_cents, product.available]).toEqual([price, onHand]);
      const page = await json<{ products: ProductJson[] }>(await reader.app.request(pageOf));
      const listed = page.products.find((entry) => entry.id === id);
      expect([listed?.price_cents, listed?.available]).toEqual([price, onHand]);
      const cart = await json<CartJson>(await reader.app.request('/api/v1/cart', { headers: shopper }));
      expect(cart.cart.find((line) => line.product_id === id)?.price_cents).toBe(price);
      expect(cart.total_cents).toBe(2 * price);
      // Reads that began before a write may show the catalog before it; those that began after
      // the price change (and before the stock change) show that price.
      for (const response of await Promise.all(early)) expect(response.status).toBe(200);
      const [lateProduct, latePage, lateCart] = await Promise.all(late);
      expect((await json<ProductJson>(lateProduct as Response)).price_cents).toBe(price);
      const lateListed = (await json<{ products: ProductJson[] }>(latePage as Response)).products;
      expect(lateListed.find((entry) => entry.id === id)?.price_cents).toBe(price);
      const lateLines = (await json<CartJson>(lateCart as Response)).cart;
      expect(lateLines.find((line) => line.product_id === id)?.price_cents).toBe(price);
    }

    const deleted = await writer.app.request(`/api/v1/products/${id}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(deleted.status).toBe(204);
    expect((await reader.app.request(`/api/v1/products/${id}`)).status).toBe(404);
    const page = await json<{ products: ProductJson[] }>(await reader.app.request(pageOf));
    expect(page.products.map((entry) => entry.id)).not.toContain(id);
    const cart = await json<CartJson>(await reader.app.request('/api/v1/cart', { headers: shopper }));
    expect(cart.cart.find((line) => line.product_id === id)?.purchasable).toBe(false);
  });
});

describe('conditional catalog reads', () => {
  it('answer 304 to a current ETag on any replica, and the new copy once a write changed it', async () => {
    const admin = bearer(await adminToken());
    const { id } = await json<ProductJson>(
      await writer.app.request(
        '/api/v1/products',
        jsonRequest('POST', { name: 'ETag mug', price_cents: 500 }, admin),
      ),
      201,
    );
    const path = `/api/v1/products/${id}`;
    const first = await reader.app.request(path);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get('cache-control')).toBe('public, no-cache');
    // The same bytes on the other replica: the same ETag, so its 304 holds there too.
    expect((await writer.app.request(path)).headers.get('etag')).toBe(etag);

    for (const [app, ifNoneMatch] of [
      [reader, etag],
      [writer, etag],
      [reader, `"other", W/${etag}`],
      [reader, '*'],
    ] as const) {
      const notModified = await app.app.request(path, { headers: { 'If-None-Match': ifNoneMatch } });
      expect(notModified.status).toBe(304);
      expect(await notModified.text()).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);
      expect(notModified.headers.get('cache-control')).toBe('public, no-cache');
    }
    expect((await reader.app.request(path, { headers: { 'If-None-Match': '"stale"' } })).status).toBe(200);

    await json(await writer.app.request(path, jsonRequest('PATCH', { name: 'ETag mug, renamed' }, admin)));
    const changed = await reader.app.request(path, { headers: { 'If-None-Match': etag } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as ProductJson).name).toBe('ETag mug, renamed');
    const newTag = changed.headers.get('etag');
    expect(newTag).not.toBe(etag);
    expect((await reader.app.request(path, { headers: { 'If-None-Match': newTag ?? '' } })).status).toBe(304);

    const list = await reader.app.request('/api/v1/products?limit=3');
    expect(list.headers.get('cache-control')).toBe('public, no-cache');
    const listTag = list.headers.get('etag') ?? '';
    expect(
      (await reader.app.request('/api/v1/products?limit=3', { headers: { 'If-None-Match': listTag } }))
        .status,
    ).toBe(304);
    // Private answers are never stored.
    const cart = await reader.app.request('/api/v1/cart', { headers: bearer(await userToken(nextUser())) });
    expect(cart.headers.get('cache-control')).toBe('no-store');
    expect(cart.headers.get('etag')).toBeNull();
  });
});
