import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgSequence,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  ACTIVE_CHECKOUT_STATUSES,
  CHECKOUT_STATUSES,
  type CheckoutLine,
  type ShippingAddress,
} from '../lib/checkout.js';
import { MAX_PRICE_CENTS } from '../lib/money.js';
import { ORDER_STATUSES } from '../lib/order.js';

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
    /**
     * Admin creates may carry an Idempotency-Key, scoped to the admin who sent it and bound to a
     * digest of the request: a retry returns the product made the first time, another body is refused.
     */
    creationKey: text(),
    creationUserId: bigint({ mode: 'number' }),
    creationRequestHash: text(),
    ...timestamps,
    deletedAt: timestamp({ withTimezone: true, precision: 6 }),
  },
  (t) => [
    check('products_name_length', sql`char_length(${t.name}) between 1 and 200`),
    check('products_description_length', sql`char_length(${t.description}) <= 5000`),
    check(
      'products_price_cents_range',
      sql`${t.priceCents} >= 0 and ${t.priceCents} <= ${sql.raw(String(MAX_PRICE_CENTS))}`,
    ),
    check('products_currency_iso', sql`${t.currency} ~ '^[A-Z]{3}$'`),
    index('products_live_id_idx').on(t.id).where(sql`${t.deletedAt} is null`),
    uniqueIndex('products_creation_key_idx').on(t.creationUserId, t.creationKey),
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

const RESERVATION_STATUSES = ['RESERVED', 'COMMITTED', 'RELEASED', 'EXPIRED'] as const;
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

const STOCK_MOVEMENT_REASONS = ['RESTOCK', 'ADJUSTMENT'] as const;

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

/**
 * A checkout whose reservation was released (or never made): a reserve that arrives after the
 * release, from a slow or retried attempt, finds this row and holds nothing. Owned by
 * services/inventory; rows older than a day are pruned by the expiry sweep.
 */
export const reservationReleases = pgTable('reservation_releases', {
  checkoutId: uuid().primaryKey(),
  createdAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
});

const inList = (values: readonly string[]) => sql.raw(values.map((value) => `'${value}'`).join(', '));

/**
 * The durable record of each checkout, kept beyond Temporal's retention. Owned by
 * services/checkout. The id is derived from (user, idempotency key); `request_hash` binds the
 * key to the request that first used it. A user has at most one active checkout.
 */
export const checkouts = pgTable(
  'checkouts',
  {
    id: uuid().primaryKey(),
    userId: bigint({ mode: 'number' }).notNull(),
    idempotencyKey: text().notNull(),
    requestHash: text().notNull(),
    status: text({ enum: CHECKOUT_STATUSES }).notNull(),
    lines: jsonb().$type<CheckoutLine[]>().notNull().default([]),
    totalCents: bigint({ mode: 'number' }).notNull().default(0),
    currency: text().notNull().default('USD'),
    shippingAddress: jsonb().$type<ShippingAddress>(),
    orderId: uuid(),
    reservationExpiresAt: timestamp({ withTimezone: true, precision: 6 }),
    failureCode: text(),
    failureReason: text(),
    failureMessage: text(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('checkouts_user_key_idx').on(t.userId, t.idempotencyKey),
    uniqueIndex('checkouts_one_active_per_user_idx')
      .on(t.userId)
      .where(sql`${t.status} in (${inList(ACTIVE_CHECKOUT_STATUSES)})`),
    index('checkouts_active_updated_idx')
      .on(t.updatedAt)
      .where(sql`${t.status} in (${inList(ACTIVE_CHECKOUT_STATUSES)})`),
    check('checkouts_status_known', sql`${t.status} in (${inList(CHECKOUT_STATUSES)})`),
    check('checkouts_total_nonnegative', sql`${t.totalCents} >= 0`),
  ],
);

const PAYMENT_STATUSES = [
  'NEW',
  'REQUIRES_CONFIRMATION',
  'AUTHORIZED',
  'DECLINED',
  'CAPTURED',
  'VOIDED',
  'REFUNDED',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * One payment per checkout. Owned by services/payments. Amounts only ever move forward:
 * refunded <= captured <= amount, enforced by Postgres.
 */
export const payments = pgTable(
  'payments',
  {
    id: uuid().primaryKey(),
    checkoutId: uuid().notNull(),
    userId: bigint({ mode: 'number' }).notNull(),
    amountCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    /** The client's payment token (a provider reference such as `tok_visa`, never card data). */
    paymentMethod: text().notNull(),
    provider: text().notNull(),
    /** The provider's id of the authorization, once it answered. */
    providerReference: text(),
    status: text({ enum: PAYMENT_STATUSES }).notNull(),
    declineReason: text(),
    capturedCents: bigint({ mode: 'number' }).notNull().default(0),
    refundedCents: bigint({ mode: 'number' }).notNull().default(0),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('payments_checkout_idx').on(t.checkoutId),
    check('payments_status_known', sql`${t.status} in (${inList(PAYMENT_STATUSES)})`),
    check(
      'payments_amounts_ordered',
      sql`${t.amountCents} >= 0 and ${t.capturedCents} between 0 and ${t.amountCents} and ${t.refundedCents} between 0 and ${t.capturedCents}`,
    ),
  ],
);

const PAYMENT_OPERATION_KINDS = ['AUTHORIZE', 'CAPTURE', 'VOID', 'REFUND'] as const;
export type PaymentOperationKind = (typeof PAYMENT_OPERATION_KINDS)[number];
const PAYMENT_OPERATION_OUTCOMES = ['IN_FLIGHT', 'SUCCEEDED', 'DECLINED', 'REQUIRES_CONFIRMATION'] as const;
export type PaymentOperationOutcome = (typeof PAYMENT_OPERATION_OUTCOMES)[number];

/**
 * Every call made to the payment provider: one row per payment and kind, under the
 * idempotency key sent with it, counting attempts. "Charged exactly once" is one SUCCEEDED
 * CAPTURE row per payment.
 */
export const paymentOperations = pgTable(
  'payment_operations',
  {
    id: uuid().primaryKey(),
    paymentId: uuid()
      .notNull()
      .references(() => payments.id),
    kind: text({ enum: PAYMENT_OPERATION_KINDS }).notNull(),
    idempotencyKey: text().notNull(),
    amountCents: bigint({ mode: 'number' }).notNull(),
    outcome: text({ enum: PAYMENT_OPERATION_OUTCOMES }).notNull(),
    providerReference: text(),
    declineReason: text(),
    attempts: integer().notNull().default(0),
    lastError: text(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('payment_operations_key_idx').on(t.idempotencyKey),
    uniqueIndex('payment_operations_payment_kind_idx').on(t.paymentId, t.kind),
    check('payment_operations_kind_known', sql`${t.kind} in (${inList(PAYMENT_OPERATION_KINDS)})`),
    check('payment_operations_outcome_known', sql`${t.outcome} in (${inList(PAYMENT_OPERATION_OUTCOMES)})`),
  ],
);

/**
 * The built-in mock provider's own books, standing in for a real provider's servers: one row
 * per idempotency key it was called with, so a retried call gets the first answer, and a
 * test can count what the "bank" did independently of the payments table.
 */
export const mockProviderRequests = pgTable('mock_provider_requests', {
  idempotencyKey: text().primaryKey(),
  operation: text().notNull(),
  reference: text().notNull(),
  paymentMethod: text(),
  amountCents: bigint({ mode: 'number' }).notNull(),
  currency: text().notNull(),
  outcome: text().notNull(),
  declineReason: text(),
  attempts: integer().notNull().default(1),
  ...timestamps,
});

/** Orders, created only by the checkout saga, one per checkout. Owned by services/orders. */
export const orders = pgTable(
  'orders',
  {
    id: uuid().primaryKey(),
    checkoutId: uuid().notNull(),
    userId: bigint({ mode: 'number' }).notNull(),
    status: text({ enum: ORDER_STATUSES }).notNull(),
    totalCents: bigint({ mode: 'number' }).notNull(),
    currency: text().notNull(),
    paymentId: uuid(),
    shippingAddress: jsonb().$type<ShippingAddress>(),
    trackingNumber: text(),
    ...timestamps,
  },
  (t) => [
    uniqueIndex('orders_checkout_idx').on(t.checkoutId),
    index('orders_user_created_idx').on(t.userId, t.createdAt, t.id),
    check('orders_status_known', sql`${t.status} in (${inList(ORDER_STATUSES)})`),
  ],
);

/** The lines of an order as bought: names and prices are snapshots, not references to today's catalog. */
export const orderItems = pgTable(
  'order_items',
  {
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    productId: bigint({ mode: 'number' })
      .notNull()
      .references(() => products.id),
    productName: text().notNull(),
    quantity: integer().notNull(),
    priceCents: bigint({ mode: 'number' }).notNull(),
    subtotalCents: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.productId] }),
    check('order_items_quantity_positive', sql`${t.quantity} > 0`),
  ],
);

/** Append-only: every status an order took, who or what moved it there, and why. */
export const orderStatusHistory = pgTable(
  'order_status_history',
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    fromStatus: text({ enum: ORDER_STATUSES }),
    toStatus: text({ enum: ORDER_STATUSES }).notNull(),
    actor: text().notNull(),
    reason: text(),
    createdAt: timestamp({ withTimezone: true, precision: 6 }).notNull().defaultNow(),
  },
  (t) => [index('order_status_history_order_idx').on(t.orderId, t.createdAt)],
);
