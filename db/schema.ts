import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
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
