import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CartJson } from '../../api/schemas/cart.schemas.js';
import { cartItems, carts } from '../../db/schema.js';
import { createLogger } from '../../infra/logger.js';
import { systemClock } from '../../lib/clock.js';
import { bearer, createTestApp, jsonRequest, type TestApp, userToken } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { seededRandom } from '../../test/support/random.js';
import { connectTestRedis, testRedisUrl, userIdSource, waitFor } from '../../test/support/redis.js';
import { allowedValues, type Write } from '../../test/support/write-history.js';
import { createCatalogService } from '../catalog/catalog.service.js';
import { type CartCache, cartCacheKey, createCartCache } from './cart.cache.js';
import type { Cart, CartRecord } from './cart.model.js';
import { type CartService, createCartService, MEMORY_CACHE_DEFAULT, readCartRecord } from './cart.service.js';

const redisUrl = testRedisUrl();
const logger = createLogger({ level: 'silent' });
const TTL_MS = 60_000;
const JITTER_MS = 10_000;

let db: TestDatabase;
let redis: Redis;
const nextUser = userIdSource();

beforeAll(async () => {
  if (!redisUrl) return;
  db = await createTestDatabase();
  redis = connectTestRedis(redisUrl) as Redis;
  await waitFor('the test Redis connection', () => redis.status === 'ready');
});
afterAll(async () => {
  redis?.disconnect();
  await db?.destroy();
});

const openCaches: CartCache[] = [];
afterEach(() => {
  for (const cache of openCaches.splice(0)) cache.close();
});

/** A cart service over its own cache and nothing in front of it, so a test can look inside the cache. */
function createCachedCart(): { cache: CartCache; cart: CartService } {
  const cache = createCartCache({
    redis,
    logger,
    metrics: new Registry(),
    ttlMs: TTL_MS,
    jitterMs: JITTER_MS,
  });
  openCaches.push(cache);
  const cart = createCartService({
    db: db.db,
    catalog: createCatalogService({ db: db.db }),
    cache,
    clock: systemClock,
    logger,
    memoryCacheSize: 0,
  });
  return { cache, cart };
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

const productIds = (record: CartRecord) => record.lines.map((line) => line.productId).sort((a, b) => a - b);
const viewIds = (view: Cart) => view.lines.map((line) => line.productId).sort((a, b) => a - b);

async function cachedVersion(userId: number): Promise<number | undefined> {
  const data = await redis.hget(cartCacheKey(userId), 'data');
  return data ? (JSON.parse(data) as { version: number }).version : undefined;
}

describe.skipIf(!redisUrl)('cart cache fencing (the go_cart stale-fill race)', () => {
  it('refuses a fill read before a write that has since invalidated, and serves the write next', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);

    const before = await cache.lookup(userId);
    if (before.kind !== 'miss') throw new Error(`expected a miss, got ${before.kind}`);
    const stale = await readCartRecord(db.db, userId);
    // The write commits and invalidates between the reader's Postgres read and its fill.
    await cart.addItem(userId, 2, 1);
    expect(await cache.fill(stale, before.miss)).toBe('fenced');
    expect(await redis.hget(cartCacheKey(userId), 'data')).toBeNull();

    expect(viewIds(await cart.get(userId))).toEqual([1, 2]);
    const after = await cache.lookup(userId);
    expect(after.kind).toBe('hit');
    if (after.kind === 'hit') expect(productIds(after.record)).toEqual([1, 2]);
    expect(cache.stats().fills).toMatchObject({ fenced: 1, stored: 1 });
  });

  it('refuses the fill of a read whose Postgres read was delayed across a write', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    await cart.get(userId);

    await cart.addItem(userId, 3, 1);
    const readDone = deferred();
    const release = deferred();
    const slowRead = cache.read(userId, async () => {
      const record = await readCartRecord(db.db, userId);
      readDone.resolve();
      await release.promise;
      return record;
    });
    await readDone.promise;
    const written = await cart.addItem(userId, 4, 2);
    release.resolve();

    // The slow read began before the write's response, so the older cart is a correct answer for it...
    expect(productIds(await slowRead)).toEqual([1, 3]);
    // ...but it must not have been stored: the next read sees the write.
    expect(cache.stats().fills.fenced).toBe(1);
    expect(await cart.get(userId)).toEqual({ ...written, updatedAt: written.updatedAt });
    expect(viewIds(await cart.get(userId))).toEqual([1, 3, 4]);
    expect(await cachedVersion(userId)).toBe((await cart.snapshot(userId)).version);
  });

  it('never lets a fill overwrite a newer cached cart', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const early = await cache.lookup(userId);
    if (early.kind !== 'miss') throw new Error('expected a miss');
    const old = await readCartRecord(db.db, userId);
    await cart.addItem(userId, 2, 1);
    const late = await cache.lookup(userId);
    if (late.kind !== 'miss') throw new Error('expected a miss');
    const fresh = await readCartRecord(db.db, userId);
    expect(await cache.fill(fresh, late.miss)).toBe('stored');
    expect(await cache.fill(old, early.miss)).toBe('fenced');
    expect(await cachedVersion(userId)).toBe(fresh.version);
  });

  it('refuses a fill when the key that carried the floor it saw has vanished (expiry, eviction)', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const before = await cache.lookup(userId);
    if (before.kind !== 'miss') throw new Error('expected a miss');
    expect(before.miss.floor).toBeGreaterThan(0);
    const stale = await readCartRecord(db.db, userId);
    await cart.addItem(userId, 2, 1);
    await redis.del(cartCacheKey(userId));
    expect(await cache.fill(stale, before.miss)).toBe('fenced');
    expect(viewIds(await cart.get(userId))).toEqual([1, 2]);
  });

  it('treats an unreadable cached entry as a miss', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 5, 2);
    await redis.hset(cartCacheKey(userId), 'data', 'not json', 'floor', '0');
    expect((await cache.lookup(userId)).kind).toBe('miss');
    expect(viewIds(await cart.get(userId))).toEqual([5]);
  });

  it('keeps entries for the TTL plus jitter, and the floor at least that long after a write', async () => {
    const { cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const afterWrite = await redis.pttl(cartCacheKey(userId));
    expect(afterWrite).toBeGreaterThan(TTL_MS - 5_000);
    expect(afterWrite).toBeLessThan(TTL_MS + JITTER_MS);
    await cart.get(userId);
    const ttls = [];
    for (let i = 0; i < 10; i++) {
      await redis.hdel(cartCacheKey(userId), 'data');
      await cart.get(userId);
      ttls.push(await redis.pttl(cartCacheKey(userId)));
    }
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(TTL_MS - 5_000);
      expect(ttl).toBeLessThan(TTL_MS + JITTER_MS);
    }
    expect(new Set(ttls.map((ttl) => Math.round(ttl / 100))).size).toBeGreaterThan(1);
  });
});

describe.skipIf(!redisUrl)('concurrent misses share one Postgres read', () => {
  it('collapses simultaneous misses for one user into a single read', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 2, 3);
    let reads = 0;
    const release = deferred();
    const baseline = cache.stats().misses;
    const readers = Array.from({ length: 20 }, () =>
      cache.read(userId, async () => {
        reads += 1;
        const record = await readCartRecord(db.db, userId);
        await release.promise;
        return record;
      }),
    );
    await waitFor('all 20 lookups to miss', () => cache.stats().misses === baseline + 20);
    release.resolve();
    const results = await Promise.all(readers);
    expect(reads).toBe(1);
    expect(cache.stats().sharedReads).toBe(19);
    for (const result of results) expect(productIds(result)).toEqual([2]);
  });

  it('makes a caller that saw a newer write reject an older shared read and read again', async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const leaderRead = deferred();
    const release = deferred();
    const leader = cache.read(userId, async () => {
      const record = await readCartRecord(db.db, userId);
      leaderRead.resolve();
      await release.promise;
      return record;
    });
    await leaderRead.promise;
    await cart.addItem(userId, 2, 1);

    let ownReads = 0;
    const missesBefore = cache.stats().misses;
    const follower = cache.read(userId, () => {
      ownReads += 1;
      return readCartRecord(db.db, userId);
    });
    await waitFor('the follower to miss and join', () => cache.stats().misses === missesBefore + 1);
    expect(ownReads).toBe(0);
    release.resolve();

    expect(productIds(await leader)).toEqual([1]);
    expect(productIds(await follower)).toEqual([1, 2]);
    expect(ownReads).toBe(1);
    expect(viewIds(await cart.get(userId))).toEqual([1, 2]);
  });

  it("does not pass one caller's failed read to the others: each falls back to its own", async () => {
    const { cache, cart } = createCachedCart();
    const userId = nextUser();
    await cart.addItem(userId, 4, 1);
    const release = deferred();
    const leader = cache.read(userId, async () => {
      await release.promise;
      throw new Error('leader connection reset');
    });
    const leaderSettled = leader.then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await waitFor('the leader to miss', () => cache.stats().misses === 1);
    let ownReads = 0;
    const followers = Array.from({ length: 5 }, () =>
      cache.read(userId, () => {
        ownReads += 1;
        return readCartRecord(db.db, userId);
      }),
    );
    await waitFor('the followers to miss', () => cache.stats().misses === 6);
    release.resolve();
    expect(await leaderSettled).toBe('leader connection reset');
    for (const result of await Promise.all(followers)) expect(productIds(result)).toEqual([4]);
    expect(ownReads).toBe(5);
  });
});

// Through the app as `npm start` wires it (carts kept in memory in front of Redis), and with
// Redis alone, whose every lookup the counters below can then account for.
describe.skipIf(!redisUrl).each([
  { layers: 'Redis alone', memoryCacheSize: 0 },
  { layers: 'the in-process cache in front of Redis', memoryCacheSize: MEMORY_CACHE_DEFAULT },
])('freshness under concurrent clients through the API ($layers)', ({ memoryCacheSize }) => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = createTestApp({ db, redis, cartMemoryCacheSize: memoryCacheSize });
  });

  async function cacheRequests(): Promise<Record<string, number>> {
    const metric = await testApp.metrics.getSingleMetric('cart_cache_requests_total')?.get();
    return Object.fromEntries(
      (metric?.values ?? []).map((value) => [String(value.labels.result), value.value]),
    );
  }

  it('makes every read that starts after a write was acknowledged see that write (10 clients x 40 operations)', async () => {
    const userId = nextUser();
    const headers = bearer(await userToken(userId));
    const extra: number[] = [];
    for (let i = 0; i < 5; i++) {
      extra.push(
        (await testApp.services.catalog.create({ name: `Fresh ${i}`, priceCents: 10 + i })).product.id,
      );
    }
    const products = [1, 2, 3, 4, 5, ...extra];
    const seed = Date.now() % 100_000;
    const random = seededRandom(seed);

    // Each product has exactly one writer client, so its writes are totally ordered. A read
    // that starts after write k of a product was acknowledged may show write k or any later
    // write issued before the read ended, never anything older.
    let tick = 0;
    const history = new Map<number, Write[]>(products.map((id) => [id, []]));
    const violations: string[] = [];
    let reads = 0;

    const check = (view: CartJson, startedAt: number, endedAt: number, what: string) => {
      const seen = new Map(view.cart.map((item) => [item.product_id, item.quantity]));
      for (const productId of products) {
        const allowed = allowedValues(history.get(productId) ?? [], startedAt, endedAt);
        const observed = seen.get(productId) ?? 0;
        if (!allowed.has(observed)) {
          violations.push(
            `${what} of product ${productId} saw ${observed}, expected one of ${[...allowed].join(',')} (seed ${seed})`,
          );
        }
      }
    };

    const client = async (productId: number) => {
      let present = false;
      let nextValue = 1;
      for (let op = 0; op < 40; op++) {
        const roll = random();
        if (roll < 0.6) {
          const startedAt = ++tick;
          const response = await testApp.app.request('/api/v1/cart', { headers });
          const endedAt = ++tick;
          expect(response.status).toBe(200);
          check((await response.json()) as CartJson, startedAt, endedAt, 'read');
          reads += 1;
          continue;
        }
        const remove: boolean = present && roll > 0.9;
        const value = remove ? 0 : nextValue++;
        const write: Write = { value, issuedAt: ++tick, ackedAt: 0 };
        history.get(productId)?.push(write);
        const response = remove
          ? await testApp.app.request(`/api/v1/cart/items/${productId}`, { method: 'DELETE', headers })
          : present && roll > 0.75
            ? await testApp.app.request(
                `/api/v1/cart/items/${productId}`,
                jsonRequest('PUT', { quantity: value }, headers),
              )
            : await testApp.app.request(
                '/api/v1/cart/items',
                jsonRequest('POST', { product_id: productId, quantity: value }, headers),
              );
        write.ackedAt = ++tick;
        expect(response.status).toBeLessThan(300);
        present = !remove;
        const view = (await response.json()) as CartJson;
        check(view, write.issuedAt, write.ackedAt, 'write response');
        expect(view.cart.find((item) => item.product_id === productId)?.quantity ?? 0).toBe(value);
      }
    };

    const before = await cacheRequests();
    const memoryBefore = testApp.services.cart.memoryStats();
    await Promise.all(products.map((productId) => client(productId)));
    const after = await cacheRequests();
    const memoryAfter = testApp.services.cart.memoryStats();

    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(150);
    const hits = (after.hit ?? 0) - (before.hit ?? 0);
    const lookups = ['hit', 'miss', 'error', 'bypass'].reduce(
      (sum, result) => sum + (after[result] ?? 0) - (before[result] ?? 0),
      0,
    );
    expect((after.error ?? 0) + (after.bypass ?? 0)).toBe(0);
    if (memoryBefore && memoryAfter) {
      // Every read asked memory first; only its misses and refused candidates reached Redis.
      const memory = {
        hits: memoryAfter.hits - memoryBefore.hits,
        stale: memoryAfter.stale - memoryBefore.stale,
        misses: memoryAfter.misses - memoryBefore.misses,
      };
      expect(memory.hits + memory.stale + memory.misses).toBe(reads);
      expect(lookups).toBe(memory.stale + memory.misses);
      expect(memory.hits).toBeGreaterThan(0);
    } else {
      expect(memoryCacheSize).toBe(0);
      expect(lookups).toBe(reads);
      expect(hits).toBeGreaterThan(0);
      expect(hits / lookups).toBeGreaterThan(0.2);
    }

    const [cart] = await db.db.select({ id: carts.id }).from(carts).where(eq(carts.userId, userId));
    const truth = await db.db
      .select({ productId: cartItems.productId, quantity: cartItems.quantity })
      .from(cartItems)
      .where(eq(cartItems.cartId, cart?.id ?? ''));
    const final = (await (await testApp.app.request('/api/v1/cart', { headers })).json()) as CartJson;
    const asMap = (pairs: Array<[number, number]>) => Object.fromEntries(pairs.sort((a, b) => a[0] - b[0]));
    expect(asMap(final.cart.map((item) => [item.product_id, item.quantity]))).toEqual(
      asMap(truth.map((line) => [line.productId, line.quantity])),
    );
    const lastAcked = products.flatMap((productId): Array<[number, number]> => {
      const value = history.get(productId)?.at(-1)?.value ?? 0;
      return value > 0 ? [[productId, value]] : [];
    });
    expect(asMap(final.cart.map((item) => [item.product_id, item.quantity]))).toEqual(asMap(lastAcked));
  });

  it('exposes the cache counters on /metrics', async () => {
    const scrape = async () => {
      const text = await (await testApp.app.request('/metrics')).text();
      const value = (name: string, result: string) =>
        Number(new RegExp(`^${name}\\{result="${result}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      return {
        text,
        hits: value('cart_cache_requests_total', 'hit'),
        memoryHits: value('cart_memory_cache_requests_total', 'hit'),
        fenced: value('cart_cache_fills_total', 'fenced'),
        invalidated: value('cart_cache_invalidations_total', 'ok'),
      };
    };
    const before = await scrape();
    const userId = nextUser();
    const headers = bearer(await userToken(userId));
    const add = (productId: number) =>
      testApp.app.request(
        '/api/v1/cart/items',
        jsonRequest('POST', { product_id: productId, quantity: 1 }, headers),
      );
    expect((await add(1)).status).toBe(201);
    for (let i = 0; i < 2; i++)
      expect((await testApp.app.request('/api/v1/cart', { headers })).status).toBe(200);
    // A second cache on the app's registry (as a second service set in one process would be)
    // loses the stale-fill race; its counters are the app's.
    const racing = createCartCache({ redis, logger, metrics: testApp.metrics, ttlMs: TTL_MS, jitterMs: 0 });
    openCaches.push(racing);
    await redis.hdel(cartCacheKey(userId), 'data');
    const miss = await racing.lookup(userId);
    if (miss.kind !== 'miss') throw new Error(`expected a miss, got ${miss.kind}`);
    const stale = await readCartRecord(db.db, userId);
    expect((await add(2)).status).toBe(201);
    expect(await racing.fill(stale, miss.miss)).toBe('fenced');

    const after = await scrape();
    expect(after.text).toMatch(/cart_cache_fills_total\{result="fenced"\} [1-9]\d*/);
    expect(after.text).toMatch(/cart_cache_invalidations_total\{result="ok"\} [1-9]\d*/);
    // The first read after the add missed both caches; the second was a hit in the first cache
    // it asked.
    if (memoryCacheSize > 0) {
      expect(after.text).toMatch(/cart_memory_cache_requests_total\{result="hit"\} [1-9]\d*/);
      expect(after.memoryHits - before.memoryHits).toBe(1);
      expect(after.hits - before.hits).toBe(0);
    } else {
      expect(after.text).toMatch(/cart_cache_requests_total\{result="hit"\} [1-9]\d*/);
      expect(after.text).not.toMatch(/cart_memory_cache_requests_total/);
      expect(after.hits - before.hits).toBe(1);
    }
    expect(after.fenced - before.fenced).toBe(1);
    expect(after.invalidated - before.invalidated).toBe(2);
  });
});
