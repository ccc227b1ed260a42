import type { OrderRecord, OrderStatus } from '../lib/order.js';
import type { CheckoutService } from '../services/checkout/checkout.service.js';
import type { OrdersService } from '../services/orders/orders.service.js';
import { withBusinessFailures } from './failures.js';

export interface OrderActivityDeps {
  orders: OrdersService;
  checkouts: CheckoutService;
  /** How long a CONFIRMED order waits to be shipped before it is cancelled and refunded. */
  shipWindowMs: number;
  /** How long a SHIPPED order waits for a delivery confirmation before it is taken as delivered. */
  deliveryWindowMs: number;
}

/** Activities of the orders task queue. */
export function createOrderActivities(deps: OrderActivityDeps) {
  return withBusinessFailures({
    /**
     * Creates the checkout's order from its stored snapshot and records it on the checkout.
     * Idempotent: one order per checkout. Undone by cancelOrder.
     */
    async createOrder(input: { checkoutId: string; paymentId: string | null }): Promise<{ orderId: string }> {
      const checkout = await deps.checkouts.find(input.checkoutId);
      if (!checkout) throw new Error(`checkout ${input.checkoutId} is not recorded`);
      const order = await deps.orders.createForCheckout(checkout, input.paymentId);
      await deps.checkouts.attachOrder(input.checkoutId, order.id);
      return { orderId: order.id };
    },

    /** Compensation of createOrder: cancels the checkout's order if it made one. Idempotent. */
    async cancelOrder(input: { checkoutId: string; reason: string }): Promise<void> {
      await deps.orders.cancelForCheckout(input.checkoutId, 'checkout-saga', input.reason);
    },

    /** The order as stored, and the shop's fulfilment windows, for its lifecycle workflow. */
    async loadOrder(
      orderId: string,
    ): Promise<{ order: OrderRecord; shipWindowMs: number; deliveryWindowMs: number }> {
      return {
        order: await deps.orders.get(orderId),
        shipWindowMs: deps.shipWindowMs,
        deliveryWindowMs: deps.deliveryWindowMs,
      };
    },

    /**
     * Moves an order through its lifecycle, recording who and why. Idempotent (an order already
     * there is returned as is); `conflict` or `order_not_cancellable` when the move is not allowed.
     */
    async moveOrder(input: {
      orderId: string;
      to: OrderStatus;
      actor: string;
      reason?: string | undefined;
      trackingNumber?: string | undefined;
    }): Promise<OrderRecord> {
      return deps.orders.transition(input.orderId, input.to, input);
    },

    /** The order as stored now (its payment's refund shows here once done). */
    async readOrder(orderId: string): Promise<OrderRecord> {
      return deps.orders.get(orderId);
    },
  });
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
