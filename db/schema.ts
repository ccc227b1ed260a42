import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const timestamps = {
  createdAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
};

/** Catalog. Owned by services/catalog. Soft-deleted rows stay for order history. */
export const products = pgTable(
  'products',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    name: text().notNull(),
    description: text().notNull().default(''),
    priceCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull().default('USD'),
    imageUrl: text(),
    /** Admin creates may carry an Idempotency-Key; a retry returns the product made the first time. */
    creationKey: text(),
    ...timestamps,
    deletedAt: timestamp({ withTimezone: true, precision: 6 }),
  },
  (t) => [
    check('products_name_length', sql`char_length(${t.name}) between 1 and 200`),
    check('products_description_length', sql`char_length(${t.description}) <= 5000`),
    check('products_price_cents_range', sql`${t.priceCents} >= 0 and ${t.priceCents} <= 100000000000`),
    check('products_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    index('products_live_id_idx').on(t.id).where(sql`${t.deletedAt} is null`),
    uniqueIndex('products_creation_key_idx').on(t.creationKey),
  ],
);

/** Stock per product. Owned by services/inventory. `available` is on_hand - reserved. */
export const inventory = pgTable(
  'inventory',
  {
    productId: bigint({ mode: 'number' })
      .primaryKey()
      .references(() => products.id),
    onHand: integer().notNull(),
    reserved: integer().notNull().default(0),
    updatedAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [
    check('inventory_on_hand_nonnegative', sql`${t.onHand} >= 0`),
    check('inventory_reserved_bounds', sql`${t.reserved} >= 0 and ${t.reserved} <= ${t.onHand}`),
  ],
);

export const RESERVATION_STATUSES = ['RESERVED', 'COMMITTED', 'RELEASED', 'EXPIRED'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/**
 * Stock held for a checkout: one row per (checkout, product). Owned by services/inventory.
 * RESERVED rows are counted in inventory.reserved; COMMITTED rows have left on_hand for good.
 */
export const reservations = pgTable(
  'reservations',
  {
    id: uuid().primaryKey(),
    checkoutId: uuid().notNull(),
    productId: bigint({ mode: 'number' })
      .notNull()
      .references(() => products.id),
    quantity: integer().notNull(),
    status: text({ enum: RESERVATION_STATUSES }).notNull(),
    expiresAt: timestamp({ withTimezone: true, precision: 6 }).notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('reservations_checkout_product_idx').on(t.checkoutId, t.productId),
    index('reservations_live_expiry_idx').on(t.expiresAt).where(sql`${t.status} = 'RESERVED'`),
    check('reservations_quantity_positive', sql`${t.quantity} > 0`),
    check('reservations_status_known', sql`${t.status} in ('RESERVED', 'COMMITTED', 'RELEASED', 'EXPIRED')`),
  ],
);

export const STOCK_MOVEMENT_REASONS = ['RESTOCK', 'ADJUSTMENT'] as const;

/**
 * Ledger of on_hand changes made outside checkouts. The unique (reason, reference, product)
 * makes a restock for a cancelled order apply once, however often it is retried.
 */
export const stockMovements = pgTable(
  'stock_movements',
  {
    id: uuid().primaryKey(),
    productId: bigint({ mode: 'number' })
      .notNull()
      .references(() => products.id),
    delta: integer().notNull(),
    reason: text({ enum: STOCK_MOVEMENT_REASONS }).notNull(),
    reference: text().notNull(),
    createdAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('stock_movements_reference_idx').on(t.reason, t.reference, t.productId),
    check('stock_movements_reason_known', sql`${t.reason} in ('RESTOCK', 'ADJUSTMENT')`),
  ],
);

/**
 * Every cart write takes the next value: versions grow in commit order per cart (writers hold
 * the cart row lock) and never repeat across a purge and re-creation, so the cache can fence
 * stale fills by comparing versions.
 */
export const cartVersions = pgSequence('cart_versions', { startWith: 1 });

/** One cart per user. Owned by services/cart. */
export const carts = pgTable(
  'carts',
  {
    id: uuid().primaryKey(),
    userId: bigint({ mode: 'number' }).notNull(),
    version: bigint({ mode: 'number' }).notNull(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('carts_user_idx').on(t.userId),
    index('carts_updated_at_idx').on(t.updatedAt),
    check('carts_user_positive', sql`${t.userId} > 0`),
  ],
);

export const cartItems = pgTable(
  'cart_items',
  {
    cartId: uuid()
      .notNull()
      .references(() => carts.id, { onDelete: 'cascade' }),
    productId: bigint({ mode: 'number' })
      .notNull()
      .references(() => products.id),
    quantity: integer().notNull(),
    /** The cart version that last wrote this line: identifies exactly what a checkout bought. */
    version: bigint({ mode: 'number' }).notNull(),
    addedAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.cartId, t.productId] }),
    check('cart_items_quantity_range', sql`${t.quantity} between 1 and 99`),
  ],
);
