import { eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cartItems, carts } from '../../db/schema.js';
import { createLogger } from '../../infra/logger.js';
import { type Clock, FixedClock, systemClock } from '../../lib/clock.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { connectTestRedis, testRedisUrl, userIdSource, waitFor } from '../../test/support/redis.js';
import { type CatalogService, createCatalogService } from '../catalog/catalog.service.js';
import { type CartCache, cartCacheKey, createCartCache } from './cart.cache.js';
import { createCartService, readCartRecord } from './cart.service.js';

const DAY = 86_400_000;
const logger = createLogger({ level: 'silent' });
const redisUrl = testRedisUrl();
const nextUser = userIdSource();

let db: TestDatabase;
let catalog: CatalogService;
/** Products beyond the seed catalog (1..5). */
const extra: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  catalog = createCatalogService({ db: db.db });
  for (let i = 0; i < 50; i++) {
    extra.push((await catalog.create({ name: `Service test product ${i}`, priceCents: 200 + i })).product.id);
  }
});
afterAll(async () => {
  await db?.destroy();
});

function cartService(clock: Clock = new FixedClock('2026-03-01T10:00:00Z'), cache?: CartCache) {
  return createCartService({ db: db.db, catalog, cache, clock, logger });
}

async function cartRow(userId: number) {
  const [row] = await db.db.select().from(carts).where(eq(carts.userId, userId));
  return row;
}

async function lineCount(cartId: string): Promise<number> {
  const [row] = await db.db
    .select({ count: sql<number>`count(*)::int` })
    .from(cartItems)
    .where(eq(cartItems.cartId, cartId));
  return row?.count ?? 0;
}

describe('cart writes', () => {
  it('validate their input and refuse deleted products', async () => {
    const cart = cartService();
    const userId = nextUser();
    for (const quantity of [0, 100, -1, 1.5, Number.NaN]) {
      await expect(cart.addItem(userId, 1, quantity)).rejects.toMatchObject({ code: 'invalid_quantity' });
      await expect(cart.updateQuantity(userId, 1, quantity)).rejects.toMatchObject({
        code: 'invalid_quantity',
      });
    }
    for (const productId of [0, -5, 2.5]) {
      await expect(cart.addItem(userId, productId, 1)).rejects.toMatchObject({ code: 'invalid_product_id' });
      await expect(cart.removeItem(userId, productId)).rejects.toMatchObject({ code: 'invalid_product_id' });
    }
    await expect(cart.addItem(userId, 999_999_999, 1)).rejects.toMatchObject({ code: 'not_found' });
    const { product } = await catalog.create({ name: 'Gone soon', priceCents: 1 });
    await catalog.softDelete(product.id);
    await expect(cart.addItem(userId, product.id, 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(cart.get(0)).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(await cartRow(userId)).toBeUndefined();
  });

  it('never add a product whose deletion is committing: the add waits for it and is refused', async () => {
    const cart = cartService(systemClock);
    const { product } = await catalog.create({ name: 'Deleted meanwhile', priceCents: 300 });
    const userId = nextUser();
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      // A deletion that has locked the product's row and not committed yet.
      let commit!: () => void;
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const deletion = admin.begin(async (tx) => {
        await tx`update products set deleted_at = clock_timestamp() where id = ${product.id}`;
        locked();
        await new Promise<void>((resolve) => {
          commit = resolve;
        });
      });
      await isLocked;
      let settled = false;
      const adding = cart.addItem(userId, product.id, 1).then(
        () => 'added',
        (error: { code?: string }) => error.code ?? 'error',
      );
      void adding.finally(() => {
        settled = true;
      });
      // The add either finished already (it did not look) or now waits on the product's lock.
      await waitFor('the add to wait for the deletion', async () => {
        if (settled) return true;
        const [row] = await db.sql<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`;
        return (row?.n ?? 0) > 0;
      });
      commit();
      await deletion;
      expect(await adding).toBe('not_found');
      const [line] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from cart_items where product_id = ${product.id}`;
      expect(line?.n).toBe(0);
    } finally {
      await admin.end({ timeout: 1 });
    }
  });

  it('never create a cart when updating, removing or clearing', async () => {
    const cart = cartService();
    const userId = nextUser();
    await expect(cart.updateQuantity(userId, 1, 2)).rejects.toMatchObject({ code: 'not_found' });
    expect((await cart.removeItem(userId, 1)).id).toBeNull();
    expect((await cart.clear(userId)).id).toBeNull();
    expect(await cart.removeLines('checkout-1', userId, [{ productId: 1, version: 1 }])).toEqual({
      removed: 0,
    });
    expect(await cartRow(userId)).toBeUndefined();
  });

  it('give every change a new, higher cart version, stamped on the lines it wrote, and leave it alone otherwise', async () => {
    const clock = new FixedClock('2026-03-01T10:00:00Z');
    const cart = cartService(clock);
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const v1 = (await cart.snapshot(userId)).version;
    clock.advance(60_000);
    await cart.addItem(userId, 2, 4);
    const afterAdd = await cart.snapshot(userId);
    expect(afterAdd.version).toBeGreaterThan(v1);
    expect(afterAdd.lines).toEqual([
      { productId: 1, quantity: 1, version: v1 },
      { productId: 2, quantity: 4, version: afterAdd.version },
    ]);
    expect((await cartRow(userId))?.updatedAt).toEqual(clock.now());

    await cart.updateQuantity(userId, 2, 4);
    await cart.removeItem(userId, 3);
    expect((await cart.snapshot(userId)).version).toBe(afterAdd.version);

    await cart.updateQuantity(userId, 2, 5);
    const afterUpdate = await cart.snapshot(userId);
    expect(afterUpdate.version).toBeGreaterThan(afterAdd.version);
    expect(afterUpdate.lines[1]).toEqual({ productId: 2, quantity: 5, version: afterUpdate.version });

    await cart.clear(userId);
    const cleared = await cart.snapshot(userId);
    expect(cleared.version).toBeGreaterThan(afterUpdate.version);
    expect(cleared.lines).toEqual([]);
    await cart.clear(userId);
    expect((await cart.snapshot(userId)).version).toBe(cleared.version);
  });

  it('orders lines by when they were added, then by product id', async () => {
    const clock = new FixedClock('2026-03-01T10:00:00Z');
    const cart = cartService(clock);
    const userId = nextUser();
    await cart.addItem(userId, 4, 1);
    await cart.addItem(userId, 2, 1);
    clock.advance(1_000);
    await cart.addItem(userId, 1, 1);
    const view = await cart.get(userId);
    expect(view.lines.map((line) => line.productId)).toEqual([2, 4, 1]);
    expect(view.lines.map((line) => line.addedAt.toISOString())).toEqual([
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:00:01.000Z',
    ]);
    expect(view.createdAt.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(view.updatedAt.toISOString()).toBe('2026-03-01T10:00:01.000Z');
  });

  it('hold the 50-line limit when distinct products are added concurrently', async () => {
    const cart = cartService();
    const userId = nextUser();
    for (const productId of [1, 2, 3, 4, 5, ...extra.slice(0, 40)]) await cart.addItem(userId, productId, 1);
    const results = await Promise.allSettled(
      extra.slice(40, 50).map((productId) => cart.addItem(userId, productId, 2)),
    );
    const refused = results.filter((result) => result.status === 'rejected');
    expect(refused).toHaveLength(5);
    for (const result of refused) expect(result.reason).toMatchObject({ code: 'cart_full' });
    const { lines } = await cart.snapshot(userId);
    expect(lines).toHaveLength(50);
  });
});

describe('checkout support', () => {
  it('removes exactly the purchased lines: lines changed or added after the snapshot stay', async () => {
    const cart = cartService();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    await cart.addItem(userId, 2, 2);
    await cart.addItem(userId, 3, 3);
    const snapshot = await cart.snapshot(userId);
    expect(snapshot.lines.map((line) => [line.productId, line.quantity])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);

    await cart.updateQuantity(userId, 2, 9);
    await cart.addItem(userId, 4, 1);
    const purchased = snapshot.lines.map(({ productId, version }) => ({ productId, version }));
    expect(await cart.removeLines('checkout-a', userId, purchased)).toEqual({ removed: 2 });
    const left = await cart.get(userId);
    expect(left.lines.map((line) => [line.productId, line.quantity])).toEqual([
      [2, 9],
      [4, 1],
    ]);
    const version = (await cart.snapshot(userId)).version;
    expect(await cart.removeLines('checkout-a', userId, purchased)).toEqual({ removed: 0 });
    expect((await cart.snapshot(userId)).version).toBe(version);
    expect(await cart.removeLines('checkout-a', userId, [])).toEqual({ removed: 0 });
  });

  it('reads the snapshot from Postgres, and gives a user without a cart an empty one', async () => {
    const cart = cartService();
    const userId = nextUser();
    expect(await cart.snapshot(userId)).toEqual({ cartId: null, version: 0, lines: [] });
    await cart.addItem(userId, 5, 2);
    const snapshot = await cart.snapshot(userId);
    expect(snapshot.cartId).toBe((await cartRow(userId))?.id);
    expect(snapshot.lines).toEqual([{ productId: 5, quantity: 2, version: snapshot.version }]);
  });
});

describe('purgeIdle', () => {
  // Each purge test lives in its own past era, older than every cart other tests made, so
  // the carts it counts are its own.
  it('purges in batches until no idle cart is left', async () => {
    const clock = new FixedClock('2021-01-01T00:00:00Z');
    const cart = cartService(clock);
    const users = Array.from({ length: 7 }, () => nextUser());
    for (const userId of users) await cart.addItem(userId, 1, 1);
    clock.advance(100 * DAY);
    expect(await cart.purgeIdle({ idleMs: 90 * DAY, batchSize: 3 })).toEqual({ purged: 7 });
    for (const userId of users) expect(await cartRow(userId)).toBeUndefined();
  });

  it('deletes carts idle for more than 90 days with their lines, keeps younger ones, and is idempotent', async () => {
    const clock = new FixedClock('2020-01-01T00:00:00Z');
    const cart = cartService(clock);
    const idle = nextUser();
    const recent = nextUser();
    const touched = nextUser();
    await cart.addItem(idle, 1, 2);
    await cart.addItem(idle, 2, 1);
    await cart.addItem(touched, 3, 1);
    const idleCart = await cartRow(idle);
    const idleVersion = idleCart?.version ?? 0;
    clock.advance(2 * DAY);
    await cart.addItem(recent, 3, 1);
    clock.advance(10 * DAY);
    await cart.updateQuantity(touched, 3, 2);
    clock.advance(79 * DAY);
    // idle: 91 days untouched; recent: 89; touched: written 79 days ago.

    expect(await cart.purgeIdle({ idleMs: 90 * DAY })).toEqual({ purged: 1 });
    expect(await cartRow(idle)).toBeUndefined();
    expect(await lineCount(idleCart?.id ?? '')).toBe(0);
    expect((await cart.get(recent)).lines).toHaveLength(1);
    expect((await cart.get(touched)).lines).toEqual([expect.objectContaining({ productId: 3, quantity: 2 })]);
    expect(await cart.get(idle)).toMatchObject({ id: null, lines: [], totalItems: 0 });

    expect(await cart.purgeIdle({ idleMs: 90 * DAY })).toEqual({ purged: 0 });

    // A re-created cart is new, and its versions never repeat the purged cart's.
    const recreated = await cart.addItem(idle, 4, 1);
    expect(recreated.id).not.toBe(idleCart?.id);
    expect((await cart.snapshot(idle)).version).toBeGreaterThan(idleVersion);
  });
  it('gives a cart re-created while a purge deletes the old one a version above the purge fence', async () => {
    const cart = cartService();
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    const purger = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      let adding: Promise<unknown> = Promise.resolve();
      let fence = 0;
      // The same steps as purgeIdle, held open while a first add for the user waits on the row.
      await purger.begin(async (tx) => {
        await tx`delete from carts where user_id = ${userId}`;
        adding = cart.addItem(userId, 2, 1);
        await waitFor('the add to wait for the purge', async () => {
          const [row] = await db.sql`
            select count(*)::int as waiting from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`;
          return (row?.waiting ?? 0) > 0;
        });
        const [row] = await tx`select nextval('cart_versions') as fence`;
        fence = Number(row?.fence);
      });
      await adding;
      expect((await cart.snapshot(userId)).version).toBeGreaterThan(fence);
    } finally {
      await purger.end();
    }
  });
});

describe.skipIf(!redisUrl)('purgeIdle and removeLines with the cache', () => {
  let redis: Redis;

  beforeAll(async () => {
    redis = connectTestRedis(redisUrl) as Redis;
    await waitFor('the test Redis connection', () => redis.status === 'ready');
  });
  afterAll(() => {
    redis?.disconnect();
  });

  const cachedCart = (clock: FixedClock) => {
    const cache = createCartCache({ redis, logger, metrics: new Registry(), ttlMs: 60_000, jitterMs: 1_000 });
    return { cache, cart: cartService(clock, cache) };
  };

  it("leaves no way for a purged user's cache entry to serve the old cart", async () => {
    const clock = new FixedClock('2019-01-01T00:00:00Z');
    const { cache, cart } = cachedCart(clock);
    const cached = nextUser();
    const racing = nextUser();
    await cart.addItem(cached, 1, 3);
    await cart.get(cached);
    expect((await cache.lookup(cached)).kind).toBe('hit');

    // A reader of the racing user's cart reads Postgres before the purge and fills after it.
    await cart.addItem(racing, 2, 1);
    const miss = await cache.lookup(racing);
    if (miss.kind !== 'miss') throw new Error('expected a miss');
    const stale = await readCartRecord(db.db, racing);

    clock.advance(91 * DAY);
    expect(await cart.purgeIdle({ idleMs: 90 * DAY })).toEqual({ purged: 2 });
    expect(await cache.fill(stale, miss.miss)).toBe('fenced');
    expect((await cache.lookup(cached)).kind).toBe('miss');
    expect(await cart.get(cached)).toMatchObject({ id: null, lines: [] });
    expect(await cart.get(racing)).toMatchObject({ id: null, lines: [] });
    // The empty cart is cacheable again after the purge, and a new cart replaces it.
    expect((await cache.lookup(cached)).kind).toBe('hit');
    await cart.addItem(cached, 5, 1);
    expect((await cart.get(cached)).lines.map((line) => line.productId)).toEqual([5]);
  });

  it('invalidates the cached cart when purchased lines are removed', async () => {
    const { cache, cart } = cachedCart(new FixedClock('2026-03-01T10:00:00Z'));
    const userId = nextUser();
    await cart.addItem(userId, 1, 1);
    await cart.addItem(userId, 2, 1);
    const snapshot = await cart.snapshot(userId);
    await cart.get(userId);
    expect((await cache.lookup(userId)).kind).toBe('hit');
    const first = snapshot.lines[0];
    if (!first) throw new Error('empty snapshot');
    expect(await cart.removeLines('checkout-b', userId, [first])).toEqual({ removed: 1 });
    expect(await redis.hget(cartCacheKey(userId), 'data')).toBeNull();
    expect((await cart.get(userId)).lines.map((line) => line.productId)).toEqual([2]);
  });
});
