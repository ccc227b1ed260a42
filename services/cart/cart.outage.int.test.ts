import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CartJson } from '../../api/schemas/cart.schemas.js';
import { cartItems, carts } from '../../db/schema.js';
import { createLogger } from '../../infra/logger.js';
import { createRedisClient } from '../../infra/redis.js';
import { systemClock } from '../../lib/clock.js';
import { bearer, createTestApp, jsonRequest, type TestApp, userToken } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import {
  type OwnRedis,
  redisServerAvailable,
  startOwnRedis,
  testRedisUrl,
  userIdSource,
  waitFor,
} from '../../test/support/redis.js';
import { createCatalogService } from '../catalog/catalog.service.js';
import { cartCacheKey, createCartCache } from './cart.cache.js';
import { createCartService, readCartRecord } from './cart.service.js';

// These tests own a redis-server they can kill, restart and freeze; they run wherever the
// suite has Redis (CI always does) and redis-server is installed.
const canRun = Boolean(testRedisUrl()) && (await redisServerAvailable());
const logger = createLogger({ level: 'silent' });
const nextUser = userIdSource();

let db: TestDatabase;
let own: OwnRedis;
let redisDown = false;
let client: Redis;
let testApp: TestApp;

beforeAll(async () => {
  if (!canRun) return;
  db = await createTestDatabase();
  own = await startOwnRedis();
});
// Each test has its own client and app (so its own counters), and leaves Redis running.
afterEach(async () => {
  client?.disconnect();
  if (redisDown) await startRedis();
});
afterAll(async () => {
  await own?.destroy();
  await db?.destroy();
});

async function killRedis(): Promise<void> {
  redisDown = true;
  await own.kill();
}
async function startRedis(): Promise<void> {
  await own.start();
  redisDown = false;
}

/**
 * A new client and an app over it; waits for the connection unless Redis is meant to be down.
 * No carts kept in the process's memory: these tests count what reaches Redis, read by read
 * (cart.memory.int.test.ts has the in-process cache through outages).
 */
async function connect(): Promise<void> {
  client = createRedisClient(own.url, logger, 'commerce-outage-test');
  testApp = createTestApp({ db, redis: client, cartMemoryCacheSize: 0 });
  if (!redisDown) await waitFor('the client to connect', () => client.status === 'ready');
}

async function cacheCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const name of [
    'cart_cache_requests_total',
    'cart_cache_invalidations_total',
    'cart_cache_fills_total',
  ]) {
    const metric = await testApp.metrics.getSingleMetric(name)?.get();
    for (const value of metric?.values ?? []) {
      counts[`${name.replace('cart_cache_', '').replace('_total', '')}.${value.labels.result}`] = value.value;
    }
  }
  return counts;
}

const hits = async () => (await cacheCounts())['requests.hit'] ?? 0;

async function shopper(userId: number) {
  const headers = bearer(await userToken(userId));
  const read = async (response: Response, status: number) => {
    const body = (await response.json()) as CartJson;
    expect(response.status, JSON.stringify(body)).toBe(status);
    return Object.fromEntries(body.cart.map((item) => [item.product_id, item.quantity]));
  };
  return {
    get: async () => read(await testApp.app.request('/api/v1/cart', { headers }), 200),
    add: async (productId: number, quantity: number) =>
      read(
        await testApp.app.request(
          '/api/v1/cart/items',
          jsonRequest('POST', { product_id: productId, quantity }, headers),
        ),
        201,
      ),
    put: async (productId: number, quantity: number) =>
      read(
        await testApp.app.request(
          `/api/v1/cart/items/${productId}`,
          jsonRequest('PUT', { quantity }, headers),
        ),
        200,
      ),
    remove: async (productId: number) =>
      read(await testApp.app.request(`/api/v1/cart/items/${productId}`, { method: 'DELETE', headers }), 200),
  };
}

async function postgresQuantities(userId: number): Promise<Record<number, number>> {
  const rows = await db.db
    .select({ productId: cartItems.productId, quantity: cartItems.quantity })
    .from(cartItems)
    .innerJoin(carts, eq(carts.id, cartItems.cartId))
    .where(eq(carts.userId, userId));
  return Object.fromEntries(rows.map((row) => [row.productId, row.quantity]));
}

describe.skipIf(!canRun)('carts when Redis goes away', () => {
  it('starts and serves carts with Redis stopped, then uses the cache once Redis starts', async () => {
    await killRedis();
    await connect();
    const userId = nextUser();
    const user = await shopper(userId);

    expect(await user.get()).toEqual({});
    expect(await user.add(1, 2)).toEqual({ 1: 2 });
    expect(await user.get()).toEqual({ 1: 2 });
    expect(await user.put(1, 3)).toEqual({ 1: 3 });
    expect(await user.get()).toEqual({ 1: 3 });
    expect(await user.add(2, 1)).toEqual({ 1: 3, 2: 1 });
    expect(await user.remove(1)).toEqual({ 2: 1 });
    expect(await user.get()).toEqual({ 2: 1 });
    const down = await cacheCounts();
    expect(down['requests.hit']).toBe(0);
    expect(down['requests.bypass']).toBeGreaterThanOrEqual(4);

    await startRedis();
    await waitFor('the client to reconnect', () => client.status === 'ready');
    await waitFor('cache hits to resume', async () => {
      expect(await user.get()).toEqual({ 2: 1 });
      return (await hits()) > 0;
    });
    expect(await postgresQuantities(userId)).toEqual({ 2: 1 });
  });

  it('keeps carts correct while Redis is killed under traffic, and recovers the cache when it returns', async () => {
    await connect();
    const violations: string[] = [];
    let stop = false;
    let operations = 0;

    // Each shopper checks that every read after a write's response shows that write.
    const shop = async (userId: number) => {
      const user = await shopper(userId);
      let quantity = 0;
      while (!stop) {
        quantity = (quantity % 99) + 1;
        const written = quantity === 1 ? await user.add(3, quantity) : await user.put(3, quantity);
        if (written[3] !== quantity) violations.push(`write answered ${written[3]} for ${quantity}`);
        for (let i = 0; i < 3; i++) {
          const seen = (await user.get())[3];
          if (seen !== quantity) violations.push(`user ${userId} read ${seen} after writing ${quantity}`);
        }
        operations += 4;
      }
      return { userId, quantity };
    };

    const startHits = await hits();
    const shoppers = Array.from({ length: 4 }, () => shop(nextUser()));
    await waitFor('the cache to serve hits', async () => (await hits()) > startHits + 20);

    await killRedis();
    const killedAt = operations;
    const before = await cacheCounts();
    await waitFor('traffic to continue without Redis', () => operations > killedAt + 100);
    const during = await cacheCounts();
    expect((during['requests.bypass'] ?? 0) + (during['requests.error'] ?? 0)).toBeGreaterThan(
      (before['requests.bypass'] ?? 0) + (before['requests.error'] ?? 0),
    );

    await startRedis();
    const restartedHits = await hits();
    await waitFor('cache hits to resume after the restart', async () => (await hits()) > restartedHits + 20);
    stop = true;
    const finished = await Promise.all(shoppers);

    expect(violations).toEqual([]);
    for (const { userId, quantity } of finished) {
      expect(await postgresQuantities(userId)).toEqual({ 3: quantity });
      expect(await (await shopper(userId)).get()).toEqual({ 3: quantity });
    }
  });

  it('never serves the cart Redis kept through a partition when a write happened meanwhile', async () => {
    await connect();
    const userId = nextUser();
    const user = await shopper(userId);
    await user.add(4, 1);
    await user.get();
    const warm = await hits();
    expect(await user.get()).toEqual({ 4: 1 });
    expect(await hits()).toBe(warm + 1);

    // Frozen, Redis keeps the cached cart {4: 1} in memory while commands time out.
    own.freeze();
    try {
      expect(await user.put(4, 5)).toEqual({ 4: 5 });
      expect(await user.get()).toEqual({ 4: 5 });
      expect(await user.add(5, 2)).toEqual({ 4: 5, 5: 2 });
      expect(await user.get()).toEqual({ 4: 5, 5: 2 });
      const counts = await cacheCounts();
      expect((counts['invalidations.error'] ?? 0) + (counts['invalidations.deferred'] ?? 0)).toBeGreaterThan(
        0,
      );
    } finally {
      own.thaw();
    }

    const resumed = await hits();
    await waitFor('cache hits to resume after the partition', async () => {
      expect(await user.get()).toEqual({ 4: 5, 5: 2 });
      return (await hits()) > resumed;
    });
    const cached = await client.hget(cartCacheKey(userId), 'data');
    const version = (await readCartRecord(db.db, userId)).version;
    expect(cached && (JSON.parse(cached) as { version: number }).version).toBe(version);
  });

  it('never serves what Redis kept through a partition that also cut the invalidations off, and caches again', async () => {
    await connect();
    const userId = nextUser();
    const user = await shopper(userId);
    await user.add(4, 1);
    await user.get();
    const warm = await hits();
    expect(await user.get()).toEqual({ 4: 1 });
    expect(await hits()).toBe(warm + 1);

    // The partition also cuts the connection, so no invalidation sent meanwhile reaches Redis,
    // which still holds {4: 1} when it answers again.
    own.freeze();
    try {
      client.disconnect(true);
      await waitFor('the client to notice', () => client.status !== 'ready');
      expect(await user.put(4, 6)).toEqual({ 4: 6 });
      expect(await user.get()).toEqual({ 4: 6 });
      expect((await cacheCounts())['invalidations.deferred']).toBeGreaterThan(0);
    } finally {
      own.thaw();
    }

    await waitFor('the client to reconnect', () => client.status === 'ready');
    const resumed = await hits();
    await waitFor('cache hits to resume', async () => {
      expect(await user.get()).toEqual({ 4: 6 });
      return (await hits()) > resumed;
    });
  });

  it('never serves what a Redis that answers reads but refuses writes still holds, and caches again', async () => {
    await connect();
    const admin = createRedisClient(own.url, logger, 'commerce-outage-admin');
    try {
      const userId = nextUser();
      const user = await shopper(userId);
      await user.add(1, 1);
      await user.get();
      const warm = await hits();
      expect(await user.get()).toEqual({ 1: 1 });
      expect(await hits()).toBe(warm + 1);

      // Out of memory with no eviction: scripts that write are refused, plain reads still work.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      expect(await user.put(1, 7)).toEqual({ 1: 7 });
      for (let i = 0; i < 5; i++) expect(await user.get()).toEqual({ 1: 7 });
      const refused = await cacheCounts();
      expect(refused['invalidations.error']).toBeGreaterThan(0);

      await admin.config('SET', 'maxmemory', '0');
      const resumed = await hits();
      await waitFor('cache hits to resume', async () => {
        expect(await user.get()).toEqual({ 1: 7 });
        return (await hits()) > resumed;
      });
    } finally {
      await admin.config('SET', 'maxmemory', '0').catch(() => {});
      admin.disconnect();
    }
  });

  it('drops a fill whose miss happened before Redis restarted (the restart lost the floors)', async () => {
    await connect();
    const cache = createCartCache({
      redis: client,
      logger,
      metrics: new Registry(),
      ttlMs: 60_000,
      jitterMs: 0,
    });
    const cart = createCartService({
      db: db.db,
      catalog: createCatalogService({ db: db.db }),
      cache,
      clock: systemClock,
      logger,
    });
    try {
      // A reader misses on a user Redis knows nothing about and reads the (empty) cart...
      const userId = nextUser();
      const before = await cache.lookup(userId);
      if (before.kind !== 'miss') throw new Error(`expected a miss, got ${before.kind}`);
      const stale = await readCartRecord(db.db, userId);
      // ...a write commits and fences it in Redis, and then Redis restarts and forgets the fence.
      await cart.addItem(userId, 1, 1);
      await killRedis();
      await startRedis();
      await waitFor('the client to reconnect', () => client.status === 'ready');

      expect(await cache.fill(stale, before.miss)).toBe('aborted');
      expect(await client.hget(cartCacheKey(userId), 'data')).toBeNull();
      expect((await cart.get(userId)).lines.map((line) => line.productId)).toEqual([1]);
    } finally {
      cache.close();
    }
  });
});
