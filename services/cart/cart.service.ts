import { and, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { Db, DbOrTx, Tx } from '../../db/client.js';
import { cartItems, carts } from '../../db/schema.js';
import { newId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import { resultCounter } from '../../infra/metrics.js';
import type { Clock } from '../../lib/clock.js';
import { createBatchLoader } from '../../lib/coalesce.js';
import { AppError, isAppError } from '../../lib/errors.js';
import { assertProductId, assertUserId } from '../../lib/id-checks.js';
import type { CatalogService } from '../catalog/catalog.service.js';
import type { CartCache, CartCacheStats } from './cart.cache.js';
import {
  assertQuantity,
  buildCart,
  type Cart,
  type CartRecord,
  emptyCartRecord,
  MAX_DISTINCT_LINES,
  sortLines,
} from './cart.model.js';

export interface CartServiceDeps {
  db: Db;
  catalog: CatalogService;
  cache: CartCache | undefined;
  clock: Clock;
  logger: Logger;
  /**
   * How many carts this process keeps in memory, each served only once Postgres confirms its
   * version, as a Redis hit is (CART_MEMORY_CACHE_SIZE; 0: none, every read goes to Redis or
   * Postgres). Default MEMORY_CACHE_DEFAULT.
   */
  memoryCacheSize?: number;
  /** Where the memory cache's counter is registered; none by default. */
  metrics?: Registry;
}

/** Default `memoryCacheSize`: the carts read last, a few megabytes per API process. */
export const MEMORY_CACHE_DEFAULT = 10_000;

/** The cart as checkout sees it: read from Postgres, each line with the version that wrote it. */
export interface CartSnapshot {
  cartId: string | null;
  version: number;
  lines: Array<{ productId: number; quantity: number; version: number }>;
}

export interface PurchasedLine {
  productId: number;
  version: number;
}

export type CartService = ReturnType<typeof createCartService>;

const DEFAULT_PURGE_BATCH = 500;

const productIdsOf = (record: CartRecord) => record.lines.map((line) => line.productId);

/** The stored cart of a user (lines unordered), in one statement so version and lines agree. */
export async function readCartRecord(executor: DbOrTx, userId: number): Promise<CartRecord> {
  const rows = await executor
    .select({
      id: carts.id,
      version: carts.version,
      createdAt: carts.createdAt,
      updatedAt: carts.updatedAt,
      productId: cartItems.productId,
      quantity: cartItems.quantity,
      addedAt: cartItems.addedAt,
      lineVersion: cartItems.version,
    })
    .from(carts)
    .leftJoin(cartItems, eq(cartItems.cartId, carts.id))
    .where(eq(carts.userId, userId));
  const [first] = rows;
  if (!first) return emptyCartRecord(userId);
  const lines = rows.flatMap((row) =>
    row.productId === null || row.quantity === null || row.addedAt === null || row.lineVersion === null
      ? []
      : [
          {
            productId: row.productId,
            quantity: row.quantity,
            addedAt: row.addedAt,
            version: row.lineVersion,
          },
        ],
  );
  return {
    id: first.id,
    userId,
    version: first.version,
    lines,
    createdAt: first.createdAt,
    updatedAt: first.updatedAt,
  };
}

/** Carts: Postgres is the truth; the optional cache only ever serves what Postgres last committed. */
export function createCartService({
  db,
  catalog,
  cache,
  clock,
  logger,
  memoryCacheSize = MEMORY_CACHE_DEFAULT,
  metrics,
}: CartServiceDeps) {
  /**
   * Carts' current versions (0: no cart), read coalesced like the catalog (lib/coalesce.ts): the
   * confirmations of concurrent cached reads share one statement sent after each of them began.
   */
  // Built once, as the catalog's by-id read: drizzle does not render it again for every batch.
  const versionsOf = db
    .select({ userId: carts.userId, version: carts.version })
    .from(carts)
    .where(sql`${carts.userId} = any(${sql.placeholder('userIds')}::bigint[])`)
    .prepare('cart_versions_by_users');
  const cartVersions = createBatchLoader(async (userIds: number[]) => {
    const rows = await versionsOf.execute({ userIds });
    return new Map(rows.map((row) => [row.userId, row.version]));
  });

  /** Prices are the catalog's current ones: its coalesced reads, never a copy kept with the cart. */
  async function view(record: CartRecord): Promise<Cart> {
    return buildCart(record, await catalog.getMany(productIdsOf(record)), clock.now());
  }

  /**
   * `record` priced, if Postgres, read after this call began, still has its version (equal
   * versions mean equal content: every write takes a new one); otherwise the version it has.
   */
  async function confirm(record: CartRecord): Promise<Cart | number> {
    const [versions, prices] = await Promise.all([
      cartVersions.load([record.userId]),
      catalog.getMany(productIdsOf(record)),
    ]);
    const version = versions.get(record.userId) ?? 0;
    return version === record.version ? buildCart(record, prices, clock.now()) : version;
  }

  /**
   * The carts this process read last, candidates exactly like Redis hits: served only when
   * confirmed (above), so a write on another replica, by the worker, or one that Redis never
   * heard of costs a refused candidate, never a stale cart. A hit spares the Redis round trip
   * and the decoding of its answer. Frozen: every request that takes one shares it.
   */
  const memory = memoryCacheSize > 0 ? new LRUCache<number, CartRecord>({ max: memoryCacheSize }) : undefined;
  type MemoryResult = 'hit' | 'stale' | 'miss';
  const memoryTally: Record<MemoryResult, number> = { hit: 0, stale: 0, miss: 0 };
  const memoryCounter =
    memory && metrics
      ? resultCounter(
          metrics,
          'cart_memory_cache_requests_total',
          'Cart reads by what the in-process cart cache gave: hit (confirmed), stale (refused), miss',
          Object.keys(memoryTally),
        )
      : undefined;
  const memoryCounted = new Map(
    (Object.keys(memoryTally) as MemoryResult[]).map((result) => [result, memoryCounter?.labels(result)]),
  );
  const tally = (result: MemoryResult) => {
    memoryTally[result] += 1;
    memoryCounted.get(result)?.inc();
  };
  const keep = (record: CartRecord) => {
    if (!memory) return;
    for (const line of record.lines) Object.freeze(line);
    Object.freeze(record.lines);
    memory.set(record.userId, Object.freeze(record));
  };

  /** A cart this request read from Postgres (or joined the read of), priced and kept in memory. */
  async function priced(record: CartRecord): Promise<Cart> {
    keep(record);
    return view(record);
  }

  /** Reads through Redis (when there is one) and Postgres; what it serves is kept in memory. */
  async function readThrough(userId: number): Promise<Cart> {
    if (!cache) return priced(await readCartRecord(db, userId));
    let readHere = false;
    const record = await cache.read(userId, () => {
      readHere = true;
      return readCartRecord(db, userId);
    });
    if (readHere) return priced(record);
    // From Redis or another caller's read: served only if confirmed. Nothing Redis lost, kept
    // or missed can make it stale.
    const confirmed = await confirm(record);
    if (typeof confirmed === 'number') {
      await cache.discard(userId, confirmed);
      return priced(await readCartRecord(db, userId));
    }
    keep(record);
    return confirmed;
  }

  /**
   * Runs one cart write in a transaction, then invalidates the cache with the version it
   * assigned (if any). Freshness does not depend on that invalidation (reads confirm cached
   * carts against Postgres); it keeps the outdated cart from costing a refused hit. A commit
   * that failed in flight may still have happened, so infrastructure errors invalidate too;
   * business rejections rolled back.
   */
  async function write<T>(
    userId: number,
    body: (tx: Tx, assigned: { version: number | undefined }) => Promise<T>,
  ): Promise<T> {
    const assigned: { version: number | undefined } = { version: undefined };
    let result: T;
    try {
      result = await db.transaction((tx) => body(tx, assigned));
    } catch (error) {
      if (assigned.version !== undefined && !isAppError(error))
        await cache?.invalidate(userId, assigned.version);
      throw error;
    } finally {
      // Not for freshness (carts in memory are confirmed too): the next read here reads through.
      memory?.delete(userId);
    }
    if (assigned.version !== undefined) await cache?.invalidate(userId, assigned.version);
    return result;
  }

  /** Takes the next cart version for a cart whose row this transaction has locked. */
  async function nextVersion(tx: Tx, cartId: string, now: Date): Promise<number> {
    const [row] = await tx
      .update(carts)
      .set({ version: sql`nextval('cart_versions')`, updatedAt: now })
      .where(eq(carts.id, cartId))
      .returning({ version: carts.version });
    if (!row) throw new Error(`cart ${cartId} vanished under its row lock`);
    return row.version;
  }

  async function lockCart(tx: Tx, userId: number): Promise<{ id: string } | undefined> {
    const [row] = await tx.select({ id: carts.id }).from(carts).where(eq(carts.userId, userId)).for('update');
    return row;
  }

  return {
    /** Hit/miss counters of the cache, or undefined when carts are served from Postgres only. */
    cacheStats: (): CartCacheStats | undefined => cache?.stats(),

    /** What the in-process cache gave so far, or undefined when it is off (CART_MEMORY_CACHE_SIZE 0). */
    memoryStats: (): { hits: number; stale: number; misses: number; size: number } | undefined =>
      memory && {
        hits: memoryTally.hit,
        stale: memoryTally.stale,
        misses: memoryTally.miss,
        size: memory.size,
      },

    /** The user's cart priced from the current catalog; a user without a cart gets an empty one (nothing is created). */
    async get(userId: number): Promise<Cart> {
      assertUserId(userId);
      if (!memory) return readThrough(userId);
      const candidate = memory.get(userId);
      if (!candidate) {
        tally('miss');
        return readThrough(userId);
      }
      const confirmed = await confirm(candidate);
      if (typeof confirmed !== 'number') {
        tally('hit');
        return confirmed;
      }
      tally('stale');
      if (memory.peek(userId) === candidate) memory.delete(userId);
      return readThrough(userId);
    },

    /**
     * Puts a product in the cart with this quantity, replacing the quantity (and added time) of
     * a line already there; creates the cart on first add. Idempotent; undone by removeItem.
     */
    async addItem(userId: number, productId: number, quantity: number): Promise<Cart> {
      assertUserId(userId);
      assertProductId(productId);
      assertQuantity(quantity);
      const record = await write(userId, async (tx, assigned) => {
        // Checked under a share lock on the product inside the write: a delete that commits first
        // is seen here, and one that comes later waits for this add, so no line is added to a
        // cart after its product was deleted.
        if (!(await catalog.exists(productId, tx, { lock: true }))) {
          throw new AppError('not_found', `product ${productId} not found`);
        }
        const now = clock.now();
        const candidateId = newId();
        const [cart] = await tx
          .insert(carts)
          .values({
            id: candidateId,
            userId,
            version: sql`nextval('cart_versions')`,
            createdAt: now,
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: carts.userId,
            set: { version: sql`nextval('cart_versions')`, updatedAt: now },
          })
          .returning({ id: carts.id, version: carts.version });
        if (!cart) throw new Error('cart upsert returned no row');
        // A new row's version was drawn before the insert waited out a concurrent purge of the
        // user's previous cart; drawing again now puts it above that purge's cache fence.
        const version = cart.id === candidateId ? await nextVersion(tx, cart.id, now) : cart.version;
        assigned.version = version;

        const lines = await tx
          .select({ productId: cartItems.productId })
          .from(cartItems)
          .where(eq(cartItems.cartId, cart.id));
        if (lines.length >= MAX_DISTINCT_LINES && !lines.some((line) => line.productId === productId)) {
          throw new AppError('cart_full', `a cart holds at most ${MAX_DISTINCT_LINES} different products`);
        }
        await tx
          .insert(cartItems)
          .values({ cartId: cart.id, productId, quantity, version, addedAt: now, updatedAt: now })
          .onConflictDoUpdate({
            target: [cartItems.cartId, cartItems.productId],
            set: { quantity, version, addedAt: now, updatedAt: now },
          });
        return readCartRecord(tx, userId);
      });
      return view(record);
    },

    /** Sets the quantity of a line already in the cart; not_found otherwise (never creates a cart). Idempotent. */
    async updateQuantity(userId: number, productId: number, quantity: number): Promise<Cart> {
      assertUserId(userId);
      assertProductId(productId);
      assertQuantity(quantity);
      const record = await write(userId, async (tx, assigned) => {
        const cart = await lockCart(tx, userId);
        const [line] = cart
          ? await tx
              .select({ quantity: cartItems.quantity })
              .from(cartItems)
              .where(and(eq(cartItems.cartId, cart.id), eq(cartItems.productId, productId)))
          : [];
        if (!cart || !line) throw new AppError('not_found', 'item not found in cart');
        if (line.quantity !== quantity) {
          const now = clock.now();
          const version = await nextVersion(tx, cart.id, now);
          assigned.version = version;
          await tx
            .update(cartItems)
            .set({ quantity, version, updatedAt: now })
            .where(and(eq(cartItems.cartId, cart.id), eq(cartItems.productId, productId)));
        }
        return readCartRecord(tx, userId);
      });
      return view(record);
    },

    /** Removes a product from the cart. Idempotent: an absent line or cart is no error (nothing is created). */
    async removeItem(userId: number, productId: number): Promise<Cart> {
      assertUserId(userId);
      assertProductId(productId);
      const record = await write(userId, async (tx, assigned) => {
        const cart = await lockCart(tx, userId);
        if (!cart) return emptyCartRecord(userId);
        const removed = await tx
          .delete(cartItems)
          .where(and(eq(cartItems.cartId, cart.id), eq(cartItems.productId, productId)))
          .returning({ productId: cartItems.productId });
        if (removed.length > 0) assigned.version = await nextVersion(tx, cart.id, clock.now());
        return readCartRecord(tx, userId);
      });
      return view(record);
    },

    /** Empties the cart (the cart itself stays). Idempotent; nothing undoes it. */
    async clear(userId: number): Promise<Cart> {
      assertUserId(userId);
      const record = await write(userId, async (tx, assigned) => {
        const cart = await lockCart(tx, userId);
        if (!cart) return emptyCartRecord(userId);
        const removed = await tx
          .delete(cartItems)
          .where(eq(cartItems.cartId, cart.id))
          .returning({ productId: cartItems.productId });
        if (removed.length > 0) assigned.version = await nextVersion(tx, cart.id, clock.now());
        return readCartRecord(tx, userId);
      });
      return view(record);
    },

    /** The cart's lines straight from Postgres (never the cache), for checkout to price and later remove. */
    async snapshot(userId: number): Promise<CartSnapshot> {
      assertUserId(userId);
      const record = await readCartRecord(db, userId);
      return {
        cartId: record.id,
        version: record.version,
        lines: sortLines(record.lines).map(({ productId, quantity, version }) => ({
          productId,
          quantity,
          version,
        })),
      };
    },

    /**
     * Removes the lines a checkout bought: a line goes only if it still has the version the
     * snapshot saw, so lines added or changed since stay. Idempotent; undone by adding again.
     */
    async removeLines(
      checkoutId: string,
      userId: number,
      lines: readonly PurchasedLine[],
    ): Promise<{ removed: number }> {
      assertUserId(userId);
      const match = or(
        ...lines.map((line) =>
          and(eq(cartItems.productId, line.productId), eq(cartItems.version, line.version)),
        ),
      );
      if (!match) return { removed: 0 };
      const removed = await write(userId, async (tx, assigned) => {
        const cart = await lockCart(tx, userId);
        if (!cart) return 0;
        const deleted = await tx
          .delete(cartItems)
          .where(and(eq(cartItems.cartId, cart.id), match))
          .returning({ productId: cartItems.productId });
        if (deleted.length > 0) assigned.version = await nextVersion(tx, cart.id, clock.now());
        return deleted.length;
      });
      if (removed > 0) logger.debug({ checkoutId, userId, removed }, 'purchased lines removed from cart');
      return { removed };
    },

    /**
     * Deletes carts not written for `idleMs` (their lines cascade), in batches, and fences their
     * cache entries. Idempotent; nothing undoes it.
     */
    async purgeIdle({
      idleMs,
      batchSize = DEFAULT_PURGE_BATCH,
    }: {
      idleMs: number;
      batchSize?: number;
    }): Promise<{
      purged: number;
    }> {
      if (!(idleMs >= 0) || !Number.isSafeInteger(batchSize) || batchSize < 1) {
        throw new AppError('invalid_argument', 'idleMs must be >= 0 and batchSize a positive integer');
      }
      const cutoff = new Date(clock.now().getTime() - idleMs);
      let purged = 0;
      for (;;) {
        const { userIds, fence } = await db.transaction(async (tx) => {
          const doomed = tx
            .select({ id: carts.id })
            .from(carts)
            .where(lt(carts.updatedAt, cutoff))
            .orderBy(carts.updatedAt)
            .limit(batchSize)
            .for('update', { skipLocked: true });
          const deleted = await tx
            .delete(carts)
            .where(inArray(carts.id, doomed))
            .returning({ userId: carts.userId });
          if (deleted.length === 0) return { userIds: [], fence: 0 };
          // Drawn before commit, while the rows are still locked: every later version of these
          // users' carts (re-created after this commit) is above it.
          const [row] = await tx.execute<{ fence: string }>(sql`select nextval('cart_versions') as fence`);
          return { userIds: deleted.map((cart) => cart.userId), fence: Number(row?.fence) };
        });
        if (userIds.length === 0) break;
        for (const userId of userIds) memory?.delete(userId);
        await cache?.invalidateMany(userIds, fence);
        purged += userIds.length;
        if (userIds.length < batchSize) break;
      }
      if (purged > 0) logger.info({ purged, cutoff }, 'idle carts purged');
      return { purged };
    },
  };
}
