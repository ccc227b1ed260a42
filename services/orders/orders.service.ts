import { and, asc, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { orderItems, orderStatusHistory, orders, payments } from '../../db/schema.js';
import { newId } from '../../infra/ids.js';
import type { CheckoutRecord } from '../../lib/checkout.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { ORDER_TRANSITIONS, type OrderRecord, type OrderStatus } from '../../lib/order.js';

/** Who moved an order, kept in its status history: `checkout-saga`, `user:42`, `admin:1`, `signal`, `order-timeout`. */
export type OrderActor = string;

/** Where a page of a user's orders ends: the last order's time and id (newest first). */
export interface OrderCursor {
  createdAt: string;
  id: string;
}

export interface OrderPage {
  orders: OrderRecord[];
  next: OrderCursor | null;
}

export interface TransitionRequest {
  actor: OrderActor;
  reason?: string | undefined;
  /** For SHIPPED: the carrier's tracking number. */
  trackingNumber?: string | undefined;
}

export interface OrderHistoryEntry {
  fromStatus: OrderStatus | null;
  toStatus: OrderStatus;
  actor: string;
  reason: string | null;
  createdAt: string;
}

type OrderRow = typeof orders.$inferSelect;

export const MAX_ORDER_PAGE = 100;

export type OrdersService = ReturnType<typeof createOrdersService>;

/** Why `to` cannot follow `from`, or undefined when the move is allowed. */
export function transitionRefusal(from: OrderStatus, to: OrderStatus): string | undefined {
  if (ORDER_TRANSITIONS[from].includes(to)) return undefined;
  return `an order that is ${from} cannot become ${to}`;
}

/**
 * Orders: created only by the checkout saga, one per checkout, moved through their lifecycle
 * only by their workflow, with an append-only status history of who moved them and why.
 */
export function createOrdersService({ db, clock }: { db: Db; clock: Clock }) {
  async function records(executor: Db | Tx, rows: readonly OrderRow[]): Promise<OrderRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const [lines, paid] = await Promise.all([
      executor
        .select()
        .from(orderItems)
        .where(inArray(orderItems.orderId, ids))
        .orderBy(asc(orderItems.orderId), asc(orderItems.productId)),
      executor
        .select({
          checkoutId: payments.checkoutId,
          id: payments.id,
          status: payments.status,
          amountCents: payments.amountCents,
          refundedCents: payments.refundedCents,
        })
        .from(payments)
        .where(
          inArray(
            payments.checkoutId,
            rows.map((row) => row.checkoutId),
          ),
        ),
    ]);
    return rows.map((row) => {
      const payment = paid.find((p) => p.checkoutId === row.checkoutId);
      return {
        id: row.id,
        checkoutId: row.checkoutId,
        userId: row.userId,
        status: row.status,
        lines: lines
          .filter((line) => line.orderId === row.id)
          .map(({ productId, productName, quantity, priceCents, subtotalCents }) => ({
            productId,
            productName,
            quantity,
            priceCents,
            subtotalCents,
          })),
        totalCents: row.totalCents,
        currency: row.currency,
        payment: payment
          ? {
              paymentId: payment.id,
              status: payment.status,
              amountCents: payment.amountCents,
              refundedCents: payment.refundedCents,
            }
          : null,
        shippingAddress: row.shippingAddress ?? null,
        trackingNumber: row.trackingNumber,
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
      };
    });
  }

  async function load(executor: Db | Tx, where: SQL): Promise<OrderRecord | undefined> {
    const rows = await executor.select().from(orders).where(where);
    const [record] = await records(executor, rows);
    return record;
  }

  async function mustGet(orderId: string): Promise<OrderRecord> {
    const order = await load(db, eq(orders.id, orderId));
    if (!order) throw new AppError('not_found', `order ${orderId} not found`);
    return order;
  }

  async function recordHistory(
    tx: Tx,
    orderId: string,
    from: OrderStatus | null,
    to: OrderStatus,
    request: TransitionRequest,
    at: Date,
  ): Promise<void> {
    await tx.insert(orderStatusHistory).values({
      id: newId(),
      orderId,
      fromStatus: from,
      toStatus: to,
      actor: request.actor,
      reason: request.reason ?? null,
      createdAt: at,
    });
  }

  return {
    /** An order by id; not_found when unknown. */
    get: mustGet,

    /** A user's order; another user's is reported as not found. */
    async getForUser(userId: number, orderId: string): Promise<OrderRecord> {
      const order = await load(db, eq(orders.id, orderId));
      if (!order || order.userId !== userId) throw new AppError('not_found', `order ${orderId} not found`);
      return order;
    },

    /** The order a checkout created; undefined when it created none. */
    forCheckout: (checkoutId: string) => load(db, eq(orders.checkoutId, checkoutId)),

    /**
     * One page of a user's orders, newest first. Keyset pagination on (created_at, id): orders
     * placed while a client pages land before its cursor, so no page repeats or skips one.
     */
    async listForUser(
      userId: number,
      options: { limit: number; after?: OrderCursor | undefined },
    ): Promise<OrderPage> {
      const limit = Math.min(Math.max(1, options.limit), MAX_ORDER_PAGE);
      const conditions: SQL[] = [eq(orders.userId, userId)];
      if (options.after) {
        const at = new Date(options.after.createdAt);
        const before = or(
          lt(orders.createdAt, at),
          and(eq(orders.createdAt, at), lt(orders.id, options.after.id)),
        );
        if (before) conditions.push(before);
      }
      const rows = await db
        .select()
        .from(orders)
        .where(and(...conditions))
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        orders: await records(db, page),
        next: rows.length > limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
      };
    },

    /** Every status an order took, oldest first. */
    async history(orderId: string): Promise<OrderHistoryEntry[]> {
      const rows = await db
        .select()
        .from(orderStatusHistory)
        .where(eq(orderStatusHistory.orderId, orderId))
        .orderBy(asc(orderStatusHistory.createdAt));
      return rows.map((row) => ({
        fromStatus: row.fromStatus,
        toStatus: row.toStatus,
        actor: row.actor,
        reason: row.reason,
        createdAt: row.createdAt.toISOString(),
      }));
    },

    /**
     * Creates the order of a checkout, CONFIRMED, with its lines as bought. Idempotent per
     * checkout: a repeat returns the order made first. Undone by `cancelForCheckout`.
     */
    async createForCheckout(checkout: CheckoutRecord, paymentId: string | null): Promise<OrderRecord> {
      if (checkout.lines.length === 0) {
        throw new AppError('invalid_argument', `checkout ${checkout.id} has no lines to order`);
      }
      return db.transaction(async (tx) => {
        const now = clock.now();
        const [created] = await tx
          .insert(orders)
          .values({
            id: newId(),
            checkoutId: checkout.id,
            userId: checkout.userId,
            status: 'CONFIRMED',
            totalCents: checkout.totalCents,
            currency: checkout.currency,
            paymentId,
            shippingAddress: checkout.shippingAddress,
            createdAt: now,
            updatedAt: now,
          })
          .onConflictDoNothing({ target: orders.checkoutId })
          .returning({ id: orders.id });
        if (created) {
          await tx.insert(orderItems).values(
            checkout.lines.map((line) => ({
              orderId: created.id,
              productId: line.productId,
              productName: line.productName,
              quantity: line.quantity,
              priceCents: line.priceCents,
              subtotalCents: line.subtotalCents,
            })),
          );
          await recordHistory(
            tx,
            created.id,
            null,
            'CONFIRMED',
            { actor: 'checkout-saga', reason: `checkout ${checkout.id}` },
            now,
          );
        }
        const order = await load(tx, eq(orders.checkoutId, checkout.id));
        if (!order) throw new Error(`order of checkout ${checkout.id} vanished`);
        return order;
      });
    },

    /**
     * Moves an order to `to` if its lifecycle allows it, recording who and why; `conflict` (or
     * `order_not_cancellable`) otherwise. Idempotent: an order already in `to` is returned as
     * is (a SHIPPED order with another tracking number is a `conflict`).
     */
    async transition(orderId: string, to: OrderStatus, request: TransitionRequest): Promise<OrderRecord> {
      const refused = await db.transaction(async (tx) => {
        const [row] = await tx
          .select({ status: orders.status, trackingNumber: orders.trackingNumber })
          .from(orders)
          .where(eq(orders.id, orderId))
          .for('update');
        if (!row) throw new AppError('not_found', `order ${orderId} not found`);
        if (row.status === to) {
          const other =
            to === 'SHIPPED' && request.trackingNumber && request.trackingNumber !== row.trackingNumber;
          return other
            ? `the order already shipped with tracking number ${row.trackingNumber ?? 'none'}`
            : undefined;
        }
        const refusal = transitionRefusal(row.status, to);
        if (refusal) return refusal;
        const now = clock.now();
        await tx
          .update(orders)
          .set({
            status: to,
            updatedAt: now,
            ...(to === 'SHIPPED' ? { trackingNumber: request.trackingNumber ?? null } : {}),
          })
          .where(and(eq(orders.id, orderId), eq(orders.status, row.status)));
        await recordHistory(tx, orderId, row.status, to, request, now);
        return undefined;
      });
      if (refused) throw new AppError(to === 'CANCELLED' ? 'order_not_cancellable' : 'conflict', refused);
      return mustGet(orderId);
    },

    /**
     * Cancels the order of a checkout whose saga is compensating. Idempotent and harmless when the
     * checkout created no order. Money and stock are returned by their own compensations.
     */
    async cancelForCheckout(
      checkoutId: string,
      actor: OrderActor,
      reason: string,
    ): Promise<OrderRecord | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({ id: orders.id, status: orders.status })
          .from(orders)
          .where(eq(orders.checkoutId, checkoutId))
          .for('update');
        if (!row) return undefined;
        if (row.status !== 'CANCELLED') {
          const now = clock.now();
          await tx.update(orders).set({ status: 'CANCELLED', updatedAt: now }).where(eq(orders.id, row.id));
          await recordHistory(tx, row.id, row.status, 'CANCELLED', { actor, reason }, now);
        }
        return load(tx, eq(orders.id, row.id));
      });
    },
  };
}
