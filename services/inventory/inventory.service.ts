import { and, asc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { PG, pgErrorCode } from '../../db/client.js';
import {
  inventory,
  products,
  type ReservationStatus,
  reservationReleases,
  reservations,
  stockMovements,
} from '../../db/schema.js';
import { newId } from '../../infra/ids.js';
import type { CommerceMetrics } from '../../infra/metrics.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, type FieldError } from '../../lib/errors.js';
import { assertProductId, isPositiveId, uuidKey } from '../../lib/id-checks.js';

export interface StockLevel {
  productId: number;
  onHand: number;
  reserved: number;
  available: number;
}

export interface StockLine {
  productId: number;
  quantity: number;
}

export interface Reservation {
  checkoutId: string;
  status: ReservationStatus;
  expiresAt: Date;
  lines: StockLine[];
}

/** A product a reservation could not get, as named in the problem document. */
export interface StockShortage {
  product_id: number;
  requested: number;
  available: number;
}

/** The stock columns are Postgres `integer`. */
export const MAX_STOCK_QUANTITY = 2_147_483_647;

/**
 * First key of the two-key advisory lock that serialises every write to one checkout's
 * reservations. The two-key space is separate from the one-key space the migrator uses.
 */
const CHECKOUT_LOCK_NAMESPACE = 0x494e56;

const MAX_SWEEP_LIMIT = 10_000;
const RESERVE_ATTEMPTS = 3;

/** Aggregates rows per product in ascending product id, the lock order of every verb. */
function quantitiesByProduct(rows: readonly { productId: number; quantity: number }[]): StockLine[] {
  const totals = new Map<number, number>();
  for (const row of rows) totals.set(row.productId, (totals.get(row.productId) ?? 0) + row.quantity);
  return [...totals].sort(([a], [b]) => a - b).map(([productId, quantity]) => ({ productId, quantity }));
}

/**
 * Validates stock lines and merges them into one line per product, in ascending product id:
 * the order in which every verb locks inventory rows, so concurrent callers never deadlock.
 */
export function normalizeLines(lines: readonly StockLine[]): StockLine[] {
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new AppError('invalid_argument', 'at least one stock line is required');
  }
  const errors: FieldError[] = [];
  lines.forEach((line, index) => {
    if (!isPositiveId(line?.productId)) {
      errors.push({ field: `lines.${index}.product_id`, message: 'product_id must be a positive integer' });
    }
    if (!Number.isSafeInteger(line?.quantity) || line.quantity <= 0) {
      errors.push({ field: `lines.${index}.quantity`, message: 'quantity must be a positive integer' });
    }
  });
  const merged = errors.length === 0 ? quantitiesByProduct(lines) : [];
  for (const { productId, quantity } of merged) {
    if (quantity > MAX_STOCK_QUANTITY) {
      errors.push({
        field: 'lines',
        message: `quantity of product ${productId} must be at most ${MAX_STOCK_QUANTITY}`,
      });
    }
  }
  const [first] = errors;
  if (first) throw new AppError('invalid_argument', first.message, { errors });
  return merged;
}

/** Whether two normalized line lists ask for exactly the same quantities. */
export function sameLines(a: readonly StockLine[], b: readonly StockLine[]): boolean {
  return (
    a.length === b.length &&
    a.every((line, i) => line.productId === b[i]?.productId && line.quantity === b[i]?.quantity)
  );
}

/**
 * The status of a checkout's reservation from its per-product rows. The verbs move all rows
 * of a checkout together, so they normally agree; if they ever do not, the reservation is
 * only as live as its weakest line.
 */
export function reservationStatus(statuses: readonly ReservationStatus[]): ReservationStatus {
  const [first] = statuses;
  if (first === undefined) throw new RangeError('a reservation has at least one line');
  if (statuses.every((status) => status === first)) return first;
  if (statuses.includes('EXPIRED')) return 'EXPIRED';
  if (statuses.includes('RELEASED')) return 'RELEASED';
  return 'RESERVED';
}

const checkoutKey = (checkoutId: string) => uuidKey(checkoutId, 'checkout id');

interface ReservationRow {
  id: string;
  productId: number;
  quantity: number;
  status: ReservationStatus;
  expiresAt: Date;
}

const reservationColumns = {
  id: reservations.id,
  productId: reservations.productId,
  quantity: reservations.quantity,
  status: reservations.status,
  expiresAt: reservations.expiresAt,
};

const stockColumns = {
  productId: inventory.productId,
  onHand: inventory.onHand,
  reserved: inventory.reserved,
};

function stockLevel(row: { productId: number; onHand: number; reserved: number }): StockLevel {
  return { ...row, available: row.onHand - row.reserved };
}

function toReservation(checkoutId: string, rows: readonly ReservationRow[]): Reservation {
  const [first] = rows;
  if (!first) throw new RangeError('a reservation has at least one line');
  return {
    checkoutId,
    status: reservationStatus(rows.map((row) => row.status)),
    expiresAt: first.expiresAt,
    lines: rows.map((row) => ({ productId: row.productId, quantity: row.quantity })),
  };
}

/** Serialises reserve, commit and release of one checkout until the transaction ends. */
async function lockCheckout(tx: Tx, checkoutId: string): Promise<void> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(${sql.raw(String(CHECKOUT_LOCK_NAMESPACE))}, hashtext(${checkoutId}::uuid::text))`,
  );
}

function checkoutRows(tx: Tx, checkoutId: string) {
  return tx
    .select(reservationColumns)
    .from(reservations)
    .where(eq(reservations.checkoutId, checkoutId))
    .orderBy(asc(reservations.productId))
    .for('update');
}

/** Moves stock between the inventory columns for one product; the row must exist. */
async function adjustInventory(
  tx: Tx,
  productId: number,
  change: { onHand?: number; reserved?: number },
): Promise<void> {
  const rows = await tx
    .update(inventory)
    .set({
      ...(change.onHand ? { onHand: sql`${inventory.onHand} + ${change.onHand}` } : {}),
      ...(change.reserved ? { reserved: sql`${inventory.reserved} + ${change.reserved}` } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(inventory.productId, productId))
    .returning({ productId: inventory.productId });
  if (rows.length === 0) throw new Error(`inventory row of product ${productId} is missing`);
}

/**
 * Ends live (RESERVED) reservation rows: their stock leaves `reserved`, and on commit also
 * `on_hand`, product by product in lock order; then the rows take their final status.
 */
async function settle(
  tx: Tx,
  live: readonly ReservationRow[],
  status: Exclude<ReservationStatus, 'RESERVED'>,
): Promise<void> {
  for (const line of quantitiesByProduct(live)) {
    const sold = status === 'COMMITTED' ? -line.quantity : 0;
    await adjustInventory(tx, line.productId, { onHand: sold, reserved: -line.quantity });
  }
  await tx
    .update(reservations)
    .set({ status, updatedAt: sql`now()` })
    .where(
      inArray(
        reservations.id,
        live.map((row) => row.id),
      ),
    );
}

/** Marks a checkout's reservation as released, so a reserve arriving later holds nothing. */
async function markReleased(tx: Tx, checkoutId: string): Promise<void> {
  await tx.insert(reservationReleases).values({ checkoutId }).onConflictDoNothing();
}

/**
 * Puts lines back on hand once per (reference, product): a RESTOCK movement records each, and a
 * line whose movement exists is skipped. Returns whether anything was put back.
 */
async function restockOnce(tx: Tx, reference: string, lines: readonly StockLine[]): Promise<boolean> {
  let restocked = false;
  for (const line of lines) {
    const inserted = await tx
      .insert(stockMovements)
      .values({ id: newId(), productId: line.productId, delta: line.quantity, reason: 'RESTOCK', reference })
      .onConflictDoNothing()
      .returning({ id: stockMovements.id });
    if (inserted.length === 0) continue;
    const updated = await tx
      .update(inventory)
      .set({ onHand: sql`${inventory.onHand} + ${line.quantity}`, updatedAt: sql`now()` })
      .where(eq(inventory.productId, line.productId))
      .returning({ productId: inventory.productId });
    if (updated.length === 0) throw new AppError('not_found', `product ${line.productId} not found`);
    restocked = true;
  }
  return restocked;
}

export type InventoryService = ReturnType<typeof createInventoryService>;

/**
 * Stock levels and the reservations checkouts hold. `inventory.reserved` always equals the
 * sum of RESERVED reservation rows; every stock change is one conditional UPDATE, with rows
 * locked in ascending product id.
 */
export function createInventoryService({
  db,
  clock,
  metrics,
}: {
  db: Db;
  clock: Clock;
  /** Counts reservation attempts by outcome (inventory_reservations_total). */
  metrics?: CommerceMetrics | undefined;
}) {
  /** Available stock of a product as the failed reservation saw it; undefined when unavailable. */
  async function availableOf(tx: Tx, productId: number): Promise<number | undefined> {
    const [row] = await tx
      .select({ ...stockColumns, deletedAt: products.deletedAt })
      .from(products)
      .innerJoin(inventory, eq(inventory.productId, products.id))
      .where(eq(products.id, productId));
    if (!row || row.deletedAt !== null) return undefined;
    return row.onHand - row.reserved;
  }

  /** Holds `quantity` of a live product if that much is available; false otherwise. */
  async function hold(tx: Tx, line: StockLine): Promise<boolean> {
    const rows = await tx
      .update(inventory)
      .set({ reserved: sql`${inventory.reserved} + ${line.quantity}`, updatedAt: sql`now()` })
      .where(
        and(
          eq(inventory.productId, line.productId),
          sql`${inventory.onHand} - ${inventory.reserved} >= ${line.quantity}`,
          sql`exists (select 1 from ${products} where ${products.id} = ${inventory.productId} and ${products.deletedAt} is null)`,
        ),
      )
      .returning({ productId: inventory.productId });
    return rows.length > 0;
  }

  /** Holds a line, or says how much was available (undefined: unknown or deleted product). */
  async function tryHold(
    tx: Tx,
    line: StockLine,
  ): Promise<{ held: true } | { held: false; available: number | undefined }> {
    for (let attempt = 1; ; attempt++) {
      if (await hold(tx, line)) return { held: true };
      const available = await availableOf(tx, line.productId);
      // Stock freed between the update and the read: retry rather than report a shortage that is gone.
      if (available === undefined || available < line.quantity || attempt >= RESERVE_ATTEMPTS) {
        return { held: false, available };
      }
    }
  }

  return {
    /** Current stock of a product; not_found when it has no stock row. */
    async getStock(productId: number): Promise<StockLevel> {
      assertProductId(productId);
      const [row] = await db.select(stockColumns).from(inventory).where(eq(inventory.productId, productId));
      if (!row) throw new AppError('not_found', `product ${productId} not found`);
      return stockLevel(row);
    },

    /**
     * Sets the units on hand (an admin count), recording the change as an ADJUSTMENT movement;
     * refused with `conflict` below what checkouts hold. Idempotent: setting the same value again changes nothing.
     */
    async setOnHand(productId: number, onHand: number): Promise<StockLevel> {
      assertProductId(productId);
      if (!Number.isSafeInteger(onHand) || onHand < 0 || onHand > MAX_STOCK_QUANTITY) {
        throw new AppError(
          'invalid_argument',
          `on_hand must be an integer between 0 and ${MAX_STOCK_QUANTITY}`,
        );
      }
      return db.transaction(async (tx) => {
        // Locked first so the recorded delta is exactly the change this update makes.
        const [before] = await tx
          .select(stockColumns)
          .from(inventory)
          .where(eq(inventory.productId, productId))
          .for('update');
        if (!before) throw new AppError('not_found', `product ${productId} not found`);
        const [after] = await tx
          .update(inventory)
          .set({ onHand, updatedAt: sql`now()` })
          .where(and(eq(inventory.productId, productId), sql`${onHand} >= ${inventory.reserved}`))
          .returning(stockColumns);
        if (!after) {
          throw new AppError(
            'conflict',
            `on_hand below reserved: ${before.reserved} units of product ${productId} are reserved by checkouts`,
            { extra: { reserved: before.reserved } },
          );
        }
        const delta = onHand - before.onHand;
        if (delta !== 0) {
          await tx
            .insert(stockMovements)
            .values({ id: newId(), productId, delta, reason: 'ADJUSTMENT', reference: newId() });
        }
        return stockLevel(after);
      });
    },

    /** The reservation a checkout holds, or undefined when it never reserved. */
    async getReservation(checkoutId: string): Promise<Reservation | undefined> {
      const key = checkoutKey(checkoutId);
      const rows = await db
        .select(reservationColumns)
        .from(reservations)
        .where(eq(reservations.checkoutId, key))
        .orderBy(asc(reservations.productId));
      return rows.length > 0 ? toReservation(key, rows) : undefined;
    },

    /**
     * Reserves all lines or none for `ttlMs`. Idempotent per checkout: a repeat returns the
     * reservation made first (`conflict` if it asks for other quantities), whatever its status.
     * Refused with `reservation_expired` once the checkout's reservation was released, even if
     * nothing was held yet: a slow attempt that lands after the saga gave up holds nothing.
     * Undone by `release` or `returnStock`.
     */
    async reserve(checkoutId: string, lines: StockLine[], ttlMs: number): Promise<Reservation> {
      const key = checkoutKey(checkoutId);
      if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
        throw new AppError('invalid_argument', 'reservation ttl must be a positive number of milliseconds');
      }
      const wanted = normalizeLines(lines);
      return db.transaction(async (tx) => {
        await lockCheckout(tx, key);
        const existing = await checkoutRows(tx, key);
        if (existing.length > 0) {
          if (!sameLines(existing, wanted)) {
            throw new AppError(
              'conflict',
              `checkout ${key} already holds a reservation for other quantities`,
            );
          }
          return toReservation(key, existing);
        }
        const [released] = await tx
          .select({ checkoutId: reservationReleases.checkoutId })
          .from(reservationReleases)
          .where(eq(reservationReleases.checkoutId, key));
        if (released) {
          throw new AppError(
            'reservation_expired',
            `the reservation of checkout ${key} was already released`,
          );
        }

        const shortages: StockShortage[] = [];
        let unavailable = false;
        for (const line of wanted) {
          // Once the reservation has failed, later lines are only inspected, to name every short product.
          let available: number | undefined;
          if (shortages.length === 0) {
            const outcome = await tryHold(tx, line);
            if (outcome.held) continue;
            available = outcome.available;
          } else {
            available = await availableOf(tx, line.productId);
            if (available !== undefined && available >= line.quantity) continue;
          }
          if (available === undefined) unavailable = true;
          shortages.push({ product_id: line.productId, requested: line.quantity, available: available ?? 0 });
        }
        if (shortages.length > 0) {
          metrics?.reservation(unavailable ? 'product_unavailable' : 'insufficient_stock');
          const names = shortages.map((s) => s.product_id).join(', ');
          throw unavailable
            ? new AppError('product_unavailable', `products no longer available or short: ${names}`, {
                extra: { products: shortages },
              })
            : new AppError('insufficient_stock', `not enough stock for products ${names}`, {
                extra: { products: shortages },
              });
        }

        const expiresAt = new Date(clock.now().getTime() + ttlMs);
        const rows = wanted.map((line) => ({
          id: newId(),
          checkoutId: key,
          productId: line.productId,
          quantity: line.quantity,
          status: 'RESERVED' as const,
          expiresAt,
        }));
        await tx.insert(reservations).values(rows);
        metrics?.reservation('reserved');
        return toReservation(key, rows);
      });
    },

    /**
     * Turns a checkout's reserved stock into sold stock: it leaves on_hand for good. Idempotent;
     * `reservation_expired` once released or expired. Undone only by `restock` of the order.
     */
    async commit(checkoutId: string): Promise<Reservation> {
      const key = checkoutKey(checkoutId);
      return db.transaction(async (tx) => {
        await lockCheckout(tx, key);
        const rows = await checkoutRows(tx, key);
        if (rows.length === 0) throw new AppError('not_found', `checkout ${key} holds no reservation`);
        if (rows.every((row) => row.status === 'COMMITTED')) return toReservation(key, rows);
        if (rows.some((row) => row.status === 'RELEASED' || row.status === 'EXPIRED')) {
          throw new AppError('reservation_expired', `the reservation of checkout ${key} was released`);
        }
        const live = rows.filter((row) => row.status === 'RESERVED');
        await settle(tx, live, 'COMMITTED');
        return toReservation(
          key,
          rows.map((row) => ({ ...row, status: 'COMMITTED' })),
        );
      });
    },

    /**
     * Returns a checkout's reserved stock to available and refuses any later reserve of it.
     * Idempotent and harmless when nothing is reserved; committed lines are left alone.
     * `released` counts the lines returned by this call.
     */
    async release(checkoutId: string): Promise<{ released: number }> {
      const key = checkoutKey(checkoutId);
      return db.transaction(async (tx) => {
        await lockCheckout(tx, key);
        await markReleased(tx, key);
        const live = (await checkoutRows(tx, key)).filter((row) => row.status === 'RESERVED');
        if (live.length === 0) return { released: 0 };
        await settle(tx, live, 'RELEASED');
        return { released: live.length };
      });
    },

    /**
     * Undoes whatever a checkout did to stock: reserved lines are released (and a later reserve
     * refused), committed lines are put back on hand once, recorded as RESTOCK movements whose
     * reference is the checkout id. The compensation of both reserve and commit, and the restock
     * of a cancelled order. Idempotent: counts are of what this call changed.
     */
    async returnStock(checkoutId: string): Promise<{ released: number; restocked: number }> {
      const key = checkoutKey(checkoutId);
      return db.transaction(async (tx) => {
        await lockCheckout(tx, key);
        await markReleased(tx, key);
        const rows = await checkoutRows(tx, key);
        const live = rows.filter((row) => row.status === 'RESERVED');
        if (live.length > 0) await settle(tx, live, 'RELEASED');
        const sold = quantitiesByProduct(rows.filter((row) => row.status === 'COMMITTED'));
        const restocked = sold.length > 0 && (await restockOnce(tx, key, sold)) ? sold.length : 0;
        return { released: live.length, restocked };
      });
    },

    /** Forgets release markers older than `olderThanMs`: no reserve attempt lives that long. Idempotent. */
    async pruneReleaseMarkers(olderThanMs: number): Promise<{ pruned: number }> {
      const cutoff = new Date(clock.now().getTime() - olderThanMs);
      const deleted = await db
        .delete(reservationReleases)
        .where(lt(reservationReleases.createdAt, cutoff))
        .returning({ checkoutId: reservationReleases.checkoutId });
      return { pruned: deleted.length };
    },

    /**
     * Expires reservations whose `expires_at` is at least `graceMs` past `now`, for at most
     * `limit` checkouts, skipping checkouts whose commit or release is in flight. Idempotent.
     */
    async releaseExpired(
      options: { now?: Date; graceMs?: number; limit?: number } = {},
    ): Promise<{ released: number; checkoutIds: string[] }> {
      const { now = clock.now(), graceMs = 0, limit = 500 } = options;
      if (!Number.isFinite(graceMs) || graceMs < 0) {
        throw new AppError('invalid_argument', 'graceMs must be a non-negative number');
      }
      if (!Number.isSafeInteger(limit) || limit <= 0 || limit > MAX_SWEEP_LIMIT) {
        throw new AppError('invalid_argument', `limit must be an integer between 1 and ${MAX_SWEEP_LIMIT}`);
      }
      const cutoff = new Date(now.getTime() - graceMs);
      if (Number.isNaN(cutoff.getTime())) throw new AppError('invalid_argument', 'now must be a valid date');

      return db.transaction(async (tx) => {
        // A checkout is claimed whole through the advisory lock its commit and release hold, so
        // an in-flight commit is never half-expired; locked checkouts are skipped, never awaited.
        const claimed = await tx.execute<{ checkout_id: string }>(sql`
          with candidates as materialized (
            select ${reservations.checkoutId} as checkout_id, min(${reservations.expiresAt}) as expires_at
            from ${reservations}
            where ${reservations.status} = 'RESERVED' and ${reservations.expiresAt} <= ${cutoff.toISOString()}::timestamptz
            group by ${reservations.checkoutId}
            order by 2, 1
            limit ${limit}
          )
          select checkout_id::text as checkout_id from candidates
          where pg_try_advisory_xact_lock(${sql.raw(String(CHECKOUT_LOCK_NAMESPACE))}, hashtext(checkout_id::text))`);
        const ids = [...claimed].map((row) => row.checkout_id);
        if (ids.length === 0) return { released: 0, checkoutIds: [] };

        // A fresh snapshot after the locks: checkouts committed or released meanwhile drop out here.
        const rows = await tx
          .select({ ...reservationColumns, checkoutId: reservations.checkoutId })
          .from(reservations)
          .where(
            and(
              inArray(reservations.checkoutId, ids),
              eq(reservations.status, 'RESERVED'),
              lte(reservations.expiresAt, cutoff),
            ),
          )
          .orderBy(asc(reservations.checkoutId), asc(reservations.productId))
          .for('update');
        if (rows.length === 0) return { released: 0, checkoutIds: [] };
        await settle(tx, rows, 'EXPIRED');
        return { released: rows.length, checkoutIds: [...new Set(rows.map((row) => row.checkoutId))] };
      });
    },

    /**
     * Puts the lines of a cancelled order back on hand. Idempotent per order and product
     * (a RESTOCK movement records each); `restocked` is false when nothing was left to return.
     */
    async restock(orderId: string, lines: StockLine[]): Promise<{ restocked: boolean }> {
      if (typeof orderId !== 'string' || orderId.trim() === '' || orderId.length > 255) {
        throw new AppError('invalid_argument', 'order id must be 1..255 characters');
      }
      const wanted = normalizeLines(lines);
      try {
        return await db.transaction(async (tx) => ({ restocked: await restockOnce(tx, orderId, wanted) }));
      } catch (error) {
        if (pgErrorCode(error) === PG.foreignKeyViolation) {
          throw new AppError('not_found', 'a restocked product does not exist', { cause: error });
        }
        throw error;
      }
    },
  };
}
