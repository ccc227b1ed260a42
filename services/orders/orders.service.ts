import { asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../../db/client.js';
import { type OrderStatus, orderItems, orderStatusHistory, orders } from '../../db/schema.js';
import type { CheckoutRecord, ShippingAddress } from '../../lib/checkout.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';

export interface OrderLine {
  productId: number;
  productName: string;
  quantity: number;
  priceCents: number;
  subtotalCents: number;
}

export interface Order {
  id: string;
  checkoutId: string;
  userId: number;
  status: OrderStatus;
  lines: OrderLine[];
  totalCents: number;
  currency: string;
  paymentId: string | null;
  shippingAddress: ShippingAddress | null;
  trackingNumber: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Who moved an order: `checkout-saga`, `user:42`, `admin:1`, `cli`. Kept in the status history. */
export type OrderActor = string;

export type OrdersService = ReturnType<typeof createOrdersService>;

/** Orders: created only by the checkout saga, one per checkout, with an append-only status history. */
export function createOrdersService({ db, clock }: { db: Db; clock: Clock }) {
  async function load(executor: Db | Tx, where: ReturnType<typeof eq>): Promise<Order | undefined> {
    const [row] = await executor.select().from(orders).where(where);
    if (!row) return undefined;
    const lines = await executor
      .select({
        productId: orderItems.productId,
        productName: orderItems.productName,
        quantity: orderItems.quantity,
        priceCents: orderItems.priceCents,
        subtotalCents: orderItems.subtotalCents,
      })
      .from(orderItems)
      .where(eq(orderItems.orderId, row.id))
      .orderBy(asc(orderItems.productId));
    return {
      id: row.id,
      checkoutId: row.checkoutId,
      userId: row.userId,
      status: row.status,
      lines,
      totalCents: row.totalCents,
      currency: row.currency,
      paymentId: row.paymentId,
      shippingAddress: row.shippingAddress ?? null,
      trackingNumber: row.trackingNumber,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  return {
    /** An order by id; undefined when unknown. */
    get: (orderId: string) => load(db, eq(orders.id, orderId)),

    /** The order a checkout created; undefined when it created none. */
    forCheckout: (checkoutId: string) => load(db, eq(orders.checkoutId, checkoutId)),

    /**
     * Creates the order of a checkout, CONFIRMED, with its lines as bought. Idempotent per
     * checkout: a repeat returns the order made first. Undone by `cancelForCheckout`.
     */
    async createForCheckout(checkout: CheckoutRecord, paymentId: string | null): Promise<Order> {
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
          await tx.insert(orderStatusHistory).values({
            id: newId(),
            orderId: created.id,
            fromStatus: null,
            toStatus: 'CONFIRMED',
            actor: 'checkout-saga',
            reason: `checkout ${checkout.id}`,
            createdAt: now,
          });
        }
        const order = await load(tx, eq(orders.checkoutId, checkout.id));
        if (!order) throw new Error(`order of checkout ${checkout.id} vanished`);
        return order;
      });
    },

    /**
     * Cancels the order of a checkout whose saga is compensating. Idempotent and harmless when the
     * checkout created no order. Money and stock are returned by their own compensations.
     */
    async cancelForCheckout(
      checkoutId: string,
      actor: OrderActor,
      reason: string,
    ): Promise<Order | undefined> {
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
          await tx.insert(orderStatusHistory).values({
            id: newId(),
            orderId: row.id,
            fromStatus: row.status,
            toStatus: 'CANCELLED',
            actor,
            reason,
            createdAt: now,
          });
        }
        return load(tx, eq(orders.id, row.id));
      });
    },
  };
}
