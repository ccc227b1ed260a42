import { eq } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carts } from '../../db/schema.js';
import { createLogger } from '../../infra/logger.js';
import { createRedisClient } from '../../infra/redis.js';
import { systemClock } from '../../lib/clock.js';
import { freePort } from '../../scripts/provision/process.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { connectTestRedis, userIdSource, waitFor } from '../../test/support/redis.js';
import { createCatalogService } from '../catalog/catalog.service.js';
import { type CartCache, createCartCache } from './cart.cache.js';
import type { Cart } from './cart.model.js';
import { createCartService } from './cart.service.js';

// The carts an API process keeps in memory (CART_MEMORY_CACHE_SIZE): candidates like Redis hits,
// served only once Postgres, read after the request began, confirms their version. Each test
// reads through one replica and writes through another (or behind its back), which is the case
// the process's own write path cannot see.
const logger = createLogger({ level: 'silent' });
const nextUser = userIdSource();

let db: TestDatabase;
let redis: Redis | undefined;
const closers: Array<() => void> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = connectTestRedis();
  if (redis) await waitFor('the test Redis connection', () => redis?.status === 'ready');
});
afterAll(async () => {
  for (const close of closers.splice(0)) close();
  redis?.disconnect();
  await db?.destroy();
});

/** One API process over the shared Postgres: its own catalog, cart service and cache over `client`. */
function replica({
  client = redis,
  memoryCacheSize = 100,
}: {
  client?: Redis | undefined;
  memoryCacheSize?: number;
} = {}) {
  let cache: CartCache | undefined;
  if (client) {
    cache = createCartCache({ redis: client, logger, metrics: new Registry(), ttlMs: 60_000, jitterMs: 0 });
    closers.push(() => cache?.close());
  }
  const catalog = createCatalogService({ db: db.db });
  const cart = createCartService({ db: db.db, catalog, cache, clock: systemClock, logger, memoryCacheSize });
  const memory = () => {
    const stats = cart.memoryStats();
    if (!stats) throw new Error('the memory cache is off');
    return stats;
  };
  const redisLookups = () => {
    const stats = cache?.stats();
    return stats ? stats.hits + stats.misses + stats.errors + stats.bypasses : 0;
  };
  return { cart, catalog, cache, memory, redisLookups };
}

const quantities = (view: Cart) =>
  Object.fromEntries(view.lines.map((line) => [line.productId, line.quantity]));

describe('carts kept in the process memory', () => {
  it('serves the cart it keeps once Postgres confirms it, without asking Redis', async () => {
    const a = replica();
    const userId = nextUser();
    await a.cart.addItem(userId, 1, 2);
    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 2 });
    expect(a.memory()).toMatchObject({ hits: 0, stale: 0, misses: 1, size: 1 });
    const lookups = a.redisLookups();

    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 2 });
    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 2 });
    expect(a.memory()).toMatchObject({ hits: 2, stale: 0, misses: 1 });
    expect(a.redisLookups()).toBe(lookups);
  });

  it('refuses the cart it keeps when another replica changed it, and serves the write', async () => {
    const [a, b] = [replica(), replica()];
    const userId = nextUser();
    await b.cart.addItem(userId, 1, 1);
    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 1 });

    await b.cart.addItem(userId, 2, 3);
    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 1, 2: 3 });
    expect(a.memory()).toMatchObject({ hits: 0, stale: 1 });
    await b.cart.removeItem(userId, 1);
    expect(quantities(await a.cart.get(userId))).toEqual({ 2: 3 });
    expect(a.memory()).toMatchObject({ hits: 0, stale: 2 });
    // The refused cart was replaced by the one read through: the next read is a hit again.
    expect(quantities(await a.cart.get(userId))).toEqual({ 2: 3 });
    expect(a.memory()).toMatchObject({ hits: 1, stale: 2 });
  });

  it("sees the checkout's removal of purchased lines, done by another process", async () => {
    const [api, worker] = [replica(), replica()];
    const userId = nextUser();
    await api.cart.addItem(userId, 1, 1);
    await api.cart.addItem(userId, 3, 2);
    expect(quantities(await api.cart.get(userId))).toEqual({ 1: 1, 3: 2 });

    const snapshot = await worker.cart.snapshot(userId);
    const purchased = snapshot.lines.filter((line) => line.productId === 3);
    expect(await worker.cart.removeLines('checkout-memory-test', userId, purchased)).toEqual({ removed: 1 });
    expect(quantities(await api.cart.get(userId))).toEqual({ 1: 1 });
    expect(api.memory().stale).toBe(1);
  });

  it('sees a cart deleted in Postgres behind its back (a purge, an operator) as empty', async () => {
    const a = replica();
    const userId = nextUser();
    await a.cart.addItem(userId, 4, 1);
    expect(quantities(await a.cart.get(userId))).toEqual({ 4: 1 });

    await db.db.delete(carts).where(eq(carts.userId, userId));
    const view = await a.cart.get(userId);
    expect(view.lines).toEqual([]);
    expect(view.id).toBeNull();
    expect(a.memory().stale).toBe(1);
    // The absent cart is kept too, and confirmed as absent.
    expect((await a.cart.get(userId)).lines).toEqual([]);
    expect(a.memory().hits).toBe(1);
  });

  it("prices the cart it keeps from the catalog's current prices", async () => {
    const [a, admin] = [replica(), replica()];
    const { product } = await admin.catalog.create({ name: 'Memory priced', priceCents: 500 });
    const userId = nextUser();
    await a.cart.addItem(userId, product.id, 2);
    expect((await a.cart.get(userId)).totalCents).toBe(1_000);

    await admin.catalog.update(product.id, { priceCents: 650 });
    const view = await a.cart.get(userId);
    expect(a.memory().hits).toBe(1);
    expect(view.totalCents).toBe(1_300);
    expect(view.lines[0]).toMatchObject({ priceCents: 650, subtotalCents: 1_300, purchasable: true });

    await admin.catalog.softDelete(product.id);
    expect((await a.cart.get(userId)).lines[0]?.purchasable).toBe(false);
  });

  it('drops the cart it keeps when it writes that cart itself, so the next read reads through', async () => {
    const a = replica();
    const userId = nextUser();
    await a.cart.addItem(userId, 1, 1);
    await a.cart.get(userId);
    await a.cart.updateQuantity(userId, 1, 5);
    expect(quantities(await a.cart.get(userId))).toEqual({ 1: 5 });
    expect(a.memory()).toMatchObject({ hits: 0, stale: 0, misses: 2 });
  });

  it('keeps at most CART_MEMORY_CACHE_SIZE carts, the ones read last', async () => {
    const a = replica({ memoryCacheSize: 2 });
    const users = [nextUser(), nextUser(), nextUser()];
    for (const userId of users) await a.cart.get(userId);
    expect(a.memory()).toMatchObject({ size: 2, misses: 3 });
    await a.cart.get(users[2] as number);
    await a.cart.get(users[0] as number);
    expect(a.memory()).toMatchObject({ size: 2, hits: 1, misses: 4 });
  });

  it('is off with CART_MEMORY_CACHE_SIZE=0: every read asks Redis', async () => {
    const a = replica({ memoryCacheSize: 0 });
    const userId = nextUser();
    await a.cart.get(userId);
    const lookups = a.redisLookups();
    await a.cart.get(userId);
    expect(a.cart.memoryStats()).toBeUndefined();
    if (redis) expect(a.redisLookups()).toBe(lookups + 1);
  });

  it('serves and refuses the same way with Redis down or not configured', async () => {
    // A client of a port nothing listens on: it fails fast, as the API's does during an outage.
    const down = createRedisClient(`redis://127.0.0.1:${await freePort()}`, logger, 'commerce-memory-test');
    closers.push(() => down.disconnect());
    const [a, b] = [replica({ client: down }), replica({ client: undefined })];
    const userId = nextUser();
    await b.cart.addItem(userId, 2, 1);
    expect(quantities(await a.cart.get(userId))).toEqual({ 2: 1 });
    expect(quantities(await a.cart.get(userId))).toEqual({ 2: 1 });
    expect(quantities(await b.cart.get(userId))).toEqual({ 2: 1 });
    expect(quantities(await b.cart.get(userId))).toEqual({ 2: 1 });
    expect(a.memory().hits).toBe(1);
    expect(b.memory().hits).toBe(1);

    await b.cart.addItem(userId, 5, 4);
    expect(quantities(await a.cart.get(userId))).toEqual({ 2: 1, 5: 4 });
    expect(a.memory().stale).toBe(1);
  });

  it('counts on /metrics, one counter however many cart services share the registry', async () => {
    const registry = new Registry();
    const services = [0, 1].map(() =>
      createCartService({
        db: db.db,
        catalog: createCatalogService({ db: db.db }),
        cache: undefined,
        clock: systemClock,
        logger,
        metrics: registry,
      }),
    );
    const userId = nextUser();
    for (const cart of services) {
      await cart.get(userId);
      await cart.get(userId);
    }
    const text = await registry.metrics();
    expect(text).toMatch(/^cart_memory_cache_requests_total\{result="hit"\} 2$/m);
    expect(text).toMatch(/^cart_memory_cache_requests_total\{result="miss"\} 2$/m);
    expect(text).toMatch(/^cart_memory_cache_requests_total\{result="stale"\} 0$/m);
  });
});
