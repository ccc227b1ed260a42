import type { CheckoutService } from '../services/checkout/checkout.service.js';
import type { OrdersService } from '../services/orders/orders.service.js';
import { withBusinessFailures } from './failures.js';

export interface OrderActivityDeps {
  orders: OrdersService;
  checkouts: CheckoutService;
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
  });
}

export type OrderActivities = ReturnType<typeof createOrderActivities>;
