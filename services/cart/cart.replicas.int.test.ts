import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { createRedisClient } from '../../infra/redis.js';
import { systemClock } from '../../lib/clock.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { seededRandom } from '../../test/support/random.js';
import {
  type OwnRedis,
  redisServerAvailable,
  startOwnRedis,
  testRedisUrl,
  userIdSource,
  waitFor,
} from '../../test/support/redis.js';
import { allowedValues, type Write } from '../../test/support/write-history.js';
import { createCatalogService } from '../catalog/catalog.service.js';
import { type CartCache, cartCacheKey, createCartCache } from './cart.cache.js';
import type { Cart } from './cart.model.js';
import { type CartService, createCartService, MEMORY_CACHE_DEFAULT, readCartRecord } from './cart.service.js';

// API replicas over one Redis that loses keys (FLUSHALL, eviction) or never hears of a write
// (its writer died between commit and invalidation). These tests own a redis-server started
// with the flags `npm start` uses, so flushing it disturbs no other test file.
const canRun = Boolean(testRedisUrl()) && (await redisServerAvailable());
const logger = createLogger({ level: 'silent' });
const nextUser = userIdSource();

let db: TestDatabase;
let own: OwnRedis;
let admin: Redis;
const clients: Redis[] = [];

beforeAll(async () => {
  if (!canRun) return;
  db = await createTestDatabase();
  own = await startOwnRedis();
  admin = createRedisClient(own.url, logger, 'commerce-replicas-admin');
});
afterAll(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  admin?.disconnect();
  await own?.destroy();
  await db?.destroy();
});

interface Replica {
  cache: CartCache;
  cart: CartService;
}

/** One API process: its own Redis connection, cache and cart service over the shared Postgres. */
async function newReplica(
  memoryCacheSize: number,
  wrap: (cache: CartCache) => CartCache = (cache) => cache,
): Promise<Replica> {
  const client = createRedisClient(own.url, logger, 'commerce-replica');
  clients.push(client);
  await waitFor('the replica to connect', () => client.status === 'ready');
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
    cache: wrap(cache),
    clock: systemClock,
    logger,
    memoryCacheSize,
  });
  return { cache, cart };
}

const quantities = (view: Cart) =>
  Object.fromEntries(view.lines.map((line) => [line.productId, line.quantity]));

async function cachedVersion(userId: number): Promise<number | undefined> {
  const data = await admin.hget(cartCacheKey(userId), 'data');
  return data ? (JSON.parse(data) as { version: number }).version : undefined;
}

// Each replica as `npm start` runs it (carts kept in its memory, confirmed like Redis hits), and
// with Redis alone.
describe.skipIf(!canRun).each([
  { layers: 'Redis alone', memoryCacheSize: 0 },
  { layers: 'carts in memory in front of Redis', memoryCacheSize: MEMORY_CACHE_DEFAULT },
])('$layers', ({ memoryCacheSize }) => {
  const replica = (wrap?: (cache: CartCache) => CartCache) => newReplica(memoryCacheSize, wrap);
  /** Reads a replica served from a cache (its memory or Redis) and confirmed. */
  const servedFromCache = ({ cache, cart }: Replica) =>
    cache.stats().hits - cache.stats().stale + (cart.memoryStats()?.hits ?? 0);

  describe('replicas over a Redis that loses keys', () => {
    it.each([
      ['evicts the key', (userId: number) => admin.del(cartCacheKey(userId))],
      ['is flushed', () => admin.flushall()],
    ])('serves no old cart that a fill stored after Redis %s and forgot the floor', async (_, forget) => {
      const [a, b, c] = [await replica(), await replica(), await replica()];
      const userId = nextUser();
      await a.cart.addItem(userId, 1, 1);
      await admin.del(cartCacheKey(userId));

      // B misses on a user Redis knows nothing about and reads the cart...
      const miss = await b.cache.lookup(userId);
      if (miss.kind !== 'miss') throw new Error(`expected a miss, got ${miss.kind}`);
      const old = await readCartRecord(db.db, userId);
      // ...A's write commits and raises the floor, then Redis loses the key with the floor...
      expect(quantities(await a.cart.addItem(userId, 2, 1))).toEqual({ 1: 1, 2: 1 });
      await forget(userId);
      // ...so nothing in Redis can refuse B's fill of the cart it read before the write.
      expect(await b.cache.fill(old, miss.miss)).toBe('stored');
      expect(await cachedVersion(userId)).toBe(old.version);

      // Every read that starts after the write was acknowledged sees it, on any replica.
      expect(quantities(await c.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      expect(quantities(await b.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      expect(c.cache.stats().stale).toBe(1);
      // The refused cart was dropped, and the next read refilled Redis with the current one.
      expect(await cachedVersion(userId)).toBe((await readCartRecord(db.db, userId)).version);
      expect(quantities(await a.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      expect(a.cache.stats().hits).toBe(1);
    });

    it('keeps every read after an acknowledged write fresh while Redis flushes, evicts and drops floors under traffic (3 replicas)', async () => {
      const replicas = [await replica(), await replica(), await replica()];
      const userId = nextUser();
      const products = [1, 2, 3, 4, 5];
      const seed = Date.now() % 100_000;
      const random = seededRandom(seed);
      const pick = () => replicas[Math.floor(random() * replicas.length)] as Replica;

      // As in the single-process freshness test: each product has one writer, so its writes are
      // totally ordered; a read that starts after write k was acknowledged may show write k or a
      // later one issued before the read ended, never anything older.
      let tick = 0;
      const history = new Map<number, Write[]>(products.map((id) => [id, []]));
      const violations: string[] = [];
      let reads = 0;
      const check = (view: Cart, startedAt: number, endedAt: number) => {
        const seen = quantities(view);
        for (const productId of products) {
          const allowed = allowedValues(history.get(productId) ?? [], startedAt, endedAt);
          const observed = seen[productId] ?? 0;
          if (!allowed.has(observed)) {
            violations.push(
              `product ${productId}: saw ${observed}, expected one of ${[...allowed]} (seed ${seed})`,
            );
          }
        }
      };

      let writing = products.length;
      const writer = async (productId: number) => {
        let present = false;
        for (let op = 1; op <= 40; op++) {
          const remove: boolean = present && random() < 0.2;
          const value = remove ? 0 : op;
          const write: Write = { value, issuedAt: ++tick, ackedAt: 0 };
          history.get(productId)?.push(write);
          const { cart } = pick();
          if (remove) await cart.removeItem(userId, productId);
          else if (present) await cart.updateQuantity(userId, productId, value);
          else await cart.addItem(userId, productId, value);
          write.ackedAt = ++tick;
          present = !remove;
        }
        writing -= 1;
      };
      const reader = async () => {
        while (writing > 0) {
          const startedAt = ++tick;
          const view = await pick().cart.get(userId);
          check(view, startedAt, ++tick);
          reads += 1;
        }
      };

      // Real evictions as well: with maxmemory below what Redis holds, allkeys-lru (the policy
      // `npm start` runs) evicts keys, hot ones included, before every command.
      expect(await admin.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
      const { maxmemory } = Object.fromEntries([
        (await admin.config('GET', 'maxmemory')) as [string, string],
      ]);
      const evicted = async () => Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))?.[1] ?? 0);
      const evictedBefore = await evicted();
      const actions: Record<string, () => Promise<unknown>> = {
        flushall: () => admin.flushall(),
        'evict the key': () => admin.del(cartCacheKey(userId)),
        'drop the floor': () => admin.hdel(cartCacheKey(userId), 'floor'),
        'memory pressure': async () => {
          await admin.config('SET', 'maxmemory', '1');
          await admin.set('commerce-test:filler', 'x'.repeat(1_000)).catch(() => {});
          await admin.config('SET', 'maxmemory', maxmemory ?? '0');
        },
      };
      const done: Record<string, number> = {};
      const chaos = async () => {
        const names = Object.keys(actions);
        while (writing > 0) {
          const name = names[Math.floor(random() * names.length)] ?? 'flushall';
          await actions[name]?.();
          done[name] = (done[name] ?? 0) + 1;
          await new Promise((resolve) => setTimeout(resolve, random() * 4));
        }
      };

      await Promise.all([...products.map(writer), reader(), reader(), reader(), chaos()]);

      expect(violations).toEqual([]);
      expect(reads).toBeGreaterThan(100);
      for (const name of Object.keys(actions)) expect(done[name], name).toBeGreaterThan(0);
      expect(await evicted()).toBeGreaterThan(evictedBefore);
      const hits = replicas.reduce((sum, { cache }) => sum + cache.stats().hits, 0);
      expect(hits).toBeGreaterThan(0);
      // With carts in memory, some reads were served from there, confirmed, and some refused.
      if (memoryCacheSize > 0) {
        const memory = replicas.map(({ cart }) => cart.memoryStats());
        expect(memory.reduce((sum, stats) => sum + (stats?.hits ?? 0), 0)).toBeGreaterThan(0);
        expect(memory.reduce((sum, stats) => sum + (stats?.stale ?? 0), 0)).toBeGreaterThan(0);
      }

      const truth = Object.fromEntries(
        (await readCartRecord(db.db, userId)).lines.map((line) => [line.productId, line.quantity]),
      );
      const lastAcked = Object.fromEntries(
        products.flatMap((productId) => {
          const value = history.get(productId)?.at(-1)?.value ?? 0;
          return value > 0 ? [[productId, value]] : [];
        }),
      );
      expect(truth).toEqual(lastAcked);
      for (const { cart } of replicas) expect(quantities(await cart.get(userId))).toEqual(lastAcked);
    });
  });

  describe('a writer that dies between its commit and its invalidation', () => {
    /** The writer's process dies once its transaction committed: the invalidation never leaves it. */
    const dying = (cache: CartCache): CartCache => ({
      ...cache,
      invalidate: () => new Promise<never>(() => {}),
    });

    async function commitAndDie(writer: Replica, userId: number, productId: number): Promise<void> {
      void writer.cart.addItem(userId, productId, 1);
      await waitFor('the write to commit in Postgres', async () =>
        (await readCartRecord(db.db, userId)).lines.some((line) => line.productId === productId),
      );
    }

    it('leaves no replica serving the cart Redis still holds from before the commit', async () => {
      const [writer, b, c] = [await replica(dying), await replica(), await replica()];
      const userId = nextUser();
      await b.cart.addItem(userId, 1, 1);
      await b.cart.get(userId);
      expect(quantities(await c.cart.get(userId))).toEqual({ 1: 1 });
      expect(c.cache.stats().hits).toBe(1);
      const before = await cachedVersion(userId);

      await commitAndDie(writer, userId, 2);
      // Redis never heard of the write: it still holds the cart from before it.
      expect(await cachedVersion(userId)).toBe(before);

      expect(quantities(await c.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      expect(quantities(await b.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      await waitFor('the cache to serve the committed cart', async () => {
        expect(quantities(await c.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
        return (await cachedVersion(userId)) === (await readCartRecord(db.db, userId)).version;
      });
      const served = servedFromCache(c);
      expect(quantities(await c.cart.get(userId))).toEqual({ 1: 1, 2: 1 });
      expect(servedFromCache(c)).toBe(served + 1);
    });

    it('leaves no replica serving a fill of a read made before the commit, landing after it', async () => {
      const [writer, b, c] = [await replica(dying), await replica(), await replica()];
      const userId = nextUser();
      await b.cart.addItem(userId, 1, 1);

      const miss = await b.cache.lookup(userId);
      if (miss.kind !== 'miss') throw new Error(`expected a miss, got ${miss.kind}`);
      const old = await readCartRecord(db.db, userId);
      await commitAndDie(writer, userId, 3);
      // No floor was raised, so Redis takes the fill of the cart read before the commit.
      expect(await b.cache.fill(old, miss.miss)).toBe('stored');

      for (const { cart } of [c, b, c]) expect(quantities(await cart.get(userId))).toEqual({ 1: 1, 3: 1 });
    });
  });
});
