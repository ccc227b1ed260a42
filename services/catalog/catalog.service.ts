import { and, asc, eq, gt, gte, ilike, inArray, isNull, lte, or, type SQL, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.js';
import { PG, pgErrorCode } from '../../db/client.js';
import { inventory, products } from '../../db/schema.js';
import { createBatchLoader, createCoalescer } from '../../lib/coalesce.js';
import { AppError } from '../../lib/errors.js';
import { DEFAULT_CURRENCY } from '../../lib/money.js';

export interface Product {
  id: number;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  imageUrl: string | null;
  /** on_hand - reserved at the time of the read. */
  available: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface ListProductsQuery {
  limit: number;
  /** Exclusive lower bound on the id (keyset pagination). */
  afterId?: number | undefined;
  q?: string | undefined;
  minPriceCents?: number | undefined;
  maxPriceCents?: number | undefined;
}

export interface ProductPage {
  products: Product[];
  /** Id to continue after, or null on the last page. */
  nextAfterId: number | null;
}

export interface NewProduct {
  name: string;
  description?: string | undefined;
  priceCents: number;
  currency?: string | undefined;
  imageUrl?: string | null | undefined;
  stock?: number | undefined;
  /**
   * Optional idempotency key, scoped to `creatorId` and bound to `requestHash`: the same key
   * with the same request returns the first product; with another request it is refused.
   */
  creationKey?: string | undefined;
  creatorId?: number | undefined;
  requestHash?: string | undefined;
}

export interface ProductPatch {
  name?: string | undefined;
  description?: string | undefined;
  priceCents?: number | undefined;
  currency?: string | undefined;
  imageUrl?: string | null | undefined;
}

const productColumns = {
  id: products.id,
  name: products.name,
  description: products.description,
  priceCents: products.priceCents,
  currency: products.currency,
  imageUrl: products.imageUrl,
  available: sql<number>`coalesce(${inventory.onHand} - ${inventory.reserved}, 0)`.mapWith(Number),
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
  deletedAt: products.deletedAt,
};

/** Escapes LIKE metacharacters so a search for `50%` matches the text literally. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export type CatalogService = ReturnType<typeof createCatalogService>;

/**
 * Products and their availability. Reads never return soft-deleted products unless asked.
 *
 * Reads outside a transaction are coalesced (lib/coalesce.ts): concurrent reads of products by id
 * (product pages, cart prices, checkout snapshots) share one statement, and concurrent reads of
 * the same page share one, always a statement sent after the read arrived. So every read is as
 * fresh as Postgres, on every replica, and a busy catalog costs Postgres one statement per round
 * trip instead of one per request. What reads return is shared by the readers of a statement:
 * it is frozen, and callers may memoise work on it by identity (the routes memoise its JSON).
 */
export function createCatalogService({ db }: { db: Db }) {
  const selectProducts = (executor: DbOrTx = db) =>
    executor.select(productColumns).from(products).leftJoin(inventory, eq(inventory.productId, products.id));

  // Built once: the hot statement is not re-rendered by drizzle for every batch.
  const byIds = selectProducts()
    .where(sql`${products.id} = any(${sql.placeholder('ids')}::bigint[])`)
    .prepare('catalog_products_by_ids');
  // One statement in flight: a second one (the next batch leaving while the last answers) halved
  // the batches, and the per-statement work (the write, the parse, the JSON and ETag) cost more
  // CPU than the overlap saved: 67-69 against 77-85 us per product read (docs/performance.md).
  const productsById = createBatchLoader(async (ids: number[]) => {
    const rows = await byIds.execute({ ids });
    return new Map(rows.map((row) => [row.id, Object.freeze(row)]));
  });
  const pages = createCoalescer((key: string) => readPage(JSON.parse(key) as ListProductsQuery));
  // Pages without filters (the shop's front page and its next pages): built once too. Product ids
  // are positive, so the first page is the one after id 0.
  const unfilteredPage = selectProducts()
    .where(and(isNull(products.deletedAt), sql`${products.id} > ${sql.placeholder('afterId')}`))
    .orderBy(asc(products.id))
    .limit(sql.placeholder('limit'))
    .prepare('catalog_products_page');

  async function readPage(query: ListProductsQuery): Promise<ProductPage> {
    const filtered = query.q || query.minPriceCents !== undefined || query.maxPriceCents !== undefined;
    const rows = filtered
      ? await readFilteredPage(query)
      : await unfilteredPage.execute({ afterId: query.afterId ?? 0, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit).map((row) => Object.freeze(row));
    const last = page.at(-1);
    return Object.freeze({ products: page, nextAfterId: rows.length > query.limit && last ? last.id : null });
  }

  function readFilteredPage(query: ListProductsQuery) {
    const conditions: SQL[] = [isNull(products.deletedAt)];
    if (query.afterId !== undefined) conditions.push(gt(products.id, query.afterId));
    if (query.q) {
      const pattern = likePattern(query.q);
      const match = or(ilike(products.name, pattern), ilike(products.description, pattern));
      if (match) conditions.push(match);
    }
    if (query.minPriceCents !== undefined) conditions.push(gte(products.priceCents, query.minPriceCents));
    if (query.maxPriceCents !== undefined) conditions.push(lte(products.priceCents, query.maxPriceCents));
    return selectProducts()
      .where(and(...conditions))
      .orderBy(asc(products.id))
      .limit(query.limit + 1);
  }

  return {
    /** One page of live products ordered by id, filtered by text and price. */
    list(query: ListProductsQuery): Promise<ProductPage> {
      const { limit, afterId, q, minPriceCents, maxPriceCents } = query;
      return pages.run(JSON.stringify({ limit, afterId, q, minPriceCents, maxPriceCents }));
    },

    /** A live product; not_found when unknown or deleted. */
    async get(id: number): Promise<Product> {
      const product = (await productsById.load([id])).get(id);
      if (!product || product.deletedAt !== null) throw new AppError('not_found', `product ${id} not found`);
      return product;
    },

    /** Products by id, deleted ones included (carts and orders still show them). */
    async getMany(ids: readonly number[], executor?: DbOrTx): Promise<Map<number, Product>> {
      if (ids.length === 0) return new Map();
      if (!executor) return productsById.load(ids);
      const rows = await selectProducts(executor).where(inArray(products.id, [...new Set(ids)]));
      return new Map(rows.map((row) => [row.id, row]));
    },

    /**
     * Whether a live product exists; used by carts to refuse deleted products. With `lock` (inside
     * a transaction) the row is share-locked until it ends, so a delete cannot pass it meanwhile.
     */
    async exists(id: number, executor: DbOrTx = db, options: { lock?: boolean } = {}): Promise<boolean> {
      const query = executor
        .select({ id: products.id })
        .from(products)
        .where(and(eq(products.id, id), isNull(products.deletedAt)));
      const [row] = options.lock ? await query.for('share') : await query;
      return row !== undefined;
    },

    /**
     * Creates a product and its stock row in one transaction. Idempotent when given a
     * creation key: the retry returns the product the first call made (`created: false`).
     */
    async create(input: NewProduct): Promise<{ product: Product; created: boolean }> {
      const key = input.creationKey
        ? { key: input.creationKey, creatorId: input.creatorId ?? 0, hash: input.requestHash ?? '' }
        : undefined;
      if (key) {
        const existing = await findByCreationKey(key);
        if (existing) return { product: existing, created: false };
      }
      try {
        const id = await db.transaction(async (tx) => {
          const [row] = await tx
            .insert(products)
            .values({
              name: input.name,
              description: input.description ?? '',
              priceCents: input.priceCents,
              currency: input.currency ?? DEFAULT_CURRENCY,
              imageUrl: input.imageUrl ?? null,
              creationKey: key?.key ?? null,
              creationUserId: key?.creatorId ?? null,
              creationRequestHash: key?.hash ?? null,
            })
            .returning({ id: products.id });
          if (!row) throw new Error('insert returned no row');
          await tx.insert(inventory).values({ productId: row.id, onHand: input.stock ?? 0, reserved: 0 });
          return row.id;
        });
        return { product: await this.get(id), created: true };
      } catch (error) {
        if (key && pgErrorCode(error) === PG.uniqueViolation) {
          const existing = await findByCreationKey(key);
          if (existing) return { product: existing, created: false };
        }
        throw error;
      }
    },

    /** Partial update of a live product. A price change affects future checkouts only. */
    async update(id: number, patch: ProductPatch): Promise<Product> {
      const changes = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
      if (Object.keys(changes).length > 0) {
        const updated = await db
          .update(products)
          .set({ ...changes, updatedAt: sql`now()` })
          .where(and(eq(products.id, id), isNull(products.deletedAt)))
          .returning({ id: products.id });
        if (updated.length === 0) throw new AppError('not_found', `product ${id} not found`);
      }
      return this.get(id);
    },

    /** Hides a product from the catalog and from new cart adds; keeps it for history. Idempotent. */
    async softDelete(id: number): Promise<void> {
      const [row] = await db
        .update(products)
        .set({
          // clock_timestamp(), not now(): the moment of the deletion itself, after any lock wait
          // (now() is when the transaction began, possibly before a racing add committed).
          deletedAt: sql`coalesce(${products.deletedAt}, clock_timestamp())`,
          updatedAt: sql`case when ${products.deletedAt} is null then clock_timestamp() else ${products.updatedAt} end`,
        })
        .where(eq(products.id, id))
        .returning({ id: products.id });
      if (!row) throw new AppError('not_found', `product ${id} not found`);
    },
  };

  /**
   * The product an admin's key created, or undefined; `idempotency_key_reused` when the key was
   * first used with another request.
   */
  async function findByCreationKey(key: {
    key: string;
    creatorId: number;
    hash: string;
  }): Promise<Product | undefined> {
    const [row] = await db
      .select({ ...productColumns, requestHash: products.creationRequestHash })
      .from(products)
      .leftJoin(inventory, eq(inventory.productId, products.id))
      .where(and(eq(products.creationUserId, key.creatorId), eq(products.creationKey, key.key)));
    if (!row) return undefined;
    const { requestHash, ...product } = row;
    if (requestHash !== key.hash) {
      throw new AppError(
        'idempotency_key_reused',
        'this Idempotency-Key was already used for a different product; use a new key',
        { extra: { product_id: product.id } },
      );
    }
    return product;
  }
}
